//go:build cgo

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"
)

// GenerateAESKey makes a new AES key of size bytes (16, 24 or 32) in the
// token cfg names, labelled cfg.KeyLabel with id cfg.KeyID, for
// [OpenAESKey] and [NewAESKeyring]. The key is a private token object, sensitive
// and not extractable: it never leaves the token. It may encrypt and
// decrypt, nothing else. A key that the configuration would select
// already is an error.
func GenerateAESKey(cfg Config, size int) error {
	if size != 16 && size != 24 && size != 32 {
		return fmt.Errorf("esdk/pkcs11: AES key size %d, want 16, 24 or 32", size)
	}
	tmpl := append(keyTemplate(cfg), secretTemplate()...)
	tmpl = append(tmpl,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE_LEN, size),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_WRAP, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	)
	return withAdminSession(cfg, "secret-key", p11.CKO_SECRET_KEY, p11.CKK_AES, func(t *token, s p11.SessionHandle) error {
		if err := t.requireMechanism(p11.CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN"); err != nil {
			return err
		}
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_KEY_GEN, nil)}
		_, err := t.mod.ctx.GenerateKey(s, mech, tmpl)
		return ckrErr("C_GenerateKey", err)
	})
}

// GenerateRSAKey makes a new RSA key pair of bits (2048 or more) with
// public exponent 65537 in the token cfg names, both halves labelled
// cfg.KeyLabel with id cfg.KeyID, for [OpenRSAKey] and [NewRSAKeyring]. The
// private key is a private token object, sensitive and not extractable,
// that may only decrypt; the public key may only encrypt.
func GenerateRSAKey(cfg Config, bits int) error {
	if bits < 2048 || bits > 16384 {
		return fmt.Errorf("esdk/pkcs11: RSA key size %d bits, want 2048 to 16384", bits)
	}
	pub := append(keyTemplate(cfg),
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_MODULUS_BITS, bits),
		p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_WRAP, false),
	)
	priv := append(keyTemplate(cfg), secretTemplate()...)
	priv = append(priv,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
	)
	return withAdminSession(cfg, "private", p11.CKO_PRIVATE_KEY, p11.CKK_RSA, func(t *token, s p11.SessionHandle) error {
		if err := t.requireMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN"); err != nil {
			return err
		}
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)}
		_, _, err := t.mod.ctx.GenerateKeyPair(s, mech, pub, priv)
		return ckrErr("C_GenerateKeyPair", err)
	})
}

// GenerateECKey makes a new elliptic-curve key pair on curve (ecdh.P256(),
// ecdh.P384() or ecdh.P521()) in the token cfg names, both halves
// labelled cfg.KeyLabel with id cfg.KeyID, for [OpenECDHKey] and
// [NewECDHKeyring]. The private key is a private token object, sensitive
// and not extractable, that may only derive (CKA_DERIVE: ECDH); the
// public key, which holds the curve and the point, may do nothing.
func GenerateECKey(cfg Config, curve ecdh.Curve) error {
	c := lookupCurve(curve)
	if c == nil {
		return fmt.Errorf("esdk/pkcs11: EC key curve %v, want ecdh.P256(), ecdh.P384() or ecdh.P521()", curve)
	}
	pub := append(keyTemplate(cfg),
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
		p11.NewAttribute(p11.CKA_PRIVATE, false),
		p11.NewAttribute(p11.CKA_EC_PARAMS, c.ecParams()),
		p11.NewAttribute(p11.CKA_VERIFY, false),
		p11.NewAttribute(p11.CKA_DERIVE, false),
	)
	priv := append(keyTemplate(cfg), secretTemplate()...)
	priv = append(priv,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
		p11.NewAttribute(p11.CKA_DERIVE, true),
		p11.NewAttribute(p11.CKA_SIGN, false),
		p11.NewAttribute(p11.CKA_DECRYPT, false),
		p11.NewAttribute(p11.CKA_UNWRAP, false),
	)
	return withAdminSession(cfg, "private", p11.CKO_PRIVATE_KEY, p11.CKK_EC, func(t *token, s p11.SessionHandle) error {
		if err := t.requireMechanism(p11.CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN"); err != nil {
			return err
		}
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)}
		_, _, err := t.mod.ctx.GenerateKeyPair(s, mech, pub, priv)
		return ckrErr("C_GenerateKeyPair", err)
	})
}

// keyTemplate is the label and id of a new token object.
func keyTemplate(cfg Config) []*p11.Attribute {
	t := []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, true)}
	if cfg.KeyLabel != "" {
		t = append(t, p11.NewAttribute(p11.CKA_LABEL, cfg.KeyLabel))
	}
	if cfg.KeyID != nil {
		t = append(t, p11.NewAttribute(p11.CKA_ID, cfg.KeyID))
	}
	return t
}

// secretTemplate keeps a secret or private key in the token: readable
// only after login, its value never readable, and never exportable.
func secretTemplate() []*p11.Attribute {
	return []*p11.Attribute{
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
	}
}

// withAdminSession opens the token cfg names with a read-write session and
// runs f in it, after checking that no key of class and keyType matches
// cfg yet.
func withAdminSession(cfg Config, kind string, class, keyType uint, f func(*token, p11.SessionHandle) error) error {
	if err := cfg.check(kind); err != nil {
		return err
	}
	cfg.MaxSessions = 1
	t, err := openToken(cfg)
	if err != nil {
		return err
	}
	defer t.close()
	if _, err := t.findKey(context.Background(), cfg, class, keyType); err == nil {
		return fmt.Errorf("esdk/pkcs11: token %q already has an %s", t.label, objectName(class, keyType, cfg))
	} else if !errors.Is(err, ErrKeyNotFound) {
		return err
	}
	s, err := t.mod.ctx.OpenSession(t.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("%w (token %q)", ckrErr("C_OpenSession", err), t.label)
	}
	defer t.mod.ctx.CloseSession(s)
	if err := f(t, s); err != nil {
		return fmt.Errorf("%w (making an %s on token %q)", err, objectName(class, keyType, cfg), t.label)
	}
	return nil
}
