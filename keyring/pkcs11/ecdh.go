//go:build cgo

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"
)

// ecCurve is what this package needs to know of a curve.
type ecCurve struct {
	curve ecdh.Curve
	name  string
	oid   asn1.ObjectIdentifier // the named curve of CKA_EC_PARAMS
	size  int                   // field size in bytes: the shared secret's length
}

var ecCurves = []*ecCurve{
	{ecdh.P256(), "P-256", asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, 32},
	{ecdh.P384(), "P-384", asn1.ObjectIdentifier{1, 3, 132, 0, 34}, 48},
	{ecdh.P521(), "P-521", asn1.ObjectIdentifier{1, 3, 132, 0, 35}, 66},
}

// lookupCurve returns the description of c, or nil when it is not P-256,
// P-384 or P-521.
func lookupCurve(c ecdh.Curve) *ecCurve {
	for _, ci := range ecCurves {
		if ci.curve == c {
			return ci
		}
	}
	return nil
}

// ecParams returns the CKA_EC_PARAMS of the curve: the DER of its object
// identifier.
func (c *ecCurve) ecParams() []byte {
	b, err := asn1.Marshal(c.oid)
	if err != nil {
		panic(err) // constant input
	}
	return b
}

// parseECParams returns the curve that a CKA_EC_PARAMS value names.
func parseECParams(b []byte) (*ecCurve, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(b, &oid)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("CKA_EC_PARAMS is not the object identifier of a named curve (explicit curve parameters are not supported)")
	}
	for _, c := range ecCurves {
		if c.oid.Equal(oid) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("CKA_EC_PARAMS names curve %v; want P-256, P-384 or P-521", oid)
}

// parseECPoint reads a CKA_EC_POINT value of the curve: the DER OCTET
// STRING of an uncompressed point, as PKCS #11 says, or the bare point,
// as some tokens give it. It fails for anything but a point of the curve
// other than the identity.
func (c *ecCurve) parseECPoint(b []byte) (*ecdh.PublicKey, error) {
	point := b
	if n := 1 + 2*c.size; len(b) != n || b[0] != 4 {
		var inner []byte
		rest, err := asn1.Unmarshal(b, &inner)
		if err != nil || len(rest) != 0 {
			return nil, errors.New("CKA_EC_POINT is neither a DER OCTET STRING nor a bare point")
		}
		point = inner
	}
	pub, err := c.curve.NewPublicKey(point)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT is not an uncompressed point of %s other than the identity: %w", c.name, err)
	}
	return pub, nil
}

// ECDHKey is an elliptic-curve private key (P-256, P-384 or P-521) in a
// token, for ECDH key agreement with CKM_ECDH1_DERIVE, with its public key
// read from the token. It is safe for concurrent use.
//
// PKCS #11 has no call that returns the result of a key derivation:
// C_DeriveKey always makes an object. So [ECDHKey.SharedSecret] derives
// the shared secret (CKD_NULL: the x-coordinate of the shared point, at
// the field size, which is what the ESDK's KDF takes) into a session
// object (CKA_TOKEN false, a CKK_GENERIC_SECRET of the field size,
// CKA_SENSITIVE false), reads its CKA_VALUE and destroys it, however the
// call ends; should C_DestroyObject fail, the call fails and its session
// is closed, which destroys every session object of it. The ESDK's KDF
// (NIST SP 800-108 counter mode with HMAC-SHA384 over the ESDK's fixed
// information) is no mechanism that tokens commonly have (PKCS #11 3.0's
// CKM_SP800_108_COUNTER_KDF is not in SoftHSM2), so the shared secret
// comes out of the token, once per data key, and is cleared after use;
// the private key never does.
//
// The derived object is made not extractable (CKA_EXTRACTABLE false) when
// the token shows the value of such an object, and extractable only when
// it does not: SoftHSM2 refuses to show the value of a key that is
// sensitive or not extractable (CKR_ATTRIBUTE_SENSITIVE). [OpenECDHKey]
// finds out which, once, with a test derivation, and
// [ECDHKey.ExtractableSecrets] says.
type ECDHKey struct {
	tok   *token
	obj   *object
	cfg   Config // the key's label and id, to find its public key object
	curve *ecCurve
	pub   *ecdh.PublicKey
	// extractable says that the token shows the value of derived objects
	// only when they are extractable.
	extractable bool
	desc        string
}

