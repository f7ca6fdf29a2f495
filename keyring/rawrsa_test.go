package keyring_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// RSA key generation is slow: each test binary makes two keys, once.
var (
	rsaKey      = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
	otherRSAKey = sync.OnceValue(func() *rsa.PrivateKey { return genRSA(2048) })
)

func genRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

var paddings = []keyring.RSAPadding{keyring.PKCS1, keyring.OAEPSHA1, keyring.OAEPSHA256, keyring.OAEPSHA384, keyring.OAEPSHA512}

func TestRawRSARoundTrip(t *testing.T) {
	key := rsaKey()
	ec := map[string]string{"purpose": "test"}
	for _, p := range paddings {
		for _, s := range []*format.Suite{suite128, format.MustSuite(format.AES192GCMIV12Tag16NoKDF), suite256} {
			t.Run(p.String()+"/"+s.String(), func(t *testing.T) {
				enc, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PublicKey: &key.PublicKey})
				if err != nil {
					t.Fatal(err)
				}
				dec, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PrivateKey: key})
				if err != nil {
					t.Fatal(err)
				}
				both, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PublicKey: &key.PublicKey, PrivateKey: key})
				if err != nil {
					t.Fatal(err)
				}
				em := encrypt(t, enc, s, ec)
				edk := em.EncryptedDataKeys[0]
				if len(em.EncryptedDataKeys) != 1 || edk.ProviderID != "ns" || string(edk.ProviderInfo) != "name" || len(edk.Ciphertext) != 256 {
					t.Fatalf("encrypted data keys %+v", em.EncryptedDataKeys)
				}
				// The context plays no part: another one decrypts too.
				got, err := decrypt(dec, s, nil, em.EncryptedDataKeys)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, em.PlaintextDataKey) {
					t.Fatal("unwrapped data key differs")
				}
				// A keyring with both keys encrypts and decrypts.
				em = encrypt(t, both, s, ec)
				if _, err := decrypt(both, s, ec, em.EncryptedDataKeys); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}

// TestRawRSAPadding checks each padding against crypto/rsa directly.
func TestRawRSAPadding(t *testing.T) {
	key := rsaKey()
	for _, p := range paddings {
		kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PublicKey: &key.PublicKey})
		if err != nil {
			t.Fatal(err)
		}
		em := encrypt(t, kr, suite256, nil)
		ct := em.EncryptedDataKeys[0].Ciphertext
		var got []byte
		switch p {
		case keyring.PKCS1:
			got, err = key.Decrypt(nil, ct, &rsa.PKCS1v15DecryptOptions{})
		case keyring.OAEPSHA1:
			got, err = key.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA1})
		case keyring.OAEPSHA256:
			got, err = key.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA256})
		case keyring.OAEPSHA384:
			got, err = key.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA384})
		case keyring.OAEPSHA512:
			got, err = key.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: crypto.SHA512})
		}
		if err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
			t.Errorf("%v: crypto/rsa cannot decrypt the encrypted data key: %v", p, err)
		}
	}
}

func TestRawRSADecryptFailures(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	wrongKey, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PrivateKey: otherRSAKey()})
	if err != nil {
		t.Fatal(err)
	}
	wrongPadding, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA1, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		kr     keyring.Keyring
		suite  *format.Suite
		tamper func(e *format.EncryptedDataKey)
	}{
		{name: "wrong key", kr: wrongKey},
		{name: "wrong OAEP hash", kr: wrongPadding},
		{name: "suite of another key length", suite: suite128},
		{name: "provider id", tamper: func(e *format.EncryptedDataKey) { e.ProviderID = "nt" }},
		{name: "key name", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo[0] ^= 1 }},
		{name: "no provider info", tamper: func(e *format.EncryptedDataKey) { e.ProviderInfo = nil }},
		{name: "ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext[100] ^= 1 }},
		{name: "short ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = e.Ciphertext[1:] }},
		{name: "no ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = nil }},
		{name: "huge ciphertext", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = make([]byte, 1<<20) }},
		{name: "ciphertext above the modulus", tamper: func(e *format.EncryptedDataKey) { e.Ciphertext = bytes.Repeat([]byte{0xFF}, 256) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, s := keyring.Keyring(kr), suite256
			if tc.kr != nil {
				kr = tc.kr
			}
			if tc.suite != nil {
				s = tc.suite
			}
			edks := format.CloneEncryptedDataKeys(em.EncryptedDataKeys)
			if tc.tamper != nil {
				tc.tamper(&edks[0])
			}
			_, err := decrypt(kr, s, nil, edks)
			if !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("got %v, want ErrNoMatchingKey", err)
			}
			checkErrText(t, err, em.PlaintextDataKey)
		})
	}
}

