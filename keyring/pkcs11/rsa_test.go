//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
)

var (
	testRSAOnce sync.Once
	testRSAKey  *rsa.PrivateKey
)

// rsaKey returns a 2048-bit key made once per test binary.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	testRSAOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		testRSAKey = k
	})
	return testRSAKey
}

// TestRSAKeyDecryptsGo imports an RSA key without its public key object:
// the public key comes from the private key object, and what Go encrypts
// the token decrypts, for PKCS #1 v1.5 and for every OAEP hash the token
// supports; the others are refused with ErrMechanismNotSupported.
func TestRSAKeyDecryptsGo(t *testing.T) {
	cfg := newToken(t, "rsa-go")
	cfg.KeyLabel = "imported"
	key := rsaKey(t)
	importRSAKey(t, cfg, key, false)
	k, err := OpenRSAKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	if !key.PublicKey.Equal(k.Public()) {
		t.Fatal("Public() is not the imported key's public key")
	}
	ctx := context.Background()
	msg := randBytes(32)

	ct, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, msg)
	for _, opts := range []crypto.DecrypterOpts{nil, &rsa.PKCS1v15DecryptOptions{}, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32}} {
		got, err := k.DecryptContext(ctx, nil, ct, opts)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("PKCS #1 v1.5 %#v: %x, %v", opts, got, err)
		}
	}
	got, err := k.Decrypt(rand.Reader, ct, nil)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("Decrypt: %x, %v", got, err)
	}

	var supported []crypto.Hash
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		ct, err := rsa.EncryptOAEP(newHash(h), rand.Reader, &key.PublicKey, msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.DecryptContext(ctx, nil, ct, &rsa.OAEPOptions{Hash: h})
		switch {
		case err == nil && bytes.Equal(got, msg):
			supported = append(supported, h)
		case errors.Is(err, ErrMechanismNotSupported):
			if serr := k.selfTest(ctx, &rsa.OAEPOptions{Hash: h}); !errors.Is(serr, ErrMechanismNotSupported) {
				t.Errorf("OAEP %v: decrypting says %v, the self test %v", h, err, serr)
			}
		default:
			t.Errorf("OAEP %v: %x, %v", h, got, err)
		}
	}
	if len(supported) == 0 || supported[0] != crypto.SHA1 {
		t.Fatalf("token decrypts OAEP with %v; every token should do SHA-1", supported)
	}
	t.Logf("token decrypts OAEP with %v", supported)

	// A wrong label fails.
	ct, _ = rsa.EncryptOAEP(newHash(crypto.SHA1), rand.Reader, &key.PublicKey, msg, []byte("label"))
	if got, err := k.DecryptContext(ctx, nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA1}); err == nil {
		t.Errorf("OAEP with the wrong label decrypted to %x", got)
	}
}

// TestRSAKeyBadCiphertext: wrong ciphertexts are errors, except under
// PKCS #1 v1.5 with a session key length, where, as with crypto/rsa, they
// give random bytes of that length.
func TestRSAKeyBadCiphertext(t *testing.T) {
	cfg := newToken(t, "rsa-bad")
	cfg.KeyLabel = "imported"
	key := rsaKey(t)
	importRSAKey(t, cfg, key, true)
	k, err := OpenRSAKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	ctx := context.Background()
	msg := randBytes(32)
	ct, _ := rsa.EncryptOAEP(newHash(crypto.SHA1), rand.Reader, &key.PublicKey, msg, nil)
	bad := bytes.Clone(ct)
	bad[10] ^= 1
	if got, err := k.DecryptContext(ctx, nil, bad, &rsa.OAEPOptions{Hash: crypto.SHA1}); err == nil {
		t.Errorf("OAEP: a changed ciphertext decrypted to %x", got)
	}
	if got, err := k.DecryptContext(ctx, nil, ct[1:], &rsa.OAEPOptions{Hash: crypto.SHA1}); err == nil {
		t.Errorf("OAEP: a short ciphertext decrypted to %x", got)
	}
	pct, _ := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, msg[:16])
	if got, err := k.DecryptContext(ctx, nil, bad, &rsa.PKCS1v15DecryptOptions{}); err == nil {
		t.Errorf("PKCS #1 v1.5: a bad ciphertext decrypted to %x", got)
	}
	for name, c := range map[string][]byte{"bad padding": bad, "wrong length": pct, "short": ct[1:]} {
		got, err := k.DecryptContext(ctx, nil, c, &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 32})
		if err != nil || len(got) != 32 || bytes.Equal(got, msg) {
			t.Errorf("PKCS #1 v1.5 session key, %s: %x, %v; want 32 random bytes", name, got, err)
		}
	}
	if _, err := k.DecryptContext(ctx, nil, ct, &rsa.PSSOptions{}); err == nil {
		t.Error("PSS options were accepted for decryption")
	}
	// The key still works after the failures.
	got, err := k.DecryptContext(ctx, nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA1})
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("after failures: %x, %v", got, err)
	}
}

// TestRSAKeyGenerated makes a key pair in the token and reads its public
// key from there.
func TestRSAKeyGenerated(t *testing.T) {
	cfg := newToken(t, "rsa-gen")
	cfg.KeyID = []byte{0xca, 0xfe}
	if err := GenerateRSAKey(cfg, 2048); err != nil {
		t.Fatal(err)
	}
	if err := GenerateRSAKey(cfg, 1024); err == nil {
		t.Error("GenerateRSAKey made a 1024-bit key")
	}
	k, err := OpenRSAKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	pub := k.Public().(*rsa.PublicKey)
	if pub.N.BitLen() != 2048 || pub.E != 65537 {
		t.Fatalf("public key: %d bits, e = %d", pub.N.BitLen(), pub.E)
	}
	for _, opts := range []crypto.DecrypterOpts{&rsa.OAEPOptions{Hash: crypto.SHA1}, &rsa.PKCS1v15DecryptOptions{}} {
		if err := k.selfTest(context.Background(), opts); err != nil {
			t.Error(err)
		}
	}
}
