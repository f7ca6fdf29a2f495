//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var suites = []format.SuiteID{
	format.AES128GCMIV12Tag16HKDFSHA256,
	format.AES256GCMHKDFSHA512CommitKey,
	format.AES256GCMHKDFSHA512CommitKeyECDSAP384,
}

// roundTrip encrypts a message with enc and decrypts it with dec, through
// the envelope client, for each suite.
func roundTrip(t *testing.T, enc, dec keyring.Keyring) {
	t.Helper()
	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := map[string]string{"purpose": "pkcs11 test", "tenant": "acme"}
	for _, id := range suites {
		c, err := envelope.New(func(o *envelope.Options) {
			o.CommitmentPolicy = envelope.ForbidEncryptAllowDecrypt
			if format.MustSuite(id).Committing() {
				o.CommitmentPolicy = envelope.RequireEncryptRequireDecrypt
			}
			o.Suite = id
		})
		if err != nil {
			t.Fatal(err)
		}
		pt := randBytes(5000)
		msg, err := c.EncryptBytes(ctx, pt, mustManager(t, enc), ec)
		if err != nil {
			t.Fatalf("suite %v: encrypt: %v", id, err)
		}
		got, _, err := client.DecryptBytes(ctx, msg, mustManager(t, dec), ec)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("suite %v: decrypt: %v", id, err)
		}
	}
}

// TestAESKeyringInteroperates: the same key material in the token and in
// a raw AES keyring; each decrypts the other's messages.
func TestAESKeyringInteroperates(t *testing.T) {
	cfg := newToken(t, "aes-keyring")
	for _, size := range []int{16, 24, 32} {
		material := randBytes(size)
		kc := cfg
		kc.KeyLabel = strings.Repeat("k", size)
		importAESKey(t, kc, material)
		hsm, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "wrapping-key", Config: kc})
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, hsm)
		raw, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "esdk-test", Name: "wrapping-key", WrappingKey: material})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, hsm, raw)
		roundTrip(t, raw, hsm)
		roundTrip(t, hsm, hsm)
	}
}

// TestAESKeyringWrongKeyOrContext: a generated key in the token does not
// unwrap another key's data keys, nor its own under another encryption
// context; both are "no matching key", caused by an authentication
// failure.
func TestAESKeyringWrongKeyOrContext(t *testing.T) {
	cfg := newToken(t, "aes-wrong")
	cfg.KeyLabel = "generated"
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	hsm, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "wrapping-key", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, hsm)
	raw, _ := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "esdk-test", Name: "wrapping-key", WrappingKey: randBytes(32)})
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	check := func(name string, enc keyring.Keyring, decEC map[string]string) {
		em := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: map[string]string{"a": "b"}}
		if err := enc.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		dm := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: decEC}
		err := hsm.OnDecrypt(ctx, dm, em.EncryptedDataKeys)
		var nm *keyring.NoMatchingKeyError
		if !errors.Is(err, keyring.ErrNoMatchingKey) || !errors.As(err, &nm) || !errors.Is(err, ErrAuthentication) || dm.PlaintextDataKey != nil {
			t.Errorf("%s: %v; want NoMatchingKeyError caused by ErrAuthentication", name, err)
		}
		saysOnce(t, name, err, cfg.KeyLabel)
		if err != nil && !strings.Contains(err.Error(), "(wrong key or encryption context?)") {
			t.Errorf("%s: %v does not say what most likely is wrong", name, err)
		}
	}
	check("other key", raw, map[string]string{"a": "b"})
	check("other context", hsm, map[string]string{"a": "c"})

	em := &keyring.EncryptionMaterials{Suite: suite}
	if err := hsm.OnEncrypt(ctx, em); err != nil {
		t.Fatal(err)
	}
	edk := em.EncryptedDataKeys[0]
	if !bytes.HasPrefix(edk.ProviderInfo, []byte("wrapping-key\x00\x00\x00\x80\x00\x00\x00\x0c")) || len(edk.ProviderInfo) != len("wrapping-key")+20 || len(edk.Ciphertext) != 48 {
		t.Errorf("encrypted data key: info %x, %d-byte ciphertext", edk.ProviderInfo, len(edk.Ciphertext))
	}
	em2 := &keyring.EncryptionMaterials{Suite: suite, PlaintextDataKey: em.PlaintextDataKey}
	hsm.OnEncrypt(ctx, em2)
	if bytes.Equal(em2.EncryptedDataKeys[0].ProviderInfo, edk.ProviderInfo) {
		t.Error("two wrappings used the same IV")
	}
}

