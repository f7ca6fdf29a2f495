//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"

	p11 "github.com/miekg/pkcs11"
)

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestAESKeyMatchesGo seals and opens with imported key material in the
// token and with crypto/cipher, each opening what the other sealed, for
// every key size and with and without AAD.
func TestAESKeyMatchesGo(t *testing.T) {
	cfg := newToken(t, "aes-match")
	for _, size := range []int{16, 24, 32} {
		material := randBytes(size)
		kc := cfg
		kc.KeyLabel = "imported-" + string(rune('0'+size/8))
		importAESKey(t, kc, material)
		k, err := OpenAESKey(kc)
		if err != nil {
			t.Fatal(err)
		}
		closeAtEnd(t, k)
		if k.Size() != size {
			t.Errorf("Size() = %d, want %d", k.Size(), size)
		}
		block, _ := aes.NewCipher(material)
		gcm, _ := cipher.NewGCM(block)
		for _, aad := range [][]byte{nil, []byte("encryption context")} {
			iv, pt := randBytes(12), randBytes(32)
			ct, err := k.Seal(context.Background(), iv, pt, aad)
			if err != nil {
				t.Fatal(err)
			}
			if want := gcm.Seal(nil, iv, pt, aad); !bytes.Equal(ct, want) {
				t.Fatalf("AES-%d: token sealed %x, crypto/cipher %x", size*8, ct, want)
			}
			ct = gcm.Seal(nil, iv, pt, aad)
			got, err := k.Open(context.Background(), iv, ct, aad)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("AES-%d: token opened Go's ciphertext: %x, %v", size*8, got, err)
			}
		}
	}
}

// TestAESKeyOpenFailsAuthentication flips bits of the ciphertext, tag, IV
// and AAD, and uses another key: every failure is ErrAuthentication.
func TestAESKeyOpenFailsAuthentication(t *testing.T) {
	cfg := newToken(t, "aes-auth")
	cfg.KeyLabel = "k1"
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.KeyLabel = "k2"
	if err := GenerateAESKey(other, 32); err != nil {
		t.Fatal(err)
	}
	k, err := OpenAESKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	k2, err := OpenAESKey(other)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k2)
	ctx := context.Background()
	iv, pt, aad := randBytes(12), randBytes(32), []byte("aad")
	ct, err := k.Seal(ctx, iv, pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	cases := map[string]func() ([]byte, error){
		"ciphertext": func() ([]byte, error) { return k.Open(ctx, iv, flip(ct, 0), aad) },
		"tag":        func() ([]byte, error) { return k.Open(ctx, iv, flip(ct, len(ct)-1), aad) },
		"iv":         func() ([]byte, error) { return k.Open(ctx, flip(iv, 5), ct, aad) },
		"aad":        func() ([]byte, error) { return k.Open(ctx, iv, ct, flip(aad, 1)) },
		"no aad":     func() ([]byte, error) { return k.Open(ctx, iv, ct, nil) },
		"short":      func() ([]byte, error) { return k.Open(ctx, iv, ct[:15], aad) },
		"other key":  func() ([]byte, error) { return k2.Open(ctx, iv, ct, aad) },
	}
	for name, open := range cases {
		got, err := open()
		if !errors.Is(err, ErrAuthentication) || got != nil {
			t.Errorf("%s: got %x, %v; want ErrAuthentication", name, got, err)
		}
		saysOnce(t, name, err, "k1")
	}
	// The session of a failed decryption is not reused in a bad state.
	got, err := k.Open(ctx, iv, ct, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open after failures: %x, %v", got, err)
	}
	if _, err := k.Seal(ctx, randBytes(11), pt, aad); err == nil {
		t.Error("Seal accepted an 11-byte IV")
	}
	if _, err := k.Open(ctx, nil, ct, aad); err == nil {
		t.Error("Open accepted an empty IV")
	}
}