func TestRawRSAEncryptOnly(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	for _, edks := range [][]format.EncryptedDataKey{em.EncryptedDataKeys, nil} {
		_, err = decrypt(kr, suite256, nil, edks)
		if !errors.Is(err, keyring.ErrEncryptOnly) || errors.Is(err, keyring.ErrNoMatchingKey) {
			t.Fatalf("got %v, want ErrEncryptOnly and not ErrNoMatchingKey", err)
		}
		if !strings.Contains(err.Error(), "no private key") {
			t.Errorf("error %q does not say the keyring has no private key", err)
		}
		checkErrText(t, err)
	}
}

func TestRawRSAHasDataKey(t *testing.T) {
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey, PrivateKey: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	m := &keyring.DecryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(32)}
	err = kr.OnDecrypt(context.Background(), m, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrDataKeyAlreadySet) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Fatalf("got %v, want ErrDataKeyAlreadySet", err)
	}
}

func TestRawRSAEncryptWrongKeyLength(t *testing.T) {
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey, PrivateKey: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: randBytes(16)}
	if err := kr.OnEncrypt(context.Background(), m); err == nil || len(m.EncryptedDataKeys) != 0 {
		t.Fatalf("got %v and %d encrypted data keys, want an error and none", err, len(m.EncryptedDataKeys))
	}
}

func TestRawRSAContextCanceled(t *testing.T) {
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &rsaKey().PublicKey, PrivateKey: rsaKey()})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, kr, suite256, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &keyring.DecryptionMaterials{Suite: suite256}
	if err := kr.OnDecrypt(ctx, m, em.EncryptedDataKeys); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestParseRSAKeysPEM(t *testing.T) {
	key := rsaKey()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkcs1Priv := block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	pkcs8Priv := block("PRIVATE KEY", pkcs8)
	spkiPub := block("PUBLIC KEY", spki)
	pkcs1Pub := block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))
	tests := []struct {
		name               string
		data               []byte
		encrypts, decrypts bool
	}{
		{"RSA PRIVATE KEY", pkcs1Priv, false, true},
		{"PRIVATE KEY", pkcs8Priv, false, true},
		{"PUBLIC KEY", spkiPub, true, false},
		{"RSA PUBLIC KEY", pkcs1Pub, true, false},
		{"PUBLIC KEY and PRIVATE KEY", append(slices.Clone(spkiPub), pkcs8Priv...), true, true},
		{"RSA PRIVATE KEY and RSA PUBLIC KEY", append(slices.Clone(pkcs1Priv), pkcs1Pub...), true, true},
	}
	full, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA512, PublicKey: &key.PublicKey, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := rawRSAFromPEM("ns", "name", keyring.OAEPSHA512, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			m := &keyring.EncryptionMaterials{Suite: suite256}
			err = kr.OnEncrypt(context.Background(), m)
			if tc.encrypts != (err == nil) {
				t.Fatalf("OnEncrypt: %v; want it to succeed: %v", err, tc.encrypts)
			}
			if err != nil && !errors.Is(err, keyring.ErrDecryptOnly) {
				t.Fatalf("OnEncrypt: got %v, want ErrDecryptOnly", err)
			}
			if err == nil {
				if _, err := decrypt(full, suite256, nil, m.EncryptedDataKeys); err != nil {
					t.Fatal(err)
				}
			}
			em := encrypt(t, full, suite256, nil)
			got, err := decrypt(kr, suite256, nil, em.EncryptedDataKeys)
			if tc.decrypts != (err == nil) {
				t.Fatalf("OnDecrypt: %v; want it to succeed: %v", err, tc.decrypts)
			}
			if err != nil && !errors.Is(err, keyring.ErrEncryptOnly) {
				t.Fatalf("OnDecrypt: got %v, want ErrEncryptOnly", err)
			}
			if err == nil && !bytes.Equal(got, em.PlaintextDataKey) {
				t.Fatal("unwrapped data key differs")
			}
		})
	}
}

