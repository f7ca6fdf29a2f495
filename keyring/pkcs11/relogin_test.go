//go:build cgo

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// otherCode is other code of the process that uses the same module and
// token: a session of its own, which it may log in and out.
func otherCode(t *testing.T, cfg Config) (*p11.Ctx, p11.SessionHandle) {
	t.Helper()
	m, err := openModule(cfg.ModulePath)
	if err != nil {
		t.Fatal(err)
	}
	slot, _, err := m.findSlot(cfg)
	if err != nil {
		m.close()
		t.Fatal(err)
	}
	s, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		m.close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.ctx.CloseSession(s)
		if err := m.close(); err != nil {
			t.Error(err)
		}
	})
	return m.ctx, s
}

// hsmKeyring is a keyring of this package, with the key object under it.
type hsmKeyring struct {
	name string
	kr   keyring.Keyring
	obj  *object
}

// TestLoginLost: other code of the process logs out under AES, RSA and
// ECDH keyrings, and SoftHSM2 drops the handles of the private objects.
// The keyrings' operations then fail with an error matching ErrLoginLost,
// which unwrapping reports as a failure of the token, not as a message
// that is not for these keys. When a key of the token is opened again
// with the PIN the process logs in again, and the keyrings open before
// find their keys again and work: once, however many callers need them
// at the same time.
func TestLoginLost(t *testing.T) {
	cfg := newToken(t, "login-lost")
	krs := openTestKeyrings(t, cfg)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	edks := wrapWithEach(t, krs, suite)

	c, s := otherCode(t, cfg)
	if err := c.Logout(s); err != nil {
		t.Fatal("the other code's C_Logout:", err)
	}
	for _, k := range krs {
		dm := &keyring.DecryptionMaterials{Suite: suite}
		err := k.kr.OnDecrypt(ctx, dm, edks[k.name])
		var ue *keyring.UnwrapError
		if !errors.Is(err, ErrLoginLost) || !errors.As(err, &ue) || errors.Is(err, keyring.ErrNoMatchingKey) || !strings.Contains(err.Error(), "logged out") {
			t.Errorf("%s: OnDecrypt after the logout: %v; want a *keyring.UnwrapError matching ErrLoginLost", k.name, err)
		}
		t.Logf("%s: %v", k.name, err)
		saysOnce(t, k.name+" after the logout", err, strings.ToLower(k.name[:2]))
	}
	for _, k := range []hsmKeyring{krs[0], krs[2]} {
		if err := k.kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); !errors.Is(err, ErrLoginLost) {
			t.Errorf("%s OnEncrypt after the logout: %v; want ErrLoginLost", k.name, err)
		}
	}

	// A key opened now logs in again, with a PIN the token checks.
	wrong := cfg
	wrong.KeyLabel, wrong.PIN = "aes", "not-the-pin"
	if k, err := OpenAESKey(wrong); !errors.Is(err, ErrPINIncorrect) {
		if k != nil {
			k.Close()
		}
		t.Errorf("a wrong PIN after the logout: %v; want ErrPINIncorrect", err)
	}
	right := cfg
	right.KeyLabel = "aes"
	k, err := OpenAESKey(right)
	if err != nil {
		t.Fatalf("the right PIN after the logout: %v", err)
	}
	closeAtEnd(t, k)
	for _, k := range krs {
		// Callers at once: one finds the key again, the others take
		// its handle.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dm := &keyring.DecryptionMaterials{Suite: suite}
				if err := k.kr.OnDecrypt(ctx, dm, edks[k.name]); err != nil || dm.PlaintextDataKey == nil {
					t.Errorf("%s: OnDecrypt once logged in again: %v", k.name, err)
				}
			}()
		}
		wg.Wait()
		if err := k.kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); err != nil {
			t.Errorf("%s: OnEncrypt once logged in again: %v", k.name, err)
		}
		k.obj.mu.Lock()
		n := k.obj.refound
		k.obj.mu.Unlock()
		if n != 1 {
			t.Errorf("%s: the key was found again %d times; want once", k.name, n)
		}
	}
}