// TestAESKeyRandomIVs checks that Seal uses the IV it is given: two seals
// under different IVs differ, under the same IV agree.
func TestAESKeyUsesGivenIV(t *testing.T) {
	cfg := newToken(t, "aes-iv")
	cfg.KeyLabel = "k"
	if err := GenerateAESKey(cfg, 16); err != nil {
		t.Fatal(err)
	}
	k, err := OpenAESKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	ctx := context.Background()
	pt, iv := randBytes(32), randBytes(12)
	a, _ := k.Seal(ctx, iv, pt, nil)
	b, _ := k.Seal(ctx, iv, pt, nil)
	c, err := k.Seal(ctx, randBytes(12), pt, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatalf("same IV gave %x and %x, another IV %x", a, b, c)
	}
}

// TestGeneratedKeysStayInToken checks the attributes of generated keys:
// sensitive, not extractable, and the value cannot be read.
func TestGeneratedKeysStayInToken(t *testing.T) {
	cfg := newToken(t, "gen")
	aesCfg, rsaCfg := cfg, cfg
	aesCfg.KeyLabel, aesCfg.KeyID = "aes", []byte{1}
	rsaCfg.KeyLabel, rsaCfg.KeyID = "rsa", []byte{2}
	if err := GenerateAESKey(aesCfg, 32); err != nil {
		t.Fatal(err)
	}
	if err := GenerateRSAKey(rsaCfg, 2048); err != nil {
		t.Fatal(err)
	}
	if err := GenerateAESKey(aesCfg, 32); err == nil {
		t.Error("GenerateAESKey made a second key with the same label and id")
	}
	if err := GenerateAESKey(aesCfg, 20); err == nil {
		t.Error("GenerateAESKey accepted a 20-byte key")
	}
	withRWSession(t, cfg, func(ctx *p11.Ctx, s p11.SessionHandle) {
		for _, k := range []struct {
			cfg          Config
			class, ktype uint
			secret       uint
		}{
			{aesCfg, p11.CKO_SECRET_KEY, p11.CKK_AES, p11.CKA_VALUE},
			{rsaCfg, p11.CKO_PRIVATE_KEY, p11.CKK_RSA, p11.CKA_PRIVATE_EXPONENT},
		} {
			if err := ctx.FindObjectsInit(s, []*p11.Attribute{
				p11.NewAttribute(p11.CKA_CLASS, k.class),
				p11.NewAttribute(p11.CKA_LABEL, k.cfg.KeyLabel),
			}); err != nil {
				t.Fatal(err)
			}
			objs, _, err := ctx.FindObjects(s, 2)
			ctx.FindObjectsFinal(s)
			if err != nil || len(objs) != 1 {
				t.Fatalf("%s: found %d objects, %v", k.cfg.KeyLabel, len(objs), err)
			}
			a, err := ctx.GetAttributeValue(s, objs[0], []*p11.Attribute{
				p11.NewAttribute(p11.CKA_SENSITIVE, nil),
				p11.NewAttribute(p11.CKA_EXTRACTABLE, nil),
				p11.NewAttribute(p11.CKA_TOKEN, nil),
				p11.NewAttribute(p11.CKA_PRIVATE, nil),
				p11.NewAttribute(p11.CKA_ID, nil),
			})
			if err != nil {
				t.Fatal(err)
			}
			if !attrBool(a[0]) || attrBool(a[1]) || !attrBool(a[2]) || !attrBool(a[3]) {
				t.Errorf("%s: sensitive %v, extractable %v, token %v, private %v", k.cfg.KeyLabel, a[0].Value, a[1].Value, a[2].Value, a[3].Value)
			}
			if !bytes.Equal(a[4].Value, k.cfg.KeyID) {
				t.Errorf("%s: CKA_ID %x, want %x", k.cfg.KeyLabel, a[4].Value, k.cfg.KeyID)
			}
			_, err = ctx.GetAttributeValue(s, objs[0], []*p11.Attribute{p11.NewAttribute(k.secret, nil)})
			if !hasCode(err, p11.CKR_ATTRIBUTE_SENSITIVE) {
				t.Errorf("%s: reading the secret value gave %v, want CKR_ATTRIBUTE_SENSITIVE", k.cfg.KeyLabel, err)
			}
		}
	})
}
