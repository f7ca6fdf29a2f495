//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

const vectorsDir = "../../testdata/vectors/esdk-public"

type vectorMasterKey struct {
	Key                 string `json:"key"`
	ProviderID          string `json:"provider-id"`
	EncryptionAlgorithm string `json:"encryption-algorithm"`
	PaddingAlgorithm    string `json:"padding-algorithm"`
	PaddingHash         string `json:"padding-hash"`
}

// TestVectorsThroughToken decrypts the public test vectors, written by
// the Python, .NET and Dafny-based ESDKs with raw AES and raw RSA
// keyrings, with keyrings whose keys were imported into the token:
// positive vectors give their plaintext, negative ones fail. Vectors
// whose RSA padding the token cannot do are counted, not run.
func TestVectorsThroughToken(t *testing.T) {
	var keys struct {
		Keys map[string]struct {
			Algorithm string `json:"algorithm"`
			Material  string `json:"material"`
			KeyID     string `json:"key-id"`
		} `json:"keys"`
	}
	var manifest struct {
		Tests map[string]struct {
			Ciphertext        string            `json:"ciphertext"`
			MasterKeys        []vectorMasterKey `json:"master-keys"`
			EncryptionContext map[string]string `json:"encryption-context"`
			Result            struct {
				Output *struct {
					Plaintext string `json:"plaintext"`
				} `json:"output"`
			} `json:"result"`
		} `json:"tests"`
	}
	for name, v := range map[string]any{"keys.json": &keys, "manifest.json": &manifest} {
		b, err := os.ReadFile(filepath.Join(vectorsDir, name))
		if err != nil {
			t.Fatalf("test vectors (part of the repository): %v", err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}

	cfg := newToken(t, "vectors")
	// Every key of the vectors goes into the token under its name.
	for name, k := range keys.Keys {
		kc := cfg
		kc.KeyLabel = name
		switch k.Algorithm {
		case "aes":
			material, err := base64.StdEncoding.DecodeString(k.Material)
			if err != nil {
				t.Fatal(err)
			}
			importAESKey(t, kc, material)
		case "rsa":
			block, _ := pem.Decode([]byte(k.Material))
			if block == nil {
				t.Fatalf("key %s: no PEM", name)
			}
			var key any
			var err error
			if block.Type == "RSA PRIVATE KEY" {
				key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			} else {
				key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
			}
			if err != nil {
				t.Fatalf("key %s: %v", name, err)
			}
			importRSAKey(t, kc, key.(*rsa.PrivateKey), false)
		}
	}

	paddings := map[string]keyring.RSAPadding{
		"pkcs1": keyring.PKCS1, "sha1": keyring.OAEPSHA1, "sha256": keyring.OAEPSHA256,
		"sha384": keyring.OAEPSHA384, "sha512": keyring.OAEPSHA512,
	}
	keyrings := map[vectorMasterKey]keyring.Keyring{}
	unsupported := map[vectorMasterKey]error{}
	keyringFor := func(mk vectorMasterKey) (keyring.Keyring, error) {
		if kr, ok := keyrings[mk]; ok {
			return kr, nil
		}
		if err, ok := unsupported[mk]; ok {
			return nil, err
		}
		kc := cfg
		kc.KeyLabel = mk.Key
		name := keys.Keys[mk.Key].KeyID
		var (
			kr interface {
				keyring.Keyring
				Close() error
			}
			err error
		)
		switch mk.EncryptionAlgorithm {
		case "aes":
			kr, err = NewAESKeyring(AESKeyringOptions{Namespace: mk.ProviderID, Name: name, Config: kc})
		case "rsa":
			p := mk.PaddingHash
			if mk.PaddingAlgorithm == "pkcs1" {
				p = "pkcs1"
			}
			kr, err = NewRSAKeyring(RSAKeyringOptions{Namespace: mk.ProviderID, Name: name, Padding: paddings[p], Config: kc})
		default:
			t.Fatalf("master key %+v: unknown algorithm", mk)
		}
		if errors.Is(err, ErrMechanismNotSupported) {
			unsupported[mk] = err
			return nil, err
		}
		if err != nil {
			t.Fatalf("master key %+v: %v", mk, err)
		}
		closeAtEnd(t, kr)
		keyrings[mk] = kr
		return kr, nil
	}

	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	if err != nil {
		t.Fatal(err)
	}
	ran, positive, notRun := 0, 0, 0
	for _, id := range slices.Sorted(maps.Keys(manifest.Tests)) {
		tc := manifest.Tests[id]
		var krs []keyring.Keyring
		for _, mk := range tc.MasterKeys {
			kr, err := keyringFor(mk)
			if err != nil {
				break
			}
			krs = append(krs, kr)
		}
		if len(krs) != len(tc.MasterKeys) {
			notRun++
			continue
		}
		kr, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := os.ReadFile(filepath.Join(vectorsDir, strings.TrimPrefix(tc.Ciphertext, "file://")))
		if err != nil {
			t.Fatal(err)
		}
		ran++
		pt, _, err := client.DecryptBytes(context.Background(), msg, mustManager(t, kr), tc.EncryptionContext)
		if tc.Result.Output == nil {
			if err == nil {
				t.Errorf("%s: negative vector decrypted", id)
			}
			continue
		}
		positive++
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(vectorsDir, strings.TrimPrefix(tc.Result.Output.Plaintext, "file://")))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pt, want) {
			t.Errorf("%s: plaintext differs", id)
		}
	}
	for mk, err := range unsupported {
		t.Logf("not run: %s %s/%s: %v", mk.Key, mk.PaddingAlgorithm, mk.PaddingHash, err)
	}
	t.Logf("%d vectors decrypted through the token (%d positive), %d not run", ran, positive, notRun)
	if ran < 500 {
		t.Errorf("only %d of %d vectors ran", ran, len(manifest.Tests))
	}
}
