//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var testCurves = []ecdh.Curve{ecdh.P256(), ecdh.P384(), ecdh.P521()}

// ecPeer is a key pair in memory, the other party of the key in the
// token: its private key as PKCS #8 PEM and its public key as DER, as the
// raw ECDH keyring takes them.
type ecPeer struct {
	priv   *ecdh.PrivateKey
	pem    []byte
	pubDER []byte
}

func newECPeer(t testing.TB, curve ecdh.Curve) ecPeer {
	t.Helper()
	priv, err := curve.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return ecPeer{priv: priv, pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pubDER: pubDER(t, priv.PublicKey())}
}

func pubDER(t testing.TB, pub *ecdh.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustRawECDH(t testing.TB, o keyring.RawECDHOptions) *keyring.RawECDH {
	t.Helper()
	kr, err := keyring.NewRawECDH(o)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// newECDHKeyrings makes an EC key on curve labelled label on the token of
// cfg, and opens over it a static keyring to peer and a discovery
// keyring.
func newECDHKeyrings(t *testing.T, cfg Config, label string, curve ecdh.Curve, peer ecPeer) (static, discovery *ECDHKeyring) {
	t.Helper()
	cfg.KeyLabel = label
	if err := GenerateECKey(cfg, curve); err != nil {
		t.Fatal(err)
	}
	static, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: curve, RecipientPublicKey: peer.pubDER, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, static)
	discovery, err = NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: curve, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, discovery)
	return static, discovery
}

// TestECDHKeyringInteroperates, on every curve: raw ECDH keyrings with the
// matching keys read the messages of both schemas of the keyring in the
// token, and it reads theirs: static to static either way, static and
// ephemeral senders to the token's discovery keyring, the token's static
// keyring to a raw discovery keyring. The encrypted data keys are the raw
// ECDH keyring's: provider id "raw-ecdh", the token's public key as
// sender.
func TestECDHKeyringInteroperates(t *testing.T) {
	cfg := newToken(t, "ecdh-keyring")
	for _, curve := range testCurves {
		name := lookupCurve(curve).name
		peer := newECPeer(t, curve)
		static, discovery := newECDHKeyrings(t, cfg, "ec "+name, curve, peer)
		if !static.Key().ExtractableSecrets() {
			t.Errorf("%s: SoftHSM2 shows the value of derived objects that are not extractable; the package doc says it does not", name)
		}
		hsmDER := pubDER(t, static.PublicKey())
		rawStatic := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: curve, SenderPrivateKey: peer.pem, RecipientPublicKey: hsmDER})
		rawEphemeral := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: curve, RecipientPublicKey: hsmDER})
		rawDiscovery := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: curve, RecipientPrivateKey: peer.pem})

		for _, c := range []struct {
			name     string
			enc, dec keyring.Keyring
		}{
			{"token static to raw static", static, rawStatic},
			{"raw static to token static", rawStatic, static},
			{"token static to itself", static, static},
			{"token static to raw discovery", static, rawDiscovery},
			{"raw ephemeral to token discovery", rawEphemeral, discovery},
			{"raw static to token discovery", rawStatic, discovery},
		} {
			t.Run(name+"/"+c.name, func(t *testing.T) { roundTrip(t, c.enc, c.dec) })
		}

		suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := static.OnEncrypt(context.Background(), em); err != nil {
			t.Fatal(err)
		}
		edk := em.EncryptedDataKeys[0]
		own := compressed(static.PublicKey())
		if edk.ProviderID != keyring.RawECDHProviderID || !bytes.HasSuffix(edk.ProviderInfo, own) || !bytes.Contains(edk.ProviderInfo, compressed(peer.priv.PublicKey())) {
			t.Errorf("%s: encrypted data key %q, info %x; want raw-ecdh from the token's key to the peer's", name, edk.ProviderID, edk.ProviderInfo)
		}
		if err := discovery.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite}); !errors.Is(err, keyring.ErrDecryptOnly) {
			t.Errorf("%s: discovery OnEncrypt: %v; want ErrDecryptOnly", name, err)
		}
	}
}

