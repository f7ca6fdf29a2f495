package keystore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
)

// BranchKeyStore is what a [HierarchicalKeyring] asks of a branch key
// store. [*Store] implements it over DynamoDB and AWS KMS; [StaticStore]
// holds one branch key in memory, for tests and test vectors; a test can
// stand in its own. Implementations must be safe for concurrent use, and
// return materials that the caller owns (the keyring zeroes their
// BranchKey when it is done with it).
type BranchKeyStore interface {
	// GetActiveBranchKey returns the active version of a branch key.
	GetActiveBranchKey(ctx context.Context, branchKeyID string) (*BranchKeyMaterials, error)
	// GetBranchKeyVersion returns one version of a branch key.
	GetBranchKeyVersion(ctx context.Context, branchKeyID, version string) (*BranchKeyMaterials, error)
	// LogicalKeyStoreName names the store in the keyring's cache ids.
	LogicalKeyStoreName() string
}

// StaticStoreOptions configure a [StaticStore].
type StaticStoreOptions struct {
	// BranchKeyID, BranchKeyVersion (a UUID in canonical form) and
	// BranchKey (32 bytes) are the one branch key. Required.
	BranchKeyID      string
	BranchKeyVersion string
	BranchKey        []byte
	// EncryptionContext is the branch key's custom encryption context.
	EncryptionContext map[string]string
	// LogicalKeyStoreName names the store in cache ids; empty means
	// "static".
	LogicalKeyStoreName string
}

// StaticStore is a [BranchKeyStore] of one branch key version held in
// memory, as the test vectors of the other SDKs describe it ("static
// branch key"). It is for tests: a real deployment keeps its branch keys
// in a [Store], where KMS protects them.
type StaticStore struct {
	o StaticStoreOptions
}

var _ BranchKeyStore = (*StaticStore)(nil)

// NewStaticStore returns a store of the one branch key that o describes.
// It copies o (and its key) and applies optFns to the copy in order.
func NewStaticStore(o StaticStoreOptions, optFns ...func(*StaticStoreOptions)) (*StaticStore, error) {
	for _, f := range optFns {
		f(&o)
	}
	switch {
	case o.BranchKeyID == "":
		return nil, errors.New("esdk/keystore: StaticStoreOptions.BranchKeyID is required")
	case len(o.BranchKey) != branchKeyLength:
		return nil, fmt.Errorf("esdk/keystore: StaticStoreOptions.BranchKey is %d bytes, want %d", len(o.BranchKey), branchKeyLength)
	}
	if _, err := parseUUID(o.BranchKeyVersion); err != nil {
		return nil, fmt.Errorf("esdk/keystore: StaticStoreOptions.BranchKeyVersion %q is %v", o.BranchKeyVersion, err)
	}
	if o.LogicalKeyStoreName == "" {
		o.LogicalKeyStoreName = "static"
	}
	o.BranchKey = bytes.Clone(o.BranchKey)
	o.EncryptionContext = maps.Clone(o.EncryptionContext)
	return &StaticStore{o: o}, nil
}

// LogicalKeyStoreName returns the store's name.
func (s *StaticStore) LogicalKeyStoreName() string { return s.o.LogicalKeyStoreName }

// GetActiveBranchKey returns a copy of the branch key, or an error
// matching [ErrBranchKeyNotFound] for another id.
func (s *StaticStore) GetActiveBranchKey(_ context.Context, branchKeyID string) (*BranchKeyMaterials, error) {
	return s.get("GetActiveBranchKey", branchKeyID, s.o.BranchKeyVersion)
}

// GetBranchKeyVersion returns a copy of the branch key, or an error
// matching [ErrBranchKeyNotFound] for another id or version.
func (s *StaticStore) GetBranchKeyVersion(_ context.Context, branchKeyID, version string) (*BranchKeyMaterials, error) {
	return s.get("GetBranchKeyVersion", branchKeyID, version)
}

func (s *StaticStore) get(op, id, version string) (*BranchKeyMaterials, error) {
	if id != s.o.BranchKeyID || version != s.o.BranchKeyVersion {
		return nil, &Error{Op: op, BranchKeyID: id, Version: version, Kind: ErrBranchKeyNotFound, Detail: fmt.Sprintf("the static store holds version %s of branch key %s only", s.o.BranchKeyVersion, s.o.BranchKeyID)}
	}
	return &BranchKeyMaterials{
		BranchKeyID:       id,
		BranchKeyVersion:  version,
		BranchKey:         bytes.Clone(s.o.BranchKey),
		EncryptionContext: maps.Clone(s.o.EncryptionContext),
	}, nil
}
