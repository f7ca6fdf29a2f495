package envelope_test

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

// vectorHierarchyKeyring builds the hierarchical keyring a version 5 test
// describes, over the static branch key it names standing in for the
// branch key store.
func vectorHierarchyKeyring(set *testvectors.Set, d testvectors.KeyDescription) (keyring.Keyring, error) {
	k, ok := set.Keys[d.Key]
	if !ok {
		return nil, fmt.Errorf("manifest: key %q is not in the keys manifest", d.Key)
	}
	if k.Type != "static-branch-key" {
		return nil, fmt.Errorf("manifest: key %q is of type %q, not static-branch-key", d.Key, k.Type)
	}
	branchKey, err := base64.StdEncoding.DecodeString(k.BranchKey)
	if err != nil {
		return nil, fmt.Errorf("manifest: key %q: branchKey: %w", d.Key, err)
	}
	store, err := keystore.NewStaticStore(keystore.StaticStoreOptions{
		BranchKeyID:      k.KeyID,
		BranchKeyVersion: k.BranchKeyVersion,
		BranchKey:        branchKey,
	})
	if err != nil {
		return nil, err
	}
	return keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{
		KeyStore:    store,
		BranchKeyID: k.KeyID,
		TTL:         time.Minute,
	})
}