// compressed is the SEC 1 compressed form of pub, as the ECDH provider
// info holds it.
func compressed(pub *ecdh.PublicKey) []byte {
	u := pub.Bytes()
	size := (len(u) - 1) / 2
	return append([]byte{2 | u[len(u)-1]&1}, u[1:1+size]...)
}

// countDerives makes tok count its C_DeriveKey calls.
func countDerives(tok *token) *atomic.Int64 {
	var n atomic.Int64
	tok.fault = func(fn string, err error) error {
		if fn == "C_DeriveKey" {
			n.Add(1)
		}
		return err
	}
	return &n
}

// TestECDHOnlyOwnKeysTried: a message for another recipient costs no
// derivation in the token and is "no matching key"; a tampered encrypted
// data key of our own costs one and is "no matching key" too; a message
// of our own costs one derivation and decrypts; a tampered message fails
// its authentication.
func TestECDHOnlyOwnKeysTried(t *testing.T) {
	cfg := newToken(t, "ecdh-tried")
	curve := ecdh.P384()
	peer := newECPeer(t, curve)
	static, discovery := newECDHKeyrings(t, cfg, "ec", curve, peer)
	other := newECPeer(t, curve)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	ec := map[string]string{"purpose": "ecdh test"}
	wrap := func(kr keyring.Keyring) []format.EncryptedDataKey {
		em := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
		if err := kr.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		return em.EncryptedDataKeys
	}
	forOther := wrap(mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: curve, RecipientPublicKey: other.pubDER}))
	ours := wrap(mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: curve, RecipientPublicKey: pubDER(t, discovery.PublicKey())}))
	staticOurs := wrap(static)
	tamper := func(edks []format.EncryptedDataKey, at int) []format.EncryptedDataKey {
		out := format.CloneEncryptedDataKeys(edks)
		out[0].Ciphertext[at] ^= 1
		return out
	}
	for _, c := range []struct {
		name    string
		kr      keyring.Keyring
		tok     *token
		edks    []format.EncryptedDataKey
		derives int64
		ok      bool
	}{
		{"another recipient's, discovery", discovery, discovery.Key().tok, forOther, 0, false},
		{"another recipient's, static", static, static.Key().tok, forOther, 0, false},
		{"the token's static to a third key, discovery", discovery, discovery.Key().tok, staticOurs, 0, false},
		{"ours", discovery, discovery.Key().tok, ours, 1, true},
		{"ours, static", static, static.Key().tok, staticOurs, 1, true},
		{"ours, commitment tampered", discovery, discovery.Key().tok, tamper(ours, 40), 1, false},
		{"ours, wrapped key tampered", discovery, discovery.Key().tok, tamper(ours, 70), 1, false},
		{"ours, salt tampered", static, static.Key().tok, tamper(staticOurs, 0), 1, false},
	} {
		n := countDerives(c.tok)
		dm := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
		err := c.kr.OnDecrypt(ctx, dm, c.edks)
		c.tok.fault = nil
		var nm *keyring.NoMatchingKeyError
		switch {
		case c.ok && (err != nil || len(dm.PlaintextDataKey) != suite.KeyLength()):
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &nm) || dm.PlaintextDataKey != nil):
			t.Errorf("%s: %v; want a *keyring.NoMatchingKeyError", c.name, err)
		}
		if got := n.Load(); got != c.derives {
			t.Errorf("%s: %d C_DeriveKey calls; want %d", c.name, got, c.derives)
		}
	}

	// A message whose body is tampered with fails as a whole.
	client, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := client.EncryptBytes(ctx, []byte("for the token's key"), mustManager(t, static), ec)
	if err != nil {
		t.Fatal(err)
	}
	msg[len(msg)-120] ^= 1
	if _, _, err := client.DecryptBytes(ctx, msg, mustManager(t, static), ec); err == nil {
		t.Error("a tampered message decrypted")
	}
}

