package keyring_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"maps"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// TestVectors unwraps the data key of every message of the public test
// vectors, written by other ESDK implementations, with the raw keyrings
// of the test's master keys, and checks the key against the message's
// header authentication tag.
func TestVectors(t *testing.T) {
	set := testvectors.LoadPublic(t)

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
		kr, err := keyring.NewMulti(krs[0], krs[1:]...)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			msg := set.Ciphertext(t, id)
			h, n, err := format.ParseHeader(msg, format.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			// The decryption context is the header's plus the keys
			// supplied again; those not in the header are authenticated
			// only.
			ec := maps.Clone(h.EncryptionContext)
			required := map[string]string{}
			for k, v := range tc.EncryptionContext {
				if _, ok := ec[k]; !ok {
					required[k] = v
				}
				ec[k] = v
			}
			m := &keyring.DecryptionMaterials{Suite: h.Suite, EncryptionContext: ec}
			if err := kr.OnDecrypt(context.Background(), m, h.EncryptedDataKeys); err != nil {
				t.Fatal(err)
			}
			err = checkHeaderAuth(h, msg[:n-h.AuthLength()], required, m.PlaintextDataKey)
			if tc.Result.Output != nil && err != nil {
				t.Fatalf("header authentication with the unwrapped data key: %v", err)
			}
			if tc.Result.Output == nil && err == nil {
				t.Fatal("negative test: header authenticates")
			}
			if tc.MasterKeys[0].EncryptionAlgorithm == "aes" {
				wrong, err := keyring.NewRawAES(tc.MasterKeys[0].ProviderID, set.Keys[tc.MasterKeys[0].Key].KeyID, make([]byte, 32))
				if err != nil {
					t.Fatal(err)
				}
				_, err = decrypt(wrong, h.Suite, ec, h.EncryptedDataKeys)
				if !errors.Is(err, keyring.ErrNoMatchingKey) {
					t.Fatalf("wrong key: got %v, want ErrNoMatchingKey", err)
				}
			}
		})
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

// checkHeaderAuth verifies the header authentication tag with a key
// derived from dataKey, which shows that dataKey is the message's.
func checkHeaderAuth(h *format.Header, body []byte, required map[string]string, dataKey []byte) error {
	s := h.Suite
	suiteID := binary.BigEndian.AppendUint16(nil, uint16(s.ID()))
	key, iv := dataKey, h.AuthIV
	var err error
	switch {
	case s.Committing():
		iv = make([]byte, format.IVLength)
		if key, err = hkdf.Key(sha512.New, dataKey, h.MessageID, string(suiteID)+"DERIVEKEY", s.KeyLength()); err != nil {
			return err
		}
		commit, err := hkdf.Key(sha512.New, dataKey, h.MessageID, "COMMITKEY", format.CommitmentLength)
		if err != nil {
			return err
		}
		if !bytes.Equal(commit, h.SuiteData) {
			return errors.New("commitment key differs")
		}
	case s.KDF() == format.KDFHKDF:
		info := string(suiteID) + string(h.MessageID)
		if key, err = hkdf.Key(func() hash.Hash { return s.KDFHash().New() }, dataKey, nil, info, s.KeyLength()); err != nil {
			return err
		}
	}
	aad, err := format.AppendEncryptionContext(bytes.Clone(body), required)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	_, err = gcm.Open(nil, iv, h.AuthTag, aad)
	return err
}