func TestParseRSAKeysPEMErrors(t *testing.T) {
	key := rsaKey()
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	otherPub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&otherRSAKey().PublicKey)})
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecSPKI, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not PEM", []byte("hello")},
		{"DER", x509.MarshalPKCS1PrivateKey(key)},
		{"two private keys", append(slices.Clone(priv), priv...)},
		{"two public keys", append(slices.Clone(pub), pub...)},
		{"keys of two pairs", append(slices.Clone(priv), otherPub...)},
		{"text after the blocks", append(append(slices.Clone(priv), pub...), "hello"...)},
		{"certificate type", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})},
		{"EC PKCS8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8})},
		{"EC SPKI", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecSPKI})},
		{"garbage in block", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2, 3}})},
		{"headers", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: x509.MarshalPKCS1PrivateKey(key)})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := rawRSAFromPEM("ns", "name", keyring.OAEPSHA256, tc.data)
			if err == nil || kr != nil {
				t.Fatalf("got %v, %v; want an error", kr, err)
			}
			checkErrText(t, err)
		})
	}
	// Whitespace around the block is fine.
	if _, err := rawRSAFromPEM("ns", "name", keyring.OAEPSHA256, append(append([]byte("\n"), priv...), "\n\n"...)); err != nil {
		t.Errorf("whitespace around the block: %v", err)
	}
}

func TestNewRawRSAErrors(t *testing.T) {
	key := rsaKey()
	mismatched := otherRSAKey().PublicKey
	small := genRSA(1024)
	tests := []struct {
		name, namespace, keyName string
		padding                  keyring.RSAPadding
		pub                      *rsa.PublicKey
		priv                     *rsa.PrivateKey
	}{
		{"no keys", "ns", "name", keyring.OAEPSHA256, nil, nil},
		{"zero padding", "ns", "name", 0, nil, key},
		{"unknown padding", "ns", "name", keyring.OAEPSHA512 + 1, nil, key},
		{"mismatched keys", "ns", "name", keyring.OAEPSHA256, &mismatched, key},
		{"no modulus", "ns", "name", keyring.OAEPSHA256, &rsa.PublicKey{E: 65537}, nil},
		{"invalid private key", "ns", "name", keyring.OAEPSHA256, nil, &rsa.PrivateKey{PublicKey: key.PublicKey, D: big.NewInt(3), Primes: key.Primes}},
		{"zero private key", "ns", "name", keyring.OAEPSHA256, nil, &rsa.PrivateKey{}},
		{"nil primes", "ns", "name", keyring.OAEPSHA256, nil, &rsa.PrivateKey{PublicKey: key.PublicKey, D: key.D, Primes: []*big.Int{nil, nil}}},
		{"zero public key", "ns", "name", keyring.OAEPSHA256, &rsa.PublicKey{}, nil},
		{"negative modulus", "ns", "name", keyring.OAEPSHA256, &rsa.PublicKey{N: big.NewInt(-5), E: 3}, nil},
		{"key too small for OAEP-SHA512", "ns", "name", keyring.OAEPSHA512, &small.PublicKey, nil},
		{"aws-kms namespace", "aws-kms", "name", keyring.OAEPSHA256, nil, key},
		{"empty namespace", "", "name", keyring.OAEPSHA256, nil, key},
		{"empty name", "ns", "", keyring.OAEPSHA256, nil, key},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: tc.namespace, Name: tc.keyName, Padding: tc.padding, PublicKey: tc.pub, PrivateKey: tc.priv})
			if err == nil || kr != nil {
				t.Fatalf("got %v, %v; want an error", kr, err)
			}
			checkErrText(t, err)
		})
	}
	if _, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &small.PublicKey}); err != nil {
		t.Errorf("1024-bit key with OAEP-SHA256: %v", err)
	}
	if _, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey, PrivateKey: key}); err != nil {
		t.Errorf("matching public and private keys: %v", err)
	}
}

// TestRawRSADecryptOnly checks that a keyring made from a private key
// alone does not derive the public key to encrypt with.
func TestRawRSADecryptOnly(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, dataKey := range [][]byte{nil, randBytes(32)} {
		m := &keyring.EncryptionMaterials{Suite: suite256, PlaintextDataKey: bytes.Clone(dataKey)}
		err := kr.OnEncrypt(context.Background(), m)
		if !errors.Is(err, keyring.ErrDecryptOnly) || errors.Is(err, keyring.ErrNoMatchingKey) {
			t.Fatalf("got %v, want ErrDecryptOnly", err)
		}
		if !strings.Contains(err.Error(), "no public key") {
			t.Errorf("error %q does not say the keyring has no public key", err)
		}
		checkErrText(t, err)
		if len(m.EncryptedDataKeys) != 0 || !bytes.Equal(m.PlaintextDataKey, dataKey) {
			t.Fatal("OnEncrypt changed the materials")
		}
	}
	// It decrypts what the public key encrypted.
	enc, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, enc, suite256, nil)
	if got, err := decrypt(kr, suite256, nil, em.EncryptedDataKeys); err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
		t.Fatalf("decrypt: %v", err)
	}
}

