package conventions

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

// errPrefix matches the error prefix of any package of this module.
var errPrefix = regexp.MustCompile(`\besdk(/[a-z0-9]+)?: `)

// TestWrappedErrorsSayPrefixOnce builds errors in which a package's
// error holds another of the same package, through the public API, and
// checks that no prefix appears twice in the text: a package that wraps
// its own error leaves the inner prefix out.
func TestWrappedErrorsSayPrefixOnce(t *testing.T) {
	ctx := context.Background()
	suite := format.MustSuite(0x0578)
	const version = "0e3b3b4a-5f0a-4b8e-9c1d-2a3b4c5d6e7f"
	aes := func(name string) keyring.Keyring {
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: name, WrappingKey: bytes.Repeat([]byte{name[0]}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	multi := func(gen keyring.Keyring, children ...keyring.Keyring) keyring.Keyring {
		kr, err := keyring.NewMulti(keyring.MultiOptions{Generator: gen, Children: children})
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	hierarchical := func(id string) keyring.Keyring {
		s, err := keystore.NewStaticStore(keystore.StaticStoreOptions{BranchKeyID: "bk", BranchKeyVersion: version, BranchKey: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: id, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return kr
	}
	encrypt := func(kr keyring.Keyring, m *keyring.EncryptionMaterials) error { return kr.OnEncrypt(ctx, m) }
	decrypt := func(kr keyring.Keyring, edks []format.EncryptedDataKey) error {
		return kr.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, edks)
	}
	edks := func(kr keyring.Keyring) []format.EncryptedDataKey {
		m := &keyring.EncryptionMaterials{Suite: suite}
		if err := kr.OnEncrypt(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m.EncryptedDataKeys
	}
	// A hierarchical keyring's key whose version the store does not hold.
	unknownVersion := edks(hierarchical("bk"))
	unknownVersion[0].Ciphertext[len(unknownVersion[0].Ciphertext)-60] ^= 1

	// A signed message whose public key is not base64: the engine's
	// error under envelope.ErrAuthentication.
	mm, err := envelope.NewDefaultManager(aes("a"))
	if err != nil {
		t.Fatal(err)
	}
	_, badPublicKey := mm.DecryptMaterials(ctx, envelope.DecryptionMaterialsRequest{
		Suite:             suite,
		EncryptionContext: map[string]string{format.PublicKeyContextKey: "not base64!"},
	})
	_, kmsErr := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: struct{ kmsprovider.Client }{}, KeyID: "arn:aws:kms:x"})
	_, storeErr := keystore.NewStore(keystore.StoreOptions{TableName: "t", LogicalKeyStoreName: "l", KMS: keystore.KMSConfiguration{KeyARN: "arn:aws:kms:us-west-2:1:alias/a"}, DynamoDB: struct{ keystore.DynamoDBAPI }{}, KMSClient: struct{ keystore.KMSAPI }{}})
	for name, err := range map[string]error{
		"multi-keyring generator in a multi-keyring": encrypt(multi(multi(aes("a"))), &keyring.EncryptionMaterials{}),
		"multi-keyring child in a multi-keyring":     encrypt(multi(aes("a"), multi(nil, hierarchical("nobody"))), &keyring.EncryptionMaterials{Suite: suite}),
		"multi-keyring of no-matches":                decrypt(multi(aes("a"), aes("b")), edks(aes("c"))),
		"multi-keyring of multi-keyrings":            decrypt(multi(multi(aes("a")), multi(aes("b"))), edks(aes("c"))),
		"store failure in a multi-keyring":           decrypt(multi(nil, hierarchical("bk")), unknownVersion),
		"hierarchical keyring over its store":        encrypt(hierarchical("nobody"), &keyring.EncryptionMaterials{Suite: suite}),
		"hierarchical keyring, no such version":      decrypt(hierarchical("bk"), unknownVersion),
		"store options":                              storeErr,
		"materials manager, bad public key":          badPublicKey,
		"kmsprovider options":                        kmsErr,
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		seen := map[string]bool{}
		for _, p := range errPrefix.FindAllString(err.Error(), -1) {
			if seen[p] {
				t.Errorf("%s: %q says %q more than once", name, err, p)
				break
			}
			seen[p] = true
		}
	}
}