// TestReplacedKeyIsNotUsed: a key deleted from the token under an open
// keyring, and another one made with the same label and id, is found
// again but not used in the place of the key the keyring was made with;
// a key deleted and not replaced is reported as not found. Both are
// failures of the token, not no-matches, and name the PKCS #11 error.
func TestReplacedKeyIsNotUsed(t *testing.T) {
	cfg := newToken(t, "replaced")
	krs := openTestKeyrings(t, cfg)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	edks := wrapWithEach(t, krs, suite)
	deleteObjects(t, cfg, "aes", "rsa", "ec")
	for _, replace := range []bool{false, true} {
		if replace {
			a, r := cfg, cfg
			a.KeyLabel, r.KeyLabel = "aes", "rsa"
			importAESKey(t, a, randBytes(32))
			importRSAKey(t, r, rsaKey(t), true)
			e := cfg
			e.KeyLabel = "ec"
			if err := GenerateECKey(e, ecdh.P256()); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range krs {
			dm := &keyring.DecryptionMaterials{Suite: suite}
			err := k.kr.OnDecrypt(ctx, dm, edks[k.name])
			var ue *keyring.UnwrapError
			var pe *Error
			switch {
			case !errors.As(err, &ue) || errors.Is(err, keyring.ErrNoMatchingKey) || !errors.As(err, &pe) || !strings.Contains(err.Error(), "CKR_OBJECT_HANDLE_INVALID"):
				t.Errorf("%s, replaced %v: %v; want a *keyring.UnwrapError naming the PKCS #11 error", k.name, replace, err)
			case !replace && !errors.Is(err, ErrKeyNotFound):
				t.Errorf("%s, deleted: %v; want ErrKeyNotFound", k.name, err)
			case replace && !strings.Contains(err.Error(), "not the key that was opened"):
				t.Errorf("%s, replaced: %v; want an error saying the key was replaced", k.name, err)
			}
			t.Logf("%s, replaced %v: %v", k.name, replace, err)
			saysOnce(t, fmt.Sprintf("%s, replaced %v", k.name, replace), err, strings.ToLower(k.name[:2]))
			// RSA wraps in Go, with the public key it has.
			if err := k.kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); k.name != "RSA" && err == nil {
				t.Errorf("%s, replaced %v: OnEncrypt wrapped a data key with another key", k.name, replace)
			}
		}
	}
}

// openAESAndRSA makes an AES key labelled "aes" and an RSA key labelled
// "rsa" on the token of cfg and opens keyrings over them, closed when the
// test ends.
func openAESAndRSA(t *testing.T, cfg Config) (*AESKeyring, *RSAKeyring) {
	t.Helper()
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
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
	return ak, rk
}

// openTestKeyrings makes an AES, an RSA and an EC key on the token of
// cfg and opens keyrings over them.
func openTestKeyrings(t *testing.T, cfg Config) []hsmKeyring {
	t.Helper()
	ak, rk := openAESAndRSA(t, cfg)
	e := cfg
	e.KeyLabel = "ec"
	if err := GenerateECKey(e, ecdh.P256()); err != nil {
		t.Fatal(err)
	}
	ek, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: newECPeer(t, ecdh.P256()).pubDER, Config: e})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ek)
	return []hsmKeyring{{"AES", ak, ak.Key().obj}, {"RSA", rk, rk.Key().obj}, {"ECDH", ek, ek.Key().obj}}
}

// wrapWithEach returns, by name, the encrypted data key that each of krs
// wrote for a new data key of suite.
func wrapWithEach(t *testing.T, krs []hsmKeyring, suite *format.Suite) map[string][]format.EncryptedDataKey {
	t.Helper()
	edks := map[string][]format.EncryptedDataKey{}
	for _, k := range krs {
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := k.kr.OnEncrypt(context.Background(), em); err != nil {
			t.Fatal(err)
		}
		edks[k.name] = em.EncryptedDataKeys
	}
	return edks
}

// deleteObjects destroys every object of the token with one of labels.
func deleteObjects(t *testing.T, cfg Config, labels ...string) {
	t.Helper()
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		for _, label := range labels {
			if err := c.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, label)}); err != nil {
				t.Fatal(err)
			}
			objs, _, err := c.FindObjects(s, 10)
			c.FindObjectsFinal(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if err := c.DestroyObject(s, o); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// TestECDHPrivateKeyReplacedUnderItsPublicKey: the EC private key is
// replaced and its public key object stays. The key found again shows the
// old public key, but the private key does not agree with it: it is not
// used.
func TestECDHPrivateKeyReplacedUnderItsPublicKey(t *testing.T) {
	cfg := newToken(t, "ec-replaced")
	cfg.KeyLabel = "ec"
	if err := GenerateECKey(cfg, ecdh.P256()); err != nil {
		t.Fatal(err)
	}
	kr, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: newECPeer(t, ecdh.P256()).pubDER, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, kr)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	if err := kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); err != nil {
		t.Fatal(err)
	}
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		c.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, "ec"), p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY)})
		objs, _, _ := c.FindObjects(s, 10)
		c.FindObjectsFinal(s)
		if len(objs) != 1 {
			t.Fatalf("%d private keys", len(objs))
		}
		if err := c.DestroyObject(s, objs[0]); err != nil {
			t.Fatal(err)
		}
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)}
		pub := []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, false), p11.NewAttribute(p11.CKA_EC_PARAMS, lookupCurve(ecdh.P256()).ecParams())}
		priv := append(keyTemplate(cfg), append(secretTemplate(), p11.NewAttribute(p11.CKA_DERIVE, true))...)
		if _, _, err := c.GenerateKeyPair(s, mech, pub, priv); err != nil {
			t.Fatal(err)
		}
	})
	err = kr.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite})
	if err == nil || !strings.Contains(err.Error(), "not the key that was opened") || !strings.Contains(err.Error(), "does not belong to the private key") {
		t.Errorf("OnEncrypt with the private key replaced: %v; want an error saying so", err)
	}
	saysOnce(t, "OnEncrypt with the private key replaced", err, "ec")
}