// TestRSAKeyringInteroperates: the same key pair in the token and in a raw
// RSA keyring, for each padding; each decrypts the other's messages. A
// padding the token cannot do fails in NewRSA with
// ErrMechanismNotSupported; PKCS1 and OAEP-SHA1 must work.
func TestRSAKeyringInteroperates(t *testing.T) {
	cfg := newToken(t, "rsa-keyring")
	cfg.KeyLabel = "imported"
	key := rsaKey(t)
	importRSAKey(t, cfg, key, true)
	for _, p := range []keyring.RSAPadding{keyring.PKCS1, keyring.OAEPSHA1, keyring.OAEPSHA256, keyring.OAEPSHA384, keyring.OAEPSHA512} {
		hsm, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa-key", Padding: p, Config: cfg})
		if errors.Is(err, ErrMechanismNotSupported) && p != keyring.PKCS1 && p != keyring.OAEPSHA1 {
			t.Logf("%v: %v", p, err)
			saysOnce(t, p.String(), err, cfg.KeyLabel)
			checkNoLeak(t, cfg)
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		closeAtEnd(t, hsm)
		raw, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "esdk-test", Name: "rsa-key", Padding: p, PublicKey: &key.PublicKey, PrivateKey: key})
		if err != nil {
			t.Fatal(err)
		}
		withHandle, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "esdk-test", Name: "rsa-key", Padding: p, PrivateKey: hsm.Key()})
		if err != nil {
			t.Fatal(err)
		}
		roundTrip(t, hsm, raw)
		roundTrip(t, raw, hsm)
		roundTrip(t, raw, withHandle)
		if err := hsm.Close(); err != nil {
			t.Fatal(err)
		}
		if err := hsm.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: format.MustSuite(suites[0])}); !errors.Is(err, ErrClosed) {
			t.Errorf("OnEncrypt after Close: %v", err)
		}
	}
}

// checkNoLeak checks that a failed constructor left no key open.
func checkNoLeak(t *testing.T, cfg Config) {
	t.Helper()
	modules.Lock()
	defer modules.Unlock()
	for _, m := range modules.m {
		if m.users != 0 {
			t.Errorf("a failed constructor left module %s with %d users", m.path, m.users)
		}
	}
}

// TestRSAKeyringWrongKey: a message for another RSA key with the same
// names does not decrypt.
func TestRSAKeyringWrongKey(t *testing.T) {
	cfg := newToken(t, "rsa-wrong")
	cfg.KeyLabel = "generated"
	if err := GenerateRSAKey(cfg, 2048); err != nil {
		t.Fatal(err)
	}
	hsm, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa-key", Padding: keyring.OAEPSHA1, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, hsm)
	other, _ := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: "esdk-test", Name: "rsa-key", Padding: keyring.OAEPSHA1, PublicKey: &rsaKey(t).PublicKey, PrivateKey: rsaKey(t)})
	roundTrip(t, hsm, hsm)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	em := &keyring.EncryptionMaterials{Suite: suite}
	if err := other.OnEncrypt(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	dm := &keyring.DecryptionMaterials{Suite: suite}
	if err := hsm.OnDecrypt(context.Background(), dm, em.EncryptedDataKeys); !errors.Is(err, keyring.ErrNoMatchingKey) || dm.PlaintextDataKey != nil {
		t.Errorf("other key's data key: %v", err)
	}
}

// TestKeyringsConcurrent encrypts and decrypts messages through both HSM
// keyrings from 16 goroutines; run it with -race.
func TestKeyringsConcurrent(t *testing.T) {
	cfg := newToken(t, "keyrings-concurrent")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	a.MaxSessions, r.MaxSessions = 4, 4
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	if err := GenerateRSAKey(r, 2048); err != nil {
		t.Fatal(err)
	}
	ak, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "aes", Config: a})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ak)
	rk, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.OAEPSHA1, Config: r})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, rk)
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: ak, Children: []keyring.Keyring{rk}})
	if err != nil {
		t.Fatal(err)
	}
	mm := mustManager(t, multi)
	client, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for range 3 {
				pt := randBytes(100 + g)
				msg, err := client.EncryptBytes(ctx, pt, mm, map[string]string{"g": string(rune('a' + g))})
				if err != nil {
					errs <- err
					return
				}
				dec := mustManager(t, ak)
				if g%2 == 1 {
					dec = mustManager(t, rk)
				}
				got, _, err := client.DecryptBytes(ctx, msg, dec, nil)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- errors.Join(errors.New("round trip failed"), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTokenFailureIsNotNoMatch deletes the keys from the token under
// open keyrings: unwrapping then fails with a *keyring.UnwrapError that
// names the PKCS #11 error, not with "no matching key", which would read
// as a message that is not for these keys.
func TestTokenFailureIsNotNoMatch(t *testing.T) {
	cfg := newToken(t, "token-failure")
	ak, rk := openAESAndRSA(t, cfg)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	edks := map[keyring.Keyring][]format.EncryptedDataKey{}
	for _, kr := range []keyring.Keyring{ak, rk} {
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := kr.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		edks[kr] = em.EncryptedDataKeys
	}
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		for _, label := range []string{"aes", "rsa"} {
			c.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, label)})
			objs, _, _ := c.FindObjects(s, 10)
			c.FindObjectsFinal(s)
			for _, o := range objs {
				if err := c.DestroyObject(s, o); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	for kr, e := range edks {
		err := kr.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, e)
		var ue *keyring.UnwrapError
		var pe *Error
		if !errors.As(err, &ue) || errors.Is(err, keyring.ErrNoMatchingKey) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "CKR_") {
			t.Errorf("%T after the key was deleted: %v; want a *keyring.UnwrapError naming the PKCS #11 error", kr, err)
		}
		t.Logf("%T: %v", kr, err)
		saysOnce(t, fmt.Sprintf("%T after the key was deleted", kr), err, "")
		if strings.Contains(err.Error(), "wrong key or encryption context") {
			t.Errorf("%T after the key was deleted: %v: a failing token is not a wrong key or context", kr, err)
		}
	}
}