// derivedObjects counts the secret session objects of the process on the
// token of k.
func derivedObjects(t *testing.T, k *ECDHKey) int {
	t.Helper()
	var n int
	err := k.tok.pool.do(context.Background(), func(s p11.SessionHandle) error {
		c := k.tok.mod.ctx
		if err := c.FindObjectsInit(s, []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
			p11.NewAttribute(p11.CKA_TOKEN, false),
		}); err != nil {
			return err
		}
		objs, _, err := c.FindObjects(s, 100)
		c.FindObjectsFinal(s)
		n = len(objs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestECDHDerivedObjectsDestroyed: after derivations that succeed, that
// fail reading the value, and that panic, no derived object is left on
// the token; a failure to destroy one closes the session it is in. The
// count is checked to see an object left behind on purpose.
func TestECDHDerivedObjectsDestroyed(t *testing.T) {
	cfg := newToken(t, "ecdh-destroyed")
	cfg.MaxSessions = 2
	curve := ecdh.P256()
	peer := newECPeer(t, curve)
	static, _ := newECDHKeyrings(t, cfg, "ec", curve, peer)
	k := static.Key()
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()

	// The control: an object derived and not destroyed is found from
	// another session.
	var stray p11.ObjectHandle
	k.tok.pool.do(ctx, func(s p11.SessionHandle) error {
		tmpl := []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_GENERIC_SECRET),
			p11.NewAttribute(p11.CKA_TOKEN, false),
			p11.NewAttribute(p11.CKA_VALUE_LEN, 32),
		}
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_ECDH1_DERIVE, p11.NewECDH1DeriveParams(p11.CKD_NULL, nil, peer.priv.PublicKey().Bytes()))}
		var err error
		stray, err = k.tok.mod.ctx.DeriveKey(s, mech, k.obj.handle(), tmpl)
		if err != nil {
			t.Fatal(err)
		}
		return nil
	})
	if n := derivedObjects(t, k); n != 1 {
		t.Fatalf("a stray derived object: %d found; want 1", n)
	}
	k.tok.pool.do(ctx, func(s p11.SessionHandle) error { return k.tok.mod.ctx.DestroyObject(s, stray) })

	var edks []format.EncryptedDataKey
	for range 5 {
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := static.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		edks = append(edks, em.EncryptedDataKeys...)
		if err := static.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, em.EncryptedDataKeys); err != nil {
			t.Fatal(err)
		}
	}
	if n := derivedObjects(t, k); n != 0 {
		t.Errorf("after wrapping and unwrapping: %d derived objects left", n)
	}

	// Reading the value fails, or panics: the object is destroyed all
	// the same.
	var destroyed atomic.Int64
	for _, fail := range []string{"refused", "panic"} {
		k.tok.fault = func(fn string, err error) error {
			switch {
			case fn == "C_DestroyObject":
				destroyed.Add(1)
			case fn == "C_GetAttributeValue" && fail == "panic":
				panic("reading panicked")
			case fn == "C_GetAttributeValue":
				return p11.Error(p11.CKR_ATTRIBUTE_SENSITIVE)
			}
			return err
		}
		recovered := func() (r any) {
			defer func() { r = recover() }()
			err := static.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, edks[:1])
			var ue *keyring.UnwrapError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "reading the value") {
				t.Errorf("%s: %v; want a *keyring.UnwrapError naming the step", fail, err)
			}
			return nil
		}()
		k.tok.fault = nil
		if (recovered != nil) != (fail == "panic") {
			t.Errorf("%s: recovered %v", fail, recovered)
		}
		if n := derivedObjects(t, k); n != 0 {
			t.Errorf("%s: %d derived objects left", fail, n)
		}
	}
	if destroyed.Load() != 2 {
		t.Errorf("C_DestroyObject called %d times for the two derivations that failed; want 2", destroyed.Load())
	}

	// C_DestroyObject fails: the secret is not used, the step is named,
	// and the session is closed, which takes its objects with it.
	k.tok.fault = func(fn string, err error) error {
		if fn == "C_DestroyObject" {
			return p11.Error(p11.CKR_FUNCTION_FAILED)
		}
		return err
	}
	before := opened(k.tok.pool)
	err := static.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite})
	k.tok.fault = nil
	if err == nil || !strings.Contains(err.Error(), "destroying the derived session object") || !hasCode(err, p11.CKR_FUNCTION_FAILED) {
		t.Errorf("C_DestroyObject failing: %v; want an error naming the step and the code", err)
	}
	if err := static.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); err != nil {
		t.Fatal(err)
	}
	if opened(k.tok.pool) == before {
		t.Error("the session whose derived object was not destroyed was kept")
	}
	if n := derivedObjects(t, k); n != 0 {
		t.Errorf("%d derived objects left", n)
	}
}

