package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// TestVectors unwraps the data key of every message of the public test
// vectors, written by other ESDK implementations, with the raw keyrings
// of the test's master keys, and decrypts the message with that key:
// positive tests give their plaintext, negative ones fail.
func TestVectors(t *testing.T) {
	set := testvectors.LoadPublic(t)
	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	if err != nil {
		t.Fatal(err)
	}

	// Keyrings are built once and shared by the parallel subtests.
	keyrings := make(map[testvectors.MasterKey]keyring.Keyring)
	for _, id := range set.IDs() {
		tc := set.Tests[id]
		var krs []keyring.Keyring
		for _, mk := range tc.MasterKeys {
			kr, ok := keyrings[mk]
			if !ok {
				var err error
				if kr, err = vectorKeyring(mk, set.Keys[mk.Key]); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				keyrings[mk] = kr
			}
			krs = append(krs, kr)
		}
		kr, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			msg := set.Ciphertext(t, id)
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
					checkWrongAESKey(t, tc.MasterKeys[0].ProviderID, set.Keys[tc.MasterKeys[0].Key].KeyID, orig, edks)
				}
				return unwrapErr
			}}
			pt, _, err := client.DecryptBytes(context.Background(), msg, mustManager(t, probe), tc.EncryptionContext)
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
			want, err := set.ReadFile(tc.Result.Output.Plaintext)
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
	wrong, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: namespace, Name: name, WrappingKey: make([]byte, 32)})
	if err != nil {
		t.Error(err)
		return
	}
	if err := wrong.OnDecrypt(context.Background(), m, edks); !errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("wrong key: got %v, want ErrNoMatchingKey", err)
	}
}

func vectorKeyring(mk testvectors.MasterKey, k testvectors.Key) (keyring.Keyring, error) {
	if !k.Decrypt || k.Algorithm != mk.EncryptionAlgorithm {
		return nil, fmt.Errorf("key %q cannot decrypt as %s", mk.Key, mk.EncryptionAlgorithm)
	}
	switch mk.EncryptionAlgorithm {
	case "aes":
		key, err := base64.StdEncoding.DecodeString(k.Material)
		if err != nil {
			return nil, err
		}
		return keyring.NewRawAES(keyring.RawAESOptions{Namespace: mk.ProviderID, Name: k.KeyID, WrappingKey: key})
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
		return rawRSAFromPEM(mk.ProviderID, k.KeyID, p, []byte(k.Material))
	}
	return nil, fmt.Errorf("unknown algorithm %q", mk.EncryptionAlgorithm)
}