// OpenECDHKey logs in to the token cfg names and finds the elliptic-curve
// private key (class CKO_PRIVATE_KEY, type CKK_EC, on P-256, P-384 or
// P-521) there. Its curve comes from the private key's CKA_EC_PARAMS; its
// public key from the private key's CKA_EC_POINT or, where the token does
// not show one there (SoftHSM2 does not), from the CKA_EC_POINT of the
// public key object with the same label and id, which must be on the same
// curve. The token must list CKM_ECDH1_DERIVE. Before it returns, it
// derives one shared secret in the token with a fresh key pair of its
// own and checks it against crypto/ecdh: a key that may not derive
// (CKA_DERIVE false), a token that refuses a step, or a public key that is
// not the private key's, is an error here, and the error of a refused
// step names it and the PKCS #11 function and code. Close releases it.
//
// When the token later drops the key's handle while the process is still
// logged in, the key is looked up again once, and used only if it has the
// same public key and passes the same check. When the login itself was
// lost, operations fail with an error matching ErrLoginLost until the
// process logs in again.
func OpenECDHKey(cfg Config) (*ECDHKey, error) {
	if err := cfg.check("private"); err != nil {
		return nil, err
	}
	tok, err := openToken(cfg)
	if err != nil {
		return nil, err
	}
	k, err := openECDHKey(tok, cfg)
	if err != nil {
		tok.close()
		return nil, err
	}
	return k, nil
}

func openECDHKey(tok *token, cfg Config) (*ECDHKey, error) {
	if err := tok.requireMechanism(p11.CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE"); err != nil {
		return nil, err
	}
	ctx := context.Background()
	h, err := tok.findKey(ctx, cfg, p11.CKO_PRIVATE_KEY, p11.CKK_EC)
	if err != nil {
		return nil, err
	}
	k := &ECDHKey{tok: tok, cfg: Config{KeyLabel: cfg.KeyLabel, KeyID: cfg.KeyID}}
	k.desc = fmt.Sprintf("EC %s on token %q", cfg.keyString(), tok.label)
	if k.curve, k.pub, err = k.inspect(ctx, h); err != nil {
		return nil, &keyError{k.desc, err}
	}
	k.desc = fmt.Sprintf("ECDH %s %s on token %q", k.curve.name, cfg.keyString(), tok.label)
	// Not extractable first; extractable only if the token needs it to
	// show the value.
	err = k.selfTest(ctx, h)
	if hasCode(err, p11.CKR_ATTRIBUTE_SENSITIVE) && errors.Is(err, errReadStep) {
		k.extractable = true
		if err2 := k.selfTest(ctx, h); err2 != nil {
			return nil, &keyError{k.desc, errorf("%w (and with CKA_EXTRACTABLE false: %v)", err2, err)}
		}
		err = nil
	}
	if err != nil {
		return nil, &keyError{k.desc, err}
	}
	k.obj = newObject(tok, cfg, p11.CKO_PRIVATE_KEY, p11.CKK_EC, h)
	k.obj.same = k.same
	return k, nil
}