// TestECDHContext: a context that has ended stops the keyring before any
// derivation, with the context's error, never a no-match.
func TestECDHContext(t *testing.T) {
	cfg := newToken(t, "ecdh-context")
	curve := ecdh.P256()
	static, _ := newECDHKeyrings(t, cfg, "ec", curve, newECPeer(t, curve))
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	em := &keyring.EncryptionMaterials{Suite: suite}
	if err := static.OnEncrypt(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n := countDerives(static.Key().tok)
	defer func() { static.Key().tok.fault = nil }()
	if err := static.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, em.EncryptedDataKeys); !errors.Is(err, context.Canceled) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("OnDecrypt with a cancelled context: %v", err)
	}
	if err := static.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); !errors.Is(err, context.Canceled) {
		t.Errorf("OnEncrypt with a cancelled context: %v", err)
	}
	if n.Load() != 0 {
		t.Errorf("%d derivations with a cancelled context", n.Load())
	}
}

// TestECDHRefusedStep: when the token refuses a step of the derivation,
// the error names the step and the PKCS #11 function and code: a key
// without CKA_DERIVE when the keyring is made; a refused template or
// value when a data key is unwrapped, where the error is a failure of the
// token, not a no-match.
func TestECDHRefusedStep(t *testing.T) {
	cfg := newToken(t, "ecdh-refused")
	nd := cfg
	nd.KeyLabel = "no-derive"
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)}
		pub := append(keyTemplate(nd), p11.NewAttribute(p11.CKA_EC_PARAMS, lookupCurve(ecdh.P256()).ecParams()))
		priv := append(keyTemplate(nd), append(secretTemplate(), p11.NewAttribute(p11.CKA_DERIVE, false), p11.NewAttribute(p11.CKA_SIGN, true))...)
		if _, _, err := c.GenerateKeyPair(s, mech, pub, priv); err != nil {
			t.Fatal(err)
		}
	})
	_, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.P256(), Config: nd})
	var pe *Error
	if !errors.As(err, &pe) || pe.Func != "C_DeriveKey" || uint(pe.Code) != p11.CKR_KEY_FUNCTION_NOT_PERMITTED {
		t.Errorf("a key without CKA_DERIVE: %v; want the *Error of C_DeriveKey", err)
	}
	for _, want := range []string{"deriving the shared secret with CKM_ECDH1_DERIVE", "C_DeriveKey", "CKR_KEY_FUNCTION_NOT_PERMITTED", "CKA_DERIVE true", `"no-derive"`} {
		if err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not say %q", err, want)
		}
	}
	t.Log(err)
	saysOnce(t, "a key without CKA_DERIVE", err, "no-derive")
	checkNoLeak(t, nd)

	curve := ecdh.P256()
	static, _ := newECDHKeyrings(t, cfg, "ec", curve, newECPeer(t, curve))
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	em := &keyring.EncryptionMaterials{Suite: suite}
	if err := static.OnEncrypt(ctx, em); err != nil {
		t.Fatal(err)
	}
	tok := static.Key().tok
	for _, c := range []struct {
		fn   string
		code uint
		step string
	}{
		{"C_DeriveKey", p11.CKR_TEMPLATE_INCONSISTENT, "deriving the shared secret"},
		{"C_DeriveKey", p11.CKR_MECHANISM_INVALID, "deriving the shared secret"},
		{"C_GetAttributeValue", p11.CKR_ATTRIBUTE_SENSITIVE, "reading the value (CKA_VALUE) of the derived session object"},
		{"C_DestroyObject", p11.CKR_DEVICE_ERROR, "destroying the derived session object"},
	} {
		tok.fault = func(fn string, err error) error {
			if fn == c.fn {
				return p11.Error(c.code)
			}
			return err
		}
		dm := &keyring.DecryptionMaterials{Suite: suite}
		err := static.OnDecrypt(ctx, dm, em.EncryptedDataKeys)
		tok.fault = nil
		var ue *keyring.UnwrapError
		var pe *Error
		if !errors.As(err, &ue) || errors.Is(err, keyring.ErrNoMatchingKey) || !errors.As(err, &pe) || pe.Func != c.fn || uint(pe.Code) != c.code ||
			!strings.Contains(err.Error(), c.step) || !strings.Contains(err.Error(), ckrNames[c.code]) || dm.PlaintextDataKey != nil {
			t.Errorf("%s refusing with %s: %v; want a *keyring.UnwrapError naming the step, function and code", c.fn, ckrNames[c.code], err)
		}
		saysOnce(t, c.fn+" refusing", err, "ec")
		if err := static.OnEncrypt(ctx, &keyring.EncryptionMaterials{Suite: suite}); err != nil {
			t.Errorf("after %s refused: %v", c.fn, err)
		}
	}
}