// TestKeyringFromURI reaches keys through pkcs11: URIs, by label and by
// percent-encoded id.
func TestKeyringFromURI(t *testing.T) {
	cfg := newToken(t, "uri token")
	a, r := cfg, cfg
	a.KeyLabel, a.KeyID = "aes key", []byte{0x00, 0xa5, ';'}
	r.KeyLabel = "rsa"
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	importRSAKey(t, r, rsaKey(t), false)
	query := "?module-path=" + cfg.ModulePath + "&pin-value=" + cfg.PIN
	aesURI, err := ParseURI("pkcs11:token=uri%20token;id=%00%a5%3b;type=secret-key" + query)
	if err != nil {
		t.Fatal(err)
	}
	ak, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "aes", Config: aesURI})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ak)
	rsaURI, err := ParseURI("pkcs11:token=uri%20token;object=rsa;type=private" + query)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.PKCS1, Config: rsaURI})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, rk)
	roundTrip(t, ak, ak)
	roundTrip(t, rk, rk)
	if _, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.PKCS1, Config: aesURI}); err == nil || !strings.Contains(err.Error(), `"secret-key"`) {
		t.Errorf("an RSA keyring from a secret-key URI: %v", err)
	}
}

// TestKeyringOptions checks that a missing field is an error that names
// it, before any module is loaded, and that the functions after the
// options apply to a copy of them in order.
func TestKeyringOptions(t *testing.T) {
	// A module that does not exist: reaching it would fail differently.
	nowhere := Config{ModulePath: "/nonexistent/libpkcs11.so", KeyLabel: "k"}
	for _, tc := range []struct {
		err   error
		field string
	}{
		{second(NewAESKeyring(AESKeyringOptions{Name: "n", Config: nowhere})), "AESKeyringOptions.Namespace"},
		{second(NewAESKeyring(AESKeyringOptions{Namespace: "ns", Config: nowhere})), "AESKeyringOptions.Name"},
		{second(NewRSAKeyring(RSAKeyringOptions{Name: "n", Padding: keyring.OAEPSHA1, Config: nowhere})), "RSAKeyringOptions.Namespace"},
		{second(NewRSAKeyring(RSAKeyringOptions{Namespace: "ns", Padding: keyring.OAEPSHA1, Config: nowhere})), "RSAKeyringOptions.Name"},
		{second(NewRSAKeyring(RSAKeyringOptions{Namespace: "ns", Name: "n", Config: nowhere})), "RSAKeyringOptions.Padding"},
		{second(NewRSAKeyring(RSAKeyringOptions{Namespace: "ns", Name: "n", Padding: keyring.OAEPSHA512 + 1, Config: nowhere})), "RSAKeyringOptions.Padding"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.field) || !strings.HasPrefix(tc.err.Error(), "esdk/pkcs11: ") || errors.Is(tc.err, ErrModuleNotFound) {
			t.Errorf("got %v, want an error naming %s", tc.err, tc.field)
		}
	}
	// With every field the module is the problem.
	_, err := NewAESKeyring(AESKeyringOptions{Namespace: "ns", Name: "n"}, func(o *AESKeyringOptions) { o.Config = nowhere })
	if !errors.Is(err, ErrModuleNotFound) {
		t.Errorf("got %v, want ErrModuleNotFound", err)
	}

	cfg := newToken(t, "options")
	cfg.KeyLabel = "aes"
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	o := AESKeyringOptions{Namespace: "esdk-test", Name: "first", Config: cfg}
	kr, err := NewAESKeyring(o, func(o *AESKeyringOptions) { o.Name = "second" })
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, kr)
	if o.Name != "first" {
		t.Errorf("the caller's options changed: Name %q", o.Name)
	}
	m := &keyring.EncryptionMaterials{Suite: format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)}
	if err := kr.OnEncrypt(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if info := string(m.EncryptedDataKeys[0].ProviderInfo); !strings.HasPrefix(info, "second") {
		t.Errorf("provider info %q, want the name the function set", info)
	}
}

func second[T any](_ T, err error) error { return err }

// mustManager is envelope.NewDefaultManager for keyrings known to be valid.
func mustManager(tb testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	tb.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		tb.Fatal(err)
	}
	return mm
}