// inspect returns the curve and the public key of the EC private key h.
// Its errors do not name the key.
func (k *ECDHKey) inspect(ctx context.Context, h p11.ObjectHandle) (*ecCurve, *ecdh.PublicKey, error) {
	a, err := k.tok.attrs(ctx, h, p11.CKA_EC_PARAMS)
	if err != nil {
		return nil, nil, errorf("reading the curve: %w", err)
	}
	c, err := parseECParams(a[0].Value)
	if err != nil {
		return nil, nil, errorf("%w", err)
	}
	if a, err := k.tok.attrs(ctx, h, p11.CKA_EC_POINT); err == nil && len(a[0].Value) > 0 {
		pub, err := c.parseECPoint(a[0].Value)
		if err != nil {
			return nil, nil, errorf("%w", err)
		}
		return c, pub, nil
	}
	// Not shown on the private key: the public key object's.
	ph, err := k.tok.findOne(ctx, k.cfg, p11.CKO_PUBLIC_KEY, p11.CKK_EC)
	if err != nil {
		return nil, nil, errorf("the token shows no public key for it (no CKA_EC_POINT on the private key): %w", err)
	}
	a, err = k.tok.attrs(ctx, ph, p11.CKA_EC_PARAMS, p11.CKA_EC_POINT)
	if err != nil {
		return nil, nil, errorf("reading the public key object: %w", err)
	}
	pc, err := parseECParams(a[0].Value)
	if err == nil && pc != c {
		err = fmt.Errorf("the public key is on %s, the private key on %s", pc.name, c.name)
	}
	if err != nil {
		return nil, nil, errorf("the public key object: %w", err)
	}
	pub, err := c.parseECPoint(a[1].Value)
	if err != nil {
		return nil, nil, errorf("the public key object: %w", err)
	}
	return c, pub, nil
}

// selfTest derives a shared secret with the private key h and a fresh
// key pair, and checks it against the one crypto/ecdh computes with the
// key's public key. Its errors do not name the key.
func (k *ECDHKey) selfTest(ctx context.Context, h p11.ObjectHandle) error {
	eph, err := k.curve.curve.GenerateKey(rand.Reader)
	if err != nil {
		return errorf("generating a test key pair: %w", err)
	}
	want, err := eph.ECDH(k.pub)
	if err != nil {
		return errorf("%w", err)
	}
	defer clear(want)
	var got []byte
	err = k.tok.pool.do(ctx, func(s p11.SessionHandle) error {
		var err error
		got, err = k.derive(s, h, eph.PublicKey())
		return err
	})
	defer clear(got)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return errorf("the key derived a wrong shared secret with a test key pair: the public key the token shows does not belong to the private key")
	}
	return nil
}

// same reports why h, the EC private key found again, may not be the key
// opened.
func (k *ECDHKey) same(ctx context.Context, h p11.ObjectHandle) error {
	c, pub, err := k.inspect(ctx, h)
	switch {
	case err != nil:
		return err
	case c != k.curve || !pub.Equal(k.pub):
		return errors.New("its public key differs")
	}
	// The public key object may have stayed while the private key was
	// replaced: the private key must agree with it.
	return k.selfTest(ctx, h)
}

// The steps of a derivation, named in errors when the token refuses one.
var (
	errDeriveStep  = errors.New("deriving the shared secret with CKM_ECDH1_DERIVE (KDF CKD_NULL, the peer's uncompressed point) into a session object")
	errReadStep    = errors.New("reading the value (CKA_VALUE) of the derived session object")
	errDestroyStep = errors.New("destroying the derived session object")
)

// stepError is a step of the derivation that failed. It does not name the
// key (see keyError).
type stepError struct {
	step error
	hint string
	err  error
}

