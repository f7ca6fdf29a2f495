package keyring_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func TestNoMatchingKeyError(t *testing.T) {
	errA, errB := errors.New("cause a"), errors.New("cause b")
	tests := []struct {
		err  *keyring.NoMatchingKeyError
		want string
	}{
		{&keyring.NoMatchingKeyError{}, keyring.ErrNoMatchingKey.Error()},
		{&keyring.NoMatchingKeyError{Keyring: `raw AES "ns"/"k"`}, `esdk/keyring: no encrypted data key could be unwrapped by raw AES "ns"/"k"`},
		{&keyring.NoMatchingKeyError{Keyring: "kr", Causes: []error{errA, errB}}, "esdk/keyring: no encrypted data key could be unwrapped by kr: cause a; cause b"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, keyring.ErrNoMatchingKey) {
			t.Errorf("%q does not match ErrNoMatchingKey", tc.err)
		}
		if errors.Is(tc.err, keyring.ErrEncryptOnly) {
			t.Errorf("%q matches ErrEncryptOnly", tc.err)
		}
	}
	err := tests[2].err
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Error("the causes are not reachable")
	}
	var nm *keyring.NoMatchingKeyError
	if !errors.As(&keyring.MultiError{Errors: []error{errA, err}}, &nm) || nm != err {
		t.Error("errors.As does not find a *NoMatchingKeyError in a *MultiError")
	}
}

func TestEncryptionMaterialsClone(t *testing.T) {
	signer, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := &keyring.EncryptionMaterials{
		Suite:                         suite256,
		EncryptionContext:             map[string]string{"a": "1"},
		RequiredEncryptionContextKeys: []string{"a"},
		PlaintextDataKey:              randBytes(32),
		EncryptedDataKeys:             []format.EncryptedDataKey{{ProviderID: "p", ProviderInfo: []byte("info"), Ciphertext: []byte("ct")}},
		SigningKey:                    signer,
	}
	c := m.Clone()
	if !reflect.DeepEqual(c, m) {
		t.Fatalf("clone %+v differs from %+v", c, m)
	}
	c.EncryptionContext["a"] = "2"
	c.RequiredEncryptionContextKeys[0] = "b"
	c.PlaintextDataKey[0] ^= 1
	c.EncryptedDataKeys[0].ProviderInfo[0] ^= 1
	c.EncryptedDataKeys[0].Ciphertext[0] ^= 1
	c.EncryptedDataKeys = append(c.EncryptedDataKeys, format.EncryptedDataKey{})
	if reflect.DeepEqual(c, m) || m.EncryptionContext["a"] != "1" || m.RequiredEncryptionContextKeys[0] != "a" ||
		string(m.EncryptedDataKeys[0].ProviderInfo) != "info" || string(m.EncryptedDataKeys[0].Ciphertext) != "ct" || len(m.EncryptedDataKeys) != 1 {
		t.Fatal("changing the clone changed the original")
	}
	if c.PlaintextDataKey[0] == m.PlaintextDataKey[0] {
		t.Fatal("the clone shares the data key")
	}
	var nilMaterials *keyring.EncryptionMaterials
	if nilMaterials.Clone() != nil {
		t.Error("nil.Clone() is not nil")
	}
	// Nil fields stay nil.
	if c := (&keyring.EncryptionMaterials{Suite: suite256}).Clone(); c.EncryptionContext != nil || c.PlaintextDataKey != nil || c.EncryptedDataKeys != nil {
		t.Errorf("empty materials cloned to %+v", c)
	}
}

func TestDecryptionMaterialsClone(t *testing.T) {
	verifier, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m := &keyring.DecryptionMaterials{
		Suite:                         suite256,
		EncryptionContext:             map[string]string{"a": "1"},
		RequiredEncryptionContextKeys: []string{"a"},
		PlaintextDataKey:              randBytes(32),
		VerificationKey:               &verifier.PublicKey,
	}
	c := m.Clone()
	if !reflect.DeepEqual(c, m) {
		t.Fatalf("clone %+v differs from %+v", c, m)
	}
	c.EncryptionContext["a"] = "2"
	c.RequiredEncryptionContextKeys[0] = "b"
	c.PlaintextDataKey[0] ^= 1
	if m.EncryptionContext["a"] != "1" || m.RequiredEncryptionContextKeys[0] != "a" || c.PlaintextDataKey[0] == m.PlaintextDataKey[0] {
		t.Fatal("changing the clone changed the original")
	}
	var nilMaterials *keyring.DecryptionMaterials
	if nilMaterials.Clone() != nil {
		t.Error("nil.Clone() is not nil")
	}
}

// TestMaterialsWithoutSuite checks that materials without a suite give an
// error, not a panic.
func TestMaterialsWithoutSuite(t *testing.T) {
	rsaKr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "rsa", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey, PrivateKey: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	aesKr := newAES(t, "aes")
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: aesKr, Children: []keyring.Keyring{rsaKr}})
	if err != nil {
		t.Fatal(err)
	}
	for _, kr := range []keyring.Keyring{aesKr, rsaKr, multi} {
		if err := kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{}); err == nil {
			t.Errorf("%T.OnEncrypt: no error", kr)
		}
		if err := kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{PlaintextDataKey: randBytes(32)}); err == nil {
			t.Errorf("%T.OnEncrypt with a data key: no error", kr)
		}
		if err := kr.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{}, nil); err == nil {
			t.Errorf("%T.OnDecrypt: no error", kr)
		}
	}
}

func TestIsNoMatch(t *testing.T) {
	noMatch := &keyring.NoMatchingKeyError{Keyring: "a"}
	down := errors.New("key service unavailable")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no match", noMatch, true},
		{"wrapped no match", fmt.Errorf("ctx: %w", noMatch), true},
		{"real failure", down, false},
		{"multi of no matches", &keyring.MultiError{Errors: []error{noMatch, keyring.ErrNoMatchingKey}}, true},
		{"multi with a real failure", &keyring.MultiError{Errors: []error{noMatch, down}}, false},
		{"nested multi with a real failure", &keyring.MultiError{Errors: []error{noMatch, &keyring.MultiError{Errors: []error{down}}}}, false},
		{"empty multi", &keyring.MultiError{}, false},
		{"data key already set", keyring.ErrDataKeyAlreadySet, false},
	}
	for _, tc := range tests {
		if got := keyring.IsNoMatch(tc.err); got != tc.want {
			t.Errorf("%s: IsNoMatch = %v, want %v", tc.name, got, tc.want)
		}
	}
}