// TestECDHMissingMechanism: a token without CKM_ECDH1_DERIVE is refused
// when the key is opened, naming the mechanism.
func TestECDHMissingMechanism(t *testing.T) {
	// See TestMissingMechanism for the two spellings.
	noECDH := newToken(t, "no-ecdh", "slots.mechanisms = -CKM_ECDH1_DERIVE,CKM_ECDH1_DERIVE")
	noECDH.KeyLabel = "ec"
	if err := GenerateECKey(noECDH, ecdh.P256()); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenECDHKey(noECDH); !errors.Is(err, ErrMechanismNotSupported) || !strings.Contains(err.Error(), "CKM_ECDH1_DERIVE") {
		t.Errorf("a token without CKM_ECDH1_DERIVE: %v; want ErrMechanismNotSupported naming it", err)
	}
	checkNoLeak(t, noECDH)
}

// TestECDHPublicKeyChecked: a public key object that is not the private
// key's is refused when the key is opened, and a key on another curve
// than the options say is refused naming the field.
func TestECDHPublicKeyChecked(t *testing.T) {
	cfg := newToken(t, "ecdh-public")
	mm := cfg
	mm.KeyLabel = "mismatched"
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		params := lookupCurve(ecdh.P256()).ecParams()
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_EC_KEY_PAIR_GEN, nil)}
		pub := []*p11.Attribute{p11.NewAttribute(p11.CKA_TOKEN, true), p11.NewAttribute(p11.CKA_LABEL, "unused"), p11.NewAttribute(p11.CKA_EC_PARAMS, params)}
		priv := append(keyTemplate(mm), append(secretTemplate(), p11.NewAttribute(p11.CKA_DERIVE, true))...)
		if _, _, err := c.GenerateKeyPair(s, mech, pub, priv); err != nil {
			t.Fatal(err)
		}
		other, _ := ecdh.P256().GenerateKey(rand.Reader)
		point, _ := asn1.Marshal(other.PublicKey().Bytes())
		if _, err := c.CreateObject(s, append(keyTemplate(mm),
			p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
			p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_EC),
			p11.NewAttribute(p11.CKA_EC_PARAMS, params),
			p11.NewAttribute(p11.CKA_EC_POINT, point),
		)); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := OpenECDHKey(mm); err == nil || !strings.Contains(err.Error(), "does not belong to the private key") {
		t.Errorf("a public key object of another key: %v", err)
	}
	checkNoLeak(t, mm)

	p384 := cfg
	p384.KeyLabel = "p384"
	if err := GenerateECKey(p384, ecdh.P384()); err != nil {
		t.Fatal(err)
	}
	_, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.P256(), Config: p384})
	if err == nil || !strings.Contains(err.Error(), "ECDHKeyringOptions.Curve") || !strings.Contains(err.Error(), "P-384") {
		t.Errorf("a P-384 key for a P-256 keyring: %v", err)
	}
	checkNoLeak(t, p384)
	k, err := OpenECDHKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if k.Curve() != ecdh.P384() {
		t.Errorf("curve %v", k.Curve())
	}
	if _, err := k.SharedSecret(context.Background(), newECPeer(t, ecdh.P256()).priv.PublicKey()); err == nil {
		t.Error("a shared secret with a peer on another curve")
	}
	if err := GenerateECKey(p384, ecdh.P384()); err == nil || !strings.Contains(err.Error(), "already has") {
		t.Errorf("a second key under the same label: %v", err)
	}
	if err := GenerateECKey(p384, ecdh.X25519()); err == nil {
		t.Error("GenerateECKey on X25519")
	}
}