func (e *stepError) Error() string {
	msg := fmt.Sprintf("%s%v: %v", errPrefix, e.step, unprefixed(e.err))
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

func (e *stepError) Unwrap() []error { return []error{e.step, e.err} }

// derive computes the shared secret of the private key h and peer in
// session s (see ECDHKey), and destroys the derived object before it
// returns, whatever happens.
func (k *ECDHKey) derive(s p11.SessionHandle, h p11.ObjectHandle, peer *ecdh.PublicKey) (z []byte, err error) {
	params := p11.NewECDH1DeriveParams(p11.CKD_NULL, nil, peer.Bytes())
	mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDH1_DERIVE, params)}
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_GENERIC_SECRET),
		p11.NewAttribute(p11.CKA_TOKEN, false),
		p11.NewAttribute(p11.CKA_SENSITIVE, false),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, k.extractable),
		p11.NewAttribute(p11.CKA_VALUE_LEN, k.curve.size),
	}
	d, err := k.tok.deriveKey(s, mech, h, tmpl)
	if err != nil {
		e := &stepError{step: errDeriveStep, err: ckrErr("C_DeriveKey", err)}
		switch {
		case hasCode(err, p11.CKR_KEY_FUNCTION_NOT_PERMITTED):
			e.hint = "the private key must allow derivation: CKA_DERIVE true"
		case hasCode(err, p11.CKR_TEMPLATE_INCONSISTENT, p11.CKR_TEMPLATE_INCOMPLETE, p11.CKR_ATTRIBUTE_VALUE_INVALID, p11.CKR_ATTRIBUTE_TYPE_INVALID):
			e.hint = fmt.Sprintf("the template of the derived object: CKO_SECRET_KEY, CKK_GENERIC_SECRET, CKA_TOKEN false, CKA_SENSITIVE false, CKA_EXTRACTABLE %v, CKA_VALUE_LEN %d", k.extractable, k.curve.size)
		}
		return nil, e
	}
	defer func() {
		if derr := k.tok.destroyObject(s, d); derr != nil {
			clear(z)
			z = nil
			// The error closes the session, and with it the object.
			err = errors.Join(err, &stepError{step: errDestroyStep, err: ckrErr("C_DestroyObject", derr)})
		}
	}()
	a, err := k.tok.getAttributeValue(s, d, []*p11.Attribute{p11.NewAttribute(p11.CKA_VALUE, nil)})
	if err != nil {
		e := &stepError{step: errReadStep, err: ckrErr("C_GetAttributeValue", err)}
		if hasCode(err, p11.CKR_ATTRIBUTE_SENSITIVE) && k.extractable {
			e.hint = "the derived object is not sensitive and is extractable, and still the token does not show its value"
		}
		return nil, e
	}
	z = a[0].Value
	if len(z) != k.curve.size {
		clear(z)
		return nil, errorf("the token derived a %d-byte shared secret, want %d for %s", len(z), k.curve.size, k.curve.name)
	}
	return z, nil
}

// Curve returns the key's curve: ecdh.P256(), ecdh.P384() or ecdh.P521().
func (k *ECDHKey) Curve() ecdh.Curve { return k.curve.curve }

// PublicKey returns the public key of the private key, which is the key
// to give the other party.
func (k *ECDHKey) PublicKey() *ecdh.PublicKey { return k.pub }

// ExtractableSecrets reports whether the token needs the derived session
// objects to be extractable (CKA_EXTRACTABLE true) to show their value.
func (k *ECDHKey) ExtractableSecrets() bool { return k.extractable }

// String names the key and its token.
func (k *ECDHKey) String() string { return k.desc }

// SharedSecret computes in the token the ECDH shared secret of the private
// key and peer, a public key on the key's curve: the x-coordinate of the
// shared point, at the curve's field size (32, 48 or 66 bytes), which
// keyring.WrapECDH takes and keyring.ECDHParty.SharedSecret returns. The
// caller should clear it after use. ctx bounds the wait for a session.
// When the token refuses a step, the error names it and wraps the
// *Error of the PKCS #11 function.
func (k *ECDHKey) SharedSecret(ctx context.Context, peer *ecdh.PublicKey) ([]byte, error) {
	z, err := k.sharedSecret(ctx, peer)
	if err != nil {
		return nil, &keyError{k.desc, err}
	}
	return z, nil
}

// sharedSecret is SharedSecret with errors that do not name the key, for
// a caller that does (the ECDH keyring, whose name says it).
func (k *ECDHKey) sharedSecret(ctx context.Context, peer *ecdh.PublicKey) ([]byte, error) {
	if peer == nil || peer.Curve() != k.curve.curve {
		return nil, errorf("the peer public key is not on %s", k.curve.name)
	}
	var z []byte
	err := k.obj.do(ctx, func(s p11.SessionHandle, h p11.ObjectHandle) error {
		var err error
		z, err = k.derive(s, h, peer)
		return err
	})
	if err != nil {
		clear(z)
		return nil, err
	}
	return z, nil
}

// Shutdown closes the key: operations that have not begun, and those
// waiting for a session, fail with ErrClosed. It waits for those in
// progress, until ctx ends; then it closes the key's sessions, and logs out
// and finalizes the module when no other key of the process uses them
// (see [AESKey.Shutdown]).
func (k *ECDHKey) Shutdown(ctx context.Context) error { return k.tok.shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer.
func (k *ECDHKey) Close() error { return k.tok.close() }
