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
	if !errors.As(&keyring.MultiError{Errors: []error{&keyring.NoMatchingKeyError{Keyring: "other"}, err}}, &nm) || nm.Keyring != "other" {
		t.Error("errors.As does not find a *NoMatchingKeyError in a *MultiError of no-matches")
	}
}

// TestUnwrapError: a provider's failure names the keyring and every
// cause, finds the provider's error with errors.As, and never matches
// ErrNoMatchingKey, even when a cause does.
func TestUnwrapError(t *testing.T) {
	down := &serviceError{"throttled"}
	refused := errors.New("encrypted data key 0: wrong key")
	tests := []struct {
		err  *keyring.UnwrapError
		want string
	}{
		{&keyring.UnwrapError{}, "esdk/keyring: a keyring: the key provider failed to unwrap a data key"},
		{&keyring.UnwrapError{Keyring: "kms k", Causes: []error{refused, down}}, "esdk/keyring: kms k: the key provider failed to unwrap a data key: encrypted data key 0: wrong key; throttled"},
		{&keyring.UnwrapError{Keyring: "kms k", Causes: []error{down, &keyring.NoMatchingKeyError{Keyring: "inner"}}}, "esdk/keyring: kms k: the key provider failed to unwrap a data key: throttled; no encrypted data key could be unwrapped by inner"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if errors.Is(tc.err, keyring.ErrNoMatchingKey) || errors.Is(fmt.Errorf("w: %w", tc.err), keyring.ErrNoMatchingKey) {
			t.Errorf("%q matches ErrNoMatchingKey", tc.err)
		}
		var se *serviceError
		if len(tc.err.Causes) > 0 && (!errors.As(tc.err, &se) || se != down) {
			t.Errorf("%q: errors.As does not find the provider's error", tc.err)
		}
	}
	if err := tests[1].err; !errors.Is(err, refused) {
		t.Error("a refusal beside the failure is not reachable")
	}
	var ue *keyring.UnwrapError
	if err := error(&keyring.MultiError{Errors: []error{&keyring.NoMatchingKeyError{}, tests[1].err}}); !errors.As(err, &ue) || ue != tests[1].err || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Error("a *MultiError holding an *UnwrapError does not expose it, or matches ErrNoMatchingKey")
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
		} else {
			checkErrText(t, err)
		}
		if err := kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{PlaintextDataKey: randBytes(32)}); err == nil {
			t.Errorf("%T.OnEncrypt with a data key: no error", kr)
		}
		if err := kr.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{}, nil); err == nil {
			t.Errorf("%T.OnDecrypt: no error", kr)
		}
	}
}

// TestMultiErrorMatchesNoMatchingKey: a multi-keyring's error matches
// ErrNoMatchingKey when every keyring in it said "not mine", and never
// when one of them failed for real, however deep; the real failures stay
// reachable with errors.Is and errors.As, the no-matches do not.
func TestMultiErrorMatchesNoMatchingKey(t *testing.T) {
	noMatch := &keyring.NoMatchingKeyError{Keyring: "a"}
	down := &serviceError{"key service unavailable"}
	tests := []struct {
		name    string
		err     error
		noMatch bool // errors.Is(err, ErrNoMatchingKey)
		down    bool // holds down
	}{
		{"no match", noMatch, true, false},
		{"wrapped no match", fmt.Errorf("ctx: %w", noMatch), true, false},
		{"real failure", down, false, true},
		{"multi of no matches", &keyring.MultiError{Errors: []error{noMatch, keyring.ErrNoMatchingKey}}, true, false},
		{"nested multi of no matches", &keyring.MultiError{Errors: []error{noMatch, fmt.Errorf("w: %w", &keyring.MultiError{Errors: []error{noMatch}})}}, true, false},
		{"multi with a real failure", &keyring.MultiError{Errors: []error{noMatch, down}}, false, true},
		{"multi with a real failure first", &keyring.MultiError{Errors: []error{down, noMatch}}, false, true},
		{"multi with a wrapped real failure", fmt.Errorf("w: %w", &keyring.MultiError{Errors: []error{noMatch, fmt.Errorf("x: %w", down)}}), false, true},
		{"nested multi with a real failure", &keyring.MultiError{Errors: []error{noMatch, &keyring.MultiError{Errors: []error{noMatch, down}}}}, false, true},
		{"empty multi", &keyring.MultiError{}, false, false},
		{"data key already set", keyring.ErrDataKeyAlreadySet, false, false},
	}
	for _, tc := range tests {
		if got := errors.Is(tc.err, keyring.ErrNoMatchingKey); got != tc.noMatch {
			t.Errorf("%s: errors.Is(err, ErrNoMatchingKey) = %v, want %v", tc.name, got, tc.noMatch)
		}
		var se *serviceError
		if tc.down && (!errors.Is(tc.err, down) || !errors.As(tc.err, &se) || se != down) {
			t.Errorf("%s: the real failure is not reachable", tc.name)
		}
		var nm *keyring.NoMatchingKeyError
		if !tc.noMatch && errors.As(tc.err, &nm) {
			t.Errorf("%s: errors.As finds the no-match %v beside a real failure", tc.name, nm)
		}
	}
	// The text still says why every keyring failed, the no-matches too.
	err := &keyring.MultiError{Errors: []error{noMatch, down}}
	want := "esdk/keyring: no keyring of the multi-keyring could unwrap a data key: [0] no encrypted data key could be unwrapped by a; [1] key service unavailable"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// serviceError is a provider's typed error, for errors.As.
type serviceError struct{ msg string }

func (e *serviceError) Error() string { return e.msg }
