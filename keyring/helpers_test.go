package keyring_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"github.com/go-esdk/esdk/envelope"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var (
	suite128 = format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256)
	suite256 = format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// encrypt runs kr.OnEncrypt on fresh materials and returns them.
func encrypt(t *testing.T, kr keyring.Keyring, s *format.Suite, ec map[string]string) *keyring.EncryptionMaterials {
	t.Helper()
	m := &keyring.EncryptionMaterials{Suite: s, EncryptionContext: ec}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatalf("OnEncrypt: %v", err)
	}
	if len(m.PlaintextDataKey) != s.KeyLength() {
		t.Fatalf("OnEncrypt: data key is %d bytes, want %d", len(m.PlaintextDataKey), s.KeyLength())
	}
	return m
}

// decrypt runs kr.OnDecrypt on fresh materials and returns the data key.
// On error it checks that the materials were left without a data key.
func decrypt(kr keyring.Keyring, s *format.Suite, ec map[string]string, edks []format.EncryptedDataKey) ([]byte, error) {
	m := &keyring.DecryptionMaterials{Suite: s, EncryptionContext: ec}
	err := kr.OnDecrypt(context.Background(), m, edks)
	if err != nil && m.PlaintextDataKey != nil {
		return nil, errors.New("OnDecrypt set a data key and returned an error")
	}
	return m.PlaintextDataKey, err
}

// checkErrText checks the package prefix, said once, and that none of
// the secrets appears in the message, raw or in hex.
func checkErrText(t *testing.T, err error, secrets ...[]byte) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, "esdk/keyring: ") {
		t.Errorf("error %q lacks the package prefix", msg)
	}
	if strings.Count(msg, "esdk/keyring: ") > 1 {
		t.Errorf("error %q repeats the package prefix", msg)
	}
	for _, s := range secrets {
		if len(s) == 0 {
			continue
		}
		if strings.Contains(msg, string(s)) || strings.Contains(strings.ToLower(msg), hex.EncodeToString(s)) {
			t.Errorf("error %q contains key material", msg)
		}
	}
}

// funcKeyring is a Keyring made of two functions.
type funcKeyring struct {
	enc func(context.Context, *keyring.EncryptionMaterials) error
	dec func(context.Context, *keyring.DecryptionMaterials, []format.EncryptedDataKey) error
}

func (f funcKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return f.enc(ctx, m)
}

func (f funcKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	return f.dec(ctx, m, edks)
}

// mustManager is envelope.NewDefaultManager for keyrings known to be valid.
func mustManager(tb testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	tb.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		tb.Fatal(err)
	}
	return mm
}

// rawRSAFromPEM is a raw RSA keyring over the keys that pemData holds.
func rawRSAFromPEM(namespace, name string, padding keyring.RSAPadding, pemData []byte) (*keyring.RawRSA, error) {
	pub, priv, err := keyring.ParseRSAKeysPEM(pemData)
	if err != nil {
		return nil, err
	}
	return keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: namespace, Name: name, Padding: padding, PublicKey: pub, PrivateKey: priv})
}