// TestECDHKeyringOptions: a missing or bad field is an error that names
// it, before any module is loaded; the functions after the options apply
// to a copy; the key is reached through a pkcs11: URI of type private, and
// one of type secret-key is refused.
func TestECDHKeyringOptions(t *testing.T) {
	nowhere := Config{ModulePath: "/nonexistent/libpkcs11.so", KeyLabel: "k"}
	der := newECPeer(t, ecdh.P256()).pubDER
	p384DER := newECPeer(t, ecdh.P384()).pubDER
	for _, tc := range []struct {
		o     ECDHKeyringOptions
		field string
	}{
		{ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Config: nowhere}, "ECDHKeyringOptions.Curve"},
		{ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.X25519(), Config: nowhere}, "ECDHKeyringOptions.Curve"},
		{ECDHKeyringOptions{Curve: ecdh.P256(), Config: nowhere}, "ECDHKeyringOptions.Schema"},
		{ECDHKeyringOptions{Schema: 7, Curve: ecdh.P256(), Config: nowhere}, "ECDHKeyringOptions.Schema"},
		{ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), Config: nowhere}, "ECDHKeyringOptions.RecipientPublicKey"},
		{ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: p384DER, Config: nowhere}, "ECDHKeyringOptions.RecipientPublicKey"},
		{ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: []byte("junk"), Config: nowhere}, "ECDHKeyringOptions.RecipientPublicKey"},
		{ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.P256(), RecipientPublicKey: der, Config: nowhere}, "ECDHKeyringOptions.RecipientPublicKey"},
	} {
		_, err := NewECDHKeyring(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "esdk/pkcs11: ") || errors.Is(err, ErrModuleNotFound) {
			t.Errorf("%+v: %v; want an error naming %s", tc.o.Schema, err, tc.field)
		}
	}
	if _, err := NewECDHKeyring(ECDHKeyringOptions{Curve: ecdh.P256()}, func(o *ECDHKeyringOptions) { o.Schema, o.Config = HSMPublicKeyDiscovery, nowhere }); !errors.Is(err, ErrModuleNotFound) {
		t.Errorf("with every field the module is the problem: %v", err)
	}

	cfg := newToken(t, "ecdh uri")
	cfg.KeyLabel, cfg.KeyID = "ec key", []byte{0xec, 1}
	if err := GenerateECKey(cfg, ecdh.P521()); err != nil {
		t.Fatal(err)
	}
	query := "?module-path=" + cfg.ModulePath + "&pin-value=" + cfg.PIN
	uri, err := ParseURI("pkcs11:token=ecdh%20uri;id=%ec%01;type=private" + query)
	if err != nil {
		t.Fatal(err)
	}
	peer := newECPeer(t, ecdh.P521())
	o := ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.P521(), Config: uri}
	kr, err := NewECDHKeyring(o, func(o *ECDHKeyringOptions) {
		o.Schema, o.RecipientPublicKey = HSMPrivateKeyToStaticPublicKey, peer.pubDER
	})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, kr)
	if o.Schema != HSMPublicKeyDiscovery || kr.Schema() != HSMPrivateKeyToStaticPublicKey {
		t.Errorf("the caller's options changed, or the function did not apply: %v, %v", o.Schema, kr.Schema())
	}
	roundTrip(t, kr, mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.PublicKeyDiscovery, Curve: ecdh.P521(), RecipientPrivateKey: peer.pem}))
	secret, err := ParseURI("pkcs11:token=ecdh%20uri;object=ec%20key;type=secret-key" + query)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPublicKeyDiscovery, Curve: ecdh.P521(), Config: secret}); err == nil || !strings.Contains(err.Error(), `"secret-key"`) {
		t.Errorf("an ECDH keyring from a secret-key URI: %v", err)
	}
	if _, err := OpenAESKey(with(cfg, "ec key", nil)); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("an EC key as AES: %v", err)
	}
}

