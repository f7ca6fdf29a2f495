package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

const vectorsDir = "../testdata/vectors/esdk-public"

type vectorKey struct {
	Algorithm string `json:"algorithm"`
	Encoding  string `json:"encoding"`
	Material  string `json:"material"`
	Decrypt   bool   `json:"decrypt"`
	KeyID     string `json:"key-id"`
}

type vectorMasterKey struct {
	Key                 string `json:"key"`
	ProviderID          string `json:"provider-id"`
	EncryptionAlgorithm string `json:"encryption-algorithm"`
	PaddingAlgorithm    string `json:"padding-algorithm"`
	PaddingHash         string `json:"padding-hash"`
}

type vectorTest struct {
	Ciphertext        string            `json:"ciphertext"`
	MasterKeys        []vectorMasterKey `json:"master-keys"`
	EncryptionContext map[string]string `json:"encryption-context"`
	Result            struct {
		Output *struct {
			Plaintext string `json:"plaintext"`
		} `json:"output"`
	} `json:"result"`
}

// TestVectors unwraps the data key of every message of the public test
// vectors, written by other ESDK implementations, with the raw keyrings
// of the test's master keys, and decrypts the message with that key:
// positive tests give their plaintext, negative ones fail.
func TestVectors(t *testing.T) {
	if _, err := os.Stat(vectorsDir); err != nil {
		t.Fatalf("test vectors not found in %s (they are part of the repository): %v", vectorsDir, err)
	}
	var keys struct {
		Keys map[string]vectorKey `json:"keys"`
	}
	var manifest struct {
		Tests map[string]vectorTest `json:"tests"`
	}
	readJSON(t, "keys.json", &keys)
	readJSON(t, "manifest.json", &manifest)
	if len(manifest.Tests) == 0 {
		t.Fatal("manifest has no tests")
	}
	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	if err != nil {
		t.Fatal(err)
	}

	// Keyrings are built once and shared by the parallel subtests.
	keyrings := make(map[vectorMasterKey]keyring.Keyring)
	for _, id := range slices.Sorted(maps.Keys(manifest.Tests)) {
		tc := manifest.Tests[id]
		var krs []keyring.Keyring
		for _, mk := range tc.MasterKeys {
			kr, ok := keyrings[mk]
			if !ok {
				var err error
				if kr, err = vectorKeyring(mk, keys.Keys[mk.Key]); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				keyrings[mk] = kr
			}
			krs = append(krs, kr)
		}
		kr, err := keyring.NewMulti(krs[0], krs[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			msg, err := os.ReadFile(filepath.Join(vectorsDir, strings.TrimPrefix(tc.Ciphertext, "file://")))
			if err != nil {
				t.Fatal(err)
			}
			// The envelope hands the keyring the message's encrypted data
			// keys and its decryption materials: the header's context plus
			// the keys supplied again.
			var unwrapErr error
			called := false
			probe := funcKeyring{dec: func(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
				called = true
				orig := m.Clone()
				unwrapErr = kr.OnDecrypt(ctx, m, edks)
				if unwrapErr == nil && tc.MasterKeys[0].EncryptionAlgorithm == "aes" {
					checkWrongAESKey(t, tc.MasterKeys[0].ProviderID, keys.Keys[tc.MasterKeys[0].Key].KeyID, orig, edks)
				}
				return unwrapErr
			}}
			pt, _, err := client.DecryptBytes(context.Background(), msg, envelope.NewDefaultManager(probe), tc.EncryptionContext)
			if tc.Result.Output == nil {
				if err == nil {
					t.Fatal("negative test: the message decrypts")
				}
				return
			}
			if !called || unwrapErr != nil {
				t.Fatalf("unwrapping the data key (called: %v): %v", called, unwrapErr)
			}
			if err != nil {
				t.Fatalf("decrypting with the unwrapped data key: %v", err)
			}
			want, err := os.ReadFile(filepath.Join(vectorsDir, strings.TrimPrefix(tc.Result.Output.Plaintext, "file://")))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pt, want) {
				t.Fatal("plaintext differs")
			}
		})
	}
}

// checkWrongAESKey checks that a raw AES keyring of the same names and
// another key finds none of the encrypted data keys its own.
func checkWrongAESKey(t *testing.T, namespace, name string, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) {
	t.Helper()
	wrong, err := keyring.NewRawAES(namespace, name, make([]byte, 32))
	if err != nil {
		t.Error(err)
		return
	}
	if err := wrong.OnDecrypt(context.Background(), m, edks); !errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("wrong key: got %v, want ErrNoMatchingKey", err)
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func vectorKeyring(mk vectorMasterKey, k vectorKey) (keyring.Keyring, error) {
	if !k.Decrypt || k.Algorithm != mk.EncryptionAlgorithm {
		return nil, fmt.Errorf("key %q cannot decrypt as %s", mk.Key, mk.EncryptionAlgorithm)
	}
	switch mk.EncryptionAlgorithm {
	case "aes":
		key, err := base64.StdEncoding.DecodeString(k.Material)
		if err != nil {
			return nil, err
		}
		return keyring.NewRawAES(mk.ProviderID, k.KeyID, key)
	case "rsa":
		padding := map[string]keyring.RSAPadding{
			"pkcs1":  keyring.PKCS1,
			"sha1":   keyring.OAEPSHA1,
			"sha256": keyring.OAEPSHA256,
			"sha384": keyring.OAEPSHA384,
			"sha512": keyring.OAEPSHA512,
		}
		name := mk.PaddingHash
		if mk.PaddingAlgorithm == "pkcs1" {
			name = "pkcs1"
		}
		p, ok := padding[name]
		if !ok {
			return nil, fmt.Errorf("unknown RSA padding %q %q", mk.PaddingAlgorithm, mk.PaddingHash)
		}
		return keyring.NewRawRSAFromPEM(mk.ProviderID, k.KeyID, p, []byte(k.Material))
	}
	return nil, fmt.Errorf("unknown algorithm %q", mk.EncryptionAlgorithm)
}
