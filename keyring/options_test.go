package keyring_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// TestOptionErrorsNameTheField checks that a missing or bad field is an
// error that names it, as the package's conventions say.
func TestOptionErrorsNameTheField(t *testing.T) {
	key := rsaKey()
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"AES namespace", second(keyring.NewRawAES(keyring.RawAESOptions{Name: "n", WrappingKey: randBytes(32)})), "RawAESOptions.Namespace"},
		{"AES name", second(keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", WrappingKey: randBytes(32)})), "RawAESOptions.Name"},
		{"AES reserved namespace", second(keyring.NewRawAES(keyring.RawAESOptions{Namespace: "aws-kms", Name: "n", WrappingKey: randBytes(32)})), "RawAESOptions.Namespace"},
		{"AES no key", second(keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "n"})), "WrappingKey"},
		{"AES key length", second(keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "n", WrappingKey: randBytes(20)})), "RawAESOptions.WrappingKey"},
		{"AES both keys", second(keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "n", WrappingKey: randBytes(32), KeyHandle: newHandle(t, randBytes(32))})), "KeyHandle"},
		{"RSA namespace", second(keyring.NewRawRSA(keyring.RawRSAOptions{Name: "n", Padding: keyring.OAEPSHA256, PrivateKey: key})), "RawRSAOptions.Namespace"},
		{"RSA padding", second(keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "n", PrivateKey: key})), "RawRSAOptions.Padding"},
		{"RSA no keys", second(keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "n", Padding: keyring.OAEPSHA256})), "PrivateKey"},
		{"RSA public key", second(keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "n", Padding: keyring.OAEPSHA256, PublicKey: &rsa.PublicKey{}})), "RawRSAOptions.PublicKey"},
		{"multi empty", second(keyring.NewMulti(keyring.MultiOptions{})), "Generator"},
		{"multi nil child", second(keyring.NewMulti(keyring.MultiOptions{Children: []keyring.Keyring{nil}})), "MultiOptions.Children[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(tc.err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", tc.err, tc.field)
			}
			checkErrText(t, tc.err)
		})
	}
}

func second[T any](_ T, err error) error { return err }

// TestOptionFunctions checks that the functions after the options adjust
// a copy of them, in order.
func TestOptionFunctions(t *testing.T) {
	key := randBytes(32)
	o := keyring.RawAESOptions{Namespace: "ns", Name: "first", WrappingKey: key}
	kr, err := keyring.NewRawAES(o,
		func(o *keyring.RawAESOptions) { o.Name = "second" },
		func(o *keyring.RawAESOptions) { o.Name += "-third" },
	)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "first" {
		t.Errorf("the caller's options changed: Name %q", o.Name)
	}
	em := encrypt(t, kr, suite256, nil)
	if info := string(em.EncryptedDataKeys[0].ProviderInfo); !strings.HasPrefix(info, "second-third") {
		t.Errorf("provider info %q, want the name the functions set", info)
	}

	priv := rsaKey()
	rsaKr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "rsa", PrivateKey: priv},
		func(o *keyring.RawRSAOptions) { o.Padding = keyring.OAEPSHA1 },
		func(o *keyring.RawRSAOptions) { o.PublicKey = &priv.PublicKey },
	)
	if err != nil {
		t.Fatal(err)
	}
	encrypt(t, rsaKr, suite256, nil)

	multi, err := keyring.NewMulti(keyring.MultiOptions{}, func(o *keyring.MultiOptions) { o.Generator = kr })
	if err != nil {
		t.Fatal(err)
	}
	encrypt(t, multi, suite256, nil)
}

// TestMultiKeepsItsChildren checks that the multi-keyring copies
// Children: changing the caller's slice afterwards changes nothing.
func TestMultiKeepsItsChildren(t *testing.T) {
	a, b := newAES(t, "a"), newAES(t, "b")
	children := []keyring.Keyring{a}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Children: children})
	if err != nil {
		t.Fatal(err)
	}
	children[0] = b
	em := encrypt(t, a, suite256, nil)
	m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: em.PlaintextDataKey}
	if err := multi.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, err := decrypt(a, suite256, nil, m.EncryptedDataKeys); err != nil {
		t.Fatalf("the multi-keyring did not wrap with the child it was given: %v", err)
	}
}

// TestParseRSAKeysPEMNeverDerives checks that a private key alone gives
// no public key, so the keyring built from it cannot encrypt.
func TestParseRSAKeysPEMNeverDerives(t *testing.T) {
	key := rsaKey()
	data := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pub, priv, err := keyring.ParseRSAKeysPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if pub != nil || priv == nil || !priv.Equal(key) {
		t.Fatalf("got public key %v, private key %v; want no public key and the private key", pub != nil, priv != nil)
	}
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "n", Padding: keyring.OAEPSHA256, PublicKey: pub, PrivateKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	err = kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)})
	if !errors.Is(err, keyring.ErrDecryptOnly) {
		t.Fatalf("OnEncrypt: got %v, want ErrDecryptOnly", err)
	}
}