// TestECDHConcurrent wraps and unwraps through both schemas from 16
// goroutines over few sessions; run it with -race.
func TestECDHConcurrent(t *testing.T) {
	cfg := newToken(t, "ecdh-concurrent")
	cfg.MaxSessions = 3
	curve := ecdh.P256()
	peer := newECPeer(t, curve)
	static, discovery := newECDHKeyrings(t, cfg, "ec", curve, peer)
	rawStatic := mustRawECDH(t, keyring.RawECDHOptions{Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: curve, SenderPrivateKey: peer.pem, RecipientPublicKey: pubDER(t, static.PublicKey())})
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for range 4 {
				enc, dec := keyring.Keyring(static), keyring.Keyring(rawStatic)
				if g%2 == 1 {
					enc, dec = rawStatic, discovery
				}
				em := &keyring.EncryptionMaterials{Suite: suite}
				if err := enc.OnEncrypt(ctx, em); err != nil {
					t.Error(err)
					return
				}
				dm := &keyring.DecryptionMaterials{Suite: suite}
				if err := dec.OnDecrypt(ctx, dm, em.EncryptedDataKeys); err != nil || !bytes.Equal(dm.PlaintextDataKey, em.PlaintextDataKey) {
					t.Errorf("round trip: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := derivedObjects(t, static.Key()); n != 0 {
		t.Errorf("%d derived objects left", n)
	}
}

// TestECDHShutdown: Shutdown waits for an operation in progress until its
// context ends; after it the keyring and its key refuse every operation
// with ErrClosed, and the release follows when the session comes back.
func TestECDHShutdown(t *testing.T) {
	cfg := newToken(t, "ecdh-shutdown")
	curve := ecdh.P256()
	peer := newECPeer(t, curve)
	cfg.KeyLabel = "ec"
	if err := GenerateECKey(cfg, curve); err != nil {
		t.Fatal(err)
	}
	kr, err := NewECDHKeyring(ECDHKeyringOptions{Schema: HSMPrivateKeyToStaticPublicKey, Curve: curve, RecipientPublicKey: peer.pubDER, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	em := &keyring.EncryptionMaterials{Suite: suite}
	if err := kr.OnEncrypt(context.Background(), em); err != nil {
		t.Fatal(err)
	}
	s, err := kr.Key().tok.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := kr.Shutdown(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown while a session is in use: %v; want context.Canceled", err)
	}
	if err := kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: suite}); !errors.Is(err, ErrClosed) {
		t.Errorf("OnEncrypt after Shutdown: %v", err)
	}
	if err := kr.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{Suite: suite}, em.EncryptedDataKeys); !errors.Is(err, ErrClosed) || errors.Is(err, keyring.ErrNoMatchingKey) {
		t.Errorf("OnDecrypt after Shutdown: %v", err)
	}
	if _, err := kr.Key().SharedSecret(context.Background(), peer.priv.PublicKey()); !errors.Is(err, ErrClosed) {
		t.Errorf("SharedSecret after Shutdown: %v", err)
	}
	kr.Key().tok.pool.put(s, true)
	checkNoUsers(t)
	if err := kr.Close(); err != nil {
		t.Errorf("Close after the release: %v", err)
	}
	checkNoGoroutines(t)
}