// decrypter is a crypto.Decrypter that is not an *rsa.PrivateKey, as an
// HSM key would be. It records the options it is given, and fails with
// err when err is set.
type decrypter struct {
	key  *rsa.PrivateKey
	err  error
	opts []crypto.DecrypterOpts
	// noSessionKey drops SessionKeyLen, as a decrypter without implicit
	// rejection would.
	noSessionKey bool
}

func (d *decrypter) Public() crypto.PublicKey { return d.key.Public() }

func (d *decrypter) Decrypt(r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d.opts = append(d.opts, opts)
	if d.err != nil {
		return nil, d.err
	}
	if _, ok := opts.(*rsa.PKCS1v15DecryptOptions); ok && d.noSessionKey {
		k, err := d.key.Decrypt(r, msg, &rsa.PKCS1v15DecryptOptions{})
		if err != nil {
			return nil, errors.New("hsm: CKR_ENCRYPTED_DATA_INVALID")
		}
		return k, nil
	}
	return d.key.Decrypt(r, msg, opts)
}

// ctxDecrypter adds DecryptContext to decrypter.
type ctxDecrypter struct {
	decrypter
	ctxs []context.Context
}

func (d *ctxDecrypter) DecryptContext(ctx context.Context, r io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error) {
	d.ctxs = append(d.ctxs, ctx)
	return d.decrypter.Decrypt(r, msg, opts)
}

type ctxKey struct{}

func TestNewRawRSADecrypter(t *testing.T) {
	key := rsaKey()
	ctx := context.WithValue(context.Background(), ctxKey{}, "caller")
	for _, p := range paddings {
		t.Run(p.String(), func(t *testing.T) {
			d := &ctxDecrypter{decrypter: decrypter{key: key}}
			kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PublicKey: &key.PublicKey, PrivateKey: d})
			if err != nil {
				t.Fatal(err)
			}
			// Same wire format as NewRawRSA: each decrypts the other's.
			mem, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: p, PublicKey: &key.PublicKey, PrivateKey: key})
			if err != nil {
				t.Fatal(err)
			}
			em := encrypt(t, mem, suite128, nil)
			m := &keyring.DecryptionMaterials{Suite: suite128}
			if err := kr.OnDecrypt(ctx, m, em.EncryptedDataKeys); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.PlaintextDataKey, em.PlaintextDataKey) {
				t.Fatal("unwrapped data key differs")
			}
			em = encrypt(t, kr, suite128, nil)
			if got, err := decrypt(mem, suite128, nil, em.EncryptedDataKeys); err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
				t.Fatalf("decrypt: %v", err)
			}
			// DecryptContext got the caller's context and the options.
			if len(d.ctxs) != 1 || d.ctxs[0].Value(ctxKey{}) != "caller" {
				t.Fatalf("DecryptContext calls: %v", d.ctxs)
			}
			var want crypto.DecrypterOpts = &rsa.OAEPOptions{Hash: map[keyring.RSAPadding]crypto.Hash{
				keyring.OAEPSHA1: crypto.SHA1, keyring.OAEPSHA256: crypto.SHA256,
				keyring.OAEPSHA384: crypto.SHA384, keyring.OAEPSHA512: crypto.SHA512,
			}[p]}
			if p == keyring.PKCS1 {
				want = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: 16}
			}
			if len(d.opts) != 1 || !reflect.DeepEqual(d.opts[0], want) {
				t.Fatalf("options %#v, want %#v", d.opts, want)
			}
		})
	}
}

// TestRawRSADecrypterFails checks that a decrypter's error is reachable
// with errors.Is but stays out of the error text, and that a plain
// crypto.Decrypter works without DecryptContext.
func TestRawRSADecrypterFails(t *testing.T) {
	key := rsaKey()
	errDown := errors.New("hsm: token removed during padding check")
	d := &decrypter{key: key, err: errDown}
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PrivateKey: d})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	em := encrypt(t, enc, suite256, nil)
	_, err = decrypt(kr, suite256, nil, em.EncryptedDataKeys)
	var nm *keyring.NoMatchingKeyError
	if !errors.As(err, &nm) || !errors.Is(err, errDown) {
		t.Fatalf("got %v, want a *NoMatchingKeyError wrapping the decrypter's error", err)
	}
	if strings.Contains(err.Error(), "hsm") || strings.Contains(err.Error(), "padding") {
		t.Errorf("error text %q shows why the key did not unwrap", err)
	}
	if want := `raw RSA "ns"/"name"`; nm.Keyring != want || len(nm.Causes) != 1 {
		t.Errorf("Keyring %q with %d causes, want %q with 1", nm.Keyring, len(nm.Causes), want)
	}
	// A payload that is not a data key of the suite's length is a cause,
	// not its text either.
	d.err = nil
	_, err = decrypt(kr, suite128, nil, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrNoMatchingKey) || strings.Contains(err.Error(), "length") || strings.Contains(err.Error(), "32") {
		t.Fatalf("got %v, want ErrNoMatchingKey without the reason", err)
	}
	if got, err := decrypt(kr, suite256, nil, em.EncryptedDataKeys); err != nil || !bytes.Equal(got, em.PlaintextDataKey) {
		t.Fatalf("decrypt: %v", err)
	}
	if len(d.opts) != 3 {
		t.Fatalf("Decrypt called %d times, want 3", len(d.opts))
	}
}

// TestRawRSAPKCS1DecrypterWithoutImplicitRejection checks that a
// decrypter that ignores SessionKeyLen still gives every conformant
// payload, of any length, the same outcome.
func TestRawRSAPKCS1DecrypterWithoutImplicitRejection(t *testing.T) {
	key := rsaKey()
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.PKCS1, PrivateKey: &decrypter{key: key, noSessionKey: true}})
	if err != nil {
		t.Fatal(err)
	}
	cts, payload := pkcs1Ciphertexts(t, &key.PublicKey, 32)
	var texts []string
	for name, ct := range cts {
		edks := []format.EncryptedDataKey{{ProviderID: "ns", ProviderInfo: []byte("name"), Ciphertext: ct}}
		got, err := decrypt(kr, suite256, nil, edks)
		if name == "not conformant" {
			// This decrypter says so; the text does not.
			if !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("%s: got %v, want ErrNoMatchingKey", name, err)
			}
			texts = append(texts, err.Error())
			continue
		}
		if err != nil || len(got) != 32 {
			t.Fatalf("%s: got a %d-byte key and %v, want a 32-byte key", name, len(got), err)
		}
		if right := name == "conformant, 32-byte payload"; right != bytes.Equal(got, payload) {
			t.Fatalf("%s: unwrapped key equals the payload: %v", name, !right)
		}
	}
	for _, s := range texts {
		if strings.Contains(s, "CKR") {
			t.Errorf("error text %q shows the decrypter's error", s)
		}
	}
}

func TestNewRawRSADecrypterErrors(t *testing.T) {
	key := rsaKey()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var nilKey *rsa.PrivateKey
	var nilDecrypter *decrypter
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		priv crypto.Decrypter
	}{
		{"nothing", nil, nil},
		{"nil *rsa.PrivateKey", nil, nilKey},
		{"nil decrypter", nil, nilDecrypter},
		{"not an RSA key", nil, ecdsaDecrypter{ecKey}},
		{"mismatched keys", &otherRSAKey().PublicKey, &decrypter{key: key}},
		{"even exponent", &rsa.PublicKey{N: key.N, E: 65536}, nil},
		{"zero exponent", &rsa.PublicKey{N: key.N}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: tc.pub, PrivateKey: tc.priv})
			if err == nil || kr != nil {
				t.Fatalf("got %v, %v; want an error", kr, err)
			}
			checkErrText(t, err)
		})
	}
	// A nil *rsa.PrivateKey beside a public key is no private key.
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "ns", Name: "name", Padding: keyring.OAEPSHA256, PublicKey: &key.PublicKey, PrivateKey: nilKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decrypt(kr, suite256, nil, nil); !errors.Is(err, keyring.ErrEncryptOnly) {
		t.Fatalf("got %v, want ErrEncryptOnly", err)
	}
}

// ecdsaDecrypter is a crypto.Decrypter over a key that is not RSA.
type ecdsaDecrypter struct{ key *ecdsa.PrivateKey }

func (d ecdsaDecrypter) Public() crypto.PublicKey { return d.key.Public() }

func (d ecdsaDecrypter) Decrypt(io.Reader, []byte, crypto.DecrypterOpts) ([]byte, error) {
	return nil, errors.New("not RSA")
}
