package keyring

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"filippo.io/nistec"

	"github.com/go-esdk/esdk/format"
)

// The provider ids of the ECDH keyrings' encrypted data keys. Both have the
// same wire format: an ECDH keyring of any kind reads the encrypted data
// keys of the others.
const (
	// RawECDHProviderID is written by the raw ECDH keyring ([RawECDH])
	// and by keyrings over a private key in an HSM.
	RawECDHProviderID = "raw-ecdh"
	// KMSECDHProviderID is written by the AWS KMS ECDH keyrings, whose
	// private key stays in AWS KMS.
	KMSECDHProviderID = "aws-kms-ecdh"
)

// The ECDH wire format, as the AWS Encryption SDK specification's raw ECDH
// keyring and key agreement schemas define it and the other ESDKs write it.
//
// Provider info: version (1) ‖ recipient public key length (4) ‖
// recipient public key ‖ sender public key length (4) ‖ sender public
// key, both keys SEC 1 compressed points.
//
// Ciphertext: KDF salt (32) ‖ commitment key (32) ‖ AES-256-GCM
// ciphertext of the data key ‖ tag (16).
//
// The KDF is NIST SP 800-108 counter mode with HMAC-SHA384 keyed with the
// shared secret Z: for i = 1, 2 the PRF input is i (4) ‖ fixed info ‖ 0x00
// ‖ salt ‖ 512 (4, the output length in bits); the 96 bytes are cut to 64:
// the commitment key, then the wrapping key. Fixed info is
// "ecdh-key-derivation" 0 curve 0 "HMAC_SHA384" 0 sender key ‖ recipient
// key 0 version 0 serialized encryption context. It is also the AAD of the
// wrapping, whose IV is 12 zero bytes: every wrapping key is used once.
const (
	ecdhVersion       = 1
	ecdhSaltLen       = 32
	ecdhCommitLen     = 32
	ecdhWrapKeyLen    = 32
	ecdhKDFLen        = ecdhCommitLen + ecdhWrapKeyLen
	ecdhCiphertextPad = ecdhSaltLen + ecdhCommitLen + rawAESTagLen // ciphertext bytes besides the wrapped key
	ecdhKDFLabel      = "ecdh-key-derivation"
	ecdhKDFPRF        = "HMAC_SHA384"
)

// ecdhCurve is what the wire format needs to know of a curve.
type ecdhCurve struct {
	curve ecdh.Curve
	name  string // for people: "P-256"
	spec  string // in the fixed info: "p256"
	size  int    // field size in bytes: the shared secret and the x-coordinate
	// uncompress returns the uncompressed encoding of a compressed point,
	// or an error when it is not one of a point of the curve.
	uncompress func(compressed []byte) ([]byte, error)
}

// maxCompressedLen is the length of the longest compressed point, P-521's.
const maxCompressedLen = 1 + 66

// compressedLen is the length of a compressed point.
func (c *ecdhCurve) compressedLen() int { return 1 + c.size }

// infoLen is the length of the provider info of this curve's keys.
func (c *ecdhCurve) infoLen() int { return 1 + 2*(4+c.compressedLen()) }

var ecdhCurves = []*ecdhCurve{
	{ecdh.P256(), "P-256", "p256", 32, uncompressWith(nistec.NewP256Point)},
	{ecdh.P384(), "P-384", "p384", 48, uncompressWith(nistec.NewP384Point)},
	{ecdh.P521(), "P-521", "p521", 66, uncompressWith(nistec.NewP521Point)},
}

// uncompressWith returns the uncompress function of the curve of the
// points newPoint makes.
//
// The wire format stores public keys compressed, and crypto/ecdh takes
// them uncompressed only. filippo.io/nistec is the exported copy of the
// standard library's own NIST curves (those behind crypto/ecdh and
// crypto/elliptic), whose SetBytes takes compressed points: a
// constant-time square root in the field, then one inversion to encode
// the point. crypto/elliptic.UnmarshalCompressed runs the same code inside
// and converts the coordinates through math/big, which costs six
// allocations more a key and nothing else; the ECDH itself stays in
// crypto/ecdh, within Go's FIPS 140-3 module.
func uncompressWith[P interface {
	SetBytes([]byte) (P, error)
	Bytes() []byte
}](newPoint func() P) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		p, err := newPoint().SetBytes(b)
		if err != nil {
			return nil, err
		}
		return p.Bytes(), nil
	}
}

// lookupCurve returns the description of c, which must be P-256, P-384 or
// P-521.
func lookupCurve(c ecdh.Curve) (*ecdhCurve, error) {
	if c == nil {
		return nil, errors.New("no curve")
	}
	for _, ci := range ecdhCurves {
		if ci.curve == c {
			return ci, nil
		}
	}
	return nil, fmt.Errorf("curve %v is not supported: want ecdh.P256(), ecdh.P384() or ecdh.P521()", c)
}

// curveOf returns the description of the curve of pub.
func curveOf(pub *ecdh.PublicKey) (*ecdhCurve, error) {
	if pub == nil {
		return nil, errors.New("no public key")
	}
	return lookupCurve(pub.Curve())
}

// appendCompressed appends the SEC 1 compressed encoding of pub to dst.
func (c *ecdhCurve) appendCompressed(dst []byte, pub *ecdh.PublicKey) []byte {
	u := pub.Bytes() // 0x04 ‖ X ‖ Y
	dst = append(dst, 2|u[len(u)-1]&1)
	return append(dst, u[1:1+c.size]...)
}

// decompress parses a SEC 1 compressed point of the curve. It fails for
// anything but a point of the curve other than the identity.
func (c *ecdhCurve) decompress(b []byte) (*ecdh.PublicKey, error) {
	if len(b) != c.compressedLen() || (b[0] != 2 && b[0] != 3) {
		return nil, fmt.Errorf("not a compressed %s point", c.name)
	}
	u, err := c.uncompress(b)
	if err != nil {
		return nil, fmt.Errorf("not a point of %s", c.name)
	}
	return c.curve.NewPublicKey(u)
}

// ParseECDHPublicKey parses a public key of curve (ecdh.P256(),
// ecdh.P384() or ecdh.P521()) from its DER-encoded X.509
// SubjectPublicKeyInfo, the encoding the ECDH keyrings of every ESDK take
// and AWS KMS GetPublicKey returns. It fails for a key of another curve or
// kind, for a point that is not on the curve or is the identity, and for
// trailing data.
func ParseECDHPublicKey(curve ecdh.Curve, der []byte) (*ecdh.PublicKey, error) {
	c, err := lookupCurve(curve)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: %w", err)
	}
	pub, err := c.parsePublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: %w", err)
	}
	return pub, nil
}

func (c *ecdhCurve) parsePublicKey(der []byte) (*ecdh.PublicKey, error) {
	if bytes.HasPrefix(bytes.TrimSpace(der), []byte("-----BEGIN")) {
		return nil, errors.New("public key is PEM; want the DER bytes of a SubjectPublicKeyInfo (the base64 between the PEM lines, decoded)")
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parsing the DER SubjectPublicKeyInfo: %w", err)
	}
	var pub *ecdh.PublicKey
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		if pub, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
	case *ecdh.PublicKey:
		pub = k
	default:
		return nil, fmt.Errorf("public key is a %T, not an elliptic-curve key", k)
	}
	if pub.Curve() != c.curve {
		return nil, fmt.Errorf("public key is on %s, not %s", curveName(pub.Curve()), c.name)
	}
	return pub, nil
}

// curveName names any ecdh.Curve for errors.
func curveName(c ecdh.Curve) string {
	if ci, err := lookupCurve(c); err == nil {
		return ci.name
	}
	return fmt.Sprint(c)
}

// kdfInput is the PRF input of the KDF for one curve and encryption
// context, counter first: i (4) ‖ fixed info ‖ 0 ‖ salt ‖ L (4), where
// the fixed info is also the AAD of the wrapping. The sender and
// recipient keys (a curve's compressed points have one length) and the
// salt sit at fixed offsets and are set for each encrypted data key, so
// one allocation serves every key a call tries; the PRF's output goes in
// the spare capacity after it.
type kdfInput struct {
	b     []byte
	keys  int // offset of the sender key, followed by the recipient key
	n     int // compressed point length
	fixed int // end of the fixed info
}

// newKDFInput returns the PRF input for ec, with zero keys and salt.
func (c *ecdhCurve) newKDFInput(ec map[string]string) (kdfInput, error) {
	n := c.compressedLen()
	ecLen := 2 // the serialized context's length, or an upper bound for an empty one
	for k, v := range ec {
		ecLen += 4 + len(k) + len(v)
	}
	size := 4 + len(ecdhKDFLabel) + 1 + len(c.spec) + 1 + len(ecdhKDFPRF) + 1 + 2*n + 3 + ecLen + 1 + ecdhSaltLen + 4
	b := make([]byte, 4, size+2*sha512.Size384)
	b = append(b, ecdhKDFLabel...)
	b = append(b, 0)
	b = append(b, c.spec...)
	b = append(b, 0)
	b = append(b, ecdhKDFPRF...)
	b = append(b, 0)
	keys := len(b)
	b = append(b, make([]byte, 2*n)...)
	b = append(b, 0, ecdhVersion, 0)
	b, err := format.AppendEncryptionContext(b, ec)
	if err != nil {
		return kdfInput{}, err
	}
	fixed := len(b)
	b = append(b, 0)
	b = append(b, make([]byte, ecdhSaltLen)...)
	b = binary.BigEndian.AppendUint32(b, ecdhKDFLen*8)
	return kdfInput{b: slices.Grow(b, 2*sha512.Size384), keys: keys, n: n, fixed: fixed}, nil
}

// setKeys sets the compressed sender and recipient public keys.
func (in *kdfInput) setKeys(sender, recipient []byte) {
	copy(in.b[in.keys:in.keys+in.n], sender)
	copy(in.b[in.keys+in.n:in.keys+2*in.n], recipient)
}

// setSalt sets the KDF salt.
func (in *kdfInput) setSalt(salt []byte) {
	copy(in.b[in.fixed+1:in.fixed+1+ecdhSaltLen], salt)
}

// fixedInfo returns the KDF fixed info, the AAD of the wrapping.
func (in *kdfInput) fixedInfo() []byte { return in.b[4:in.fixed] }

// derive derives the commitment key and the wrapping key from the shared
// secret z into k, in the counter-mode KDF of NIST SP 800-108 with
// HMAC-SHA384.
func (in *kdfInput) derive(k *[ecdhKDFLen]byte, z []byte) {
	out := in.b[len(in.b):len(in.b)] // room for two outputs
	mac := hmac.New(sha512.New384, z)
	for i := uint32(1); len(out) < ecdhKDFLen; i++ {
		if i > 1 {
			mac.Reset()
		}
		binary.BigEndian.PutUint32(in.b, i)
		mac.Write(in.b)
		out = mac.Sum(out)
	}
	copy(k[:], out)
	clear(out)
}

// ecdhIV is the IV of every wrapping: 12 zero bytes, since each wrapping
// key is derived with a fresh salt and used once. Never written.
var ecdhIV [rawAESIVLength]byte

// seal wraps dataKey under the wrapping key derived from z with a fresh
// salt and returns the encrypted data key's ciphertext. It clears what it
// derives.
func (c *ecdhCurve) seal(z []byte, in *kdfInput, dataKey []byte) ([]byte, error) {
	out := make([]byte, ecdhSaltLen+ecdhCommitLen, ecdhCiphertextPad+len(dataKey))
	salt := out[:ecdhSaltLen]
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("generating the KDF salt: %w", err)
	}
	in.setSalt(salt)
	var k [ecdhKDFLen]byte
	defer clear(k[:])
	in.derive(&k, z)
	copy(out[ecdhSaltLen:], k[:ecdhCommitLen])
	gcm, err := newGCMKey(k[ecdhCommitLen:])
	if err != nil {
		return nil, err
	}
	return gcm.aead.Seal(out, ecdhIV[:], dataKey, in.fixedInfo()), nil
}

// open checks the commitment key of ciphertext (an encrypted data key's,
// of the right length) against the one derived from z and unwraps the data
// key. It clears what it derives.
func (c *ecdhCurve) open(z []byte, in *kdfInput, ciphertext []byte) ([]byte, error) {
	in.setSalt(ciphertext[:ecdhSaltLen])
	commit := ciphertext[ecdhSaltLen : ecdhSaltLen+ecdhCommitLen]
	var k [ecdhKDFLen]byte
	defer clear(k[:])
	in.derive(&k, z)
	if subtle.ConstantTimeCompare(k[:ecdhCommitLen], commit) != 1 {
		return nil, errECDHCommitment
	}
	gcm, err := newGCMKey(k[ecdhCommitLen:])
	if err != nil {
		return nil, err
	}
	key, err := gcm.aead.Open(nil, ecdhIV[:], ciphertext[ecdhSaltLen+ecdhCommitLen:], in.fixedInfo())
	if err != nil {
		return nil, fmt.Errorf("unwrapping the data key: %w", err)
	}
	return key, nil
}

var errECDHCommitment = errors.New("the commitment key differs: another shared secret, or another encryption context")

// ecdhInfo returns the provider info of a data key wrapped for recipient by
// sender (compressed points).
func ecdhInfo(sender, recipient []byte) []byte {
	b := make([]byte, 0, 1+4+len(recipient)+4+len(sender))
	b = append(b, ecdhVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(recipient)))
	b = append(b, recipient...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(sender)))
	return append(b, sender...)
}

// parseInfo returns the compressed sender and recipient public keys of the
// provider info of an ECDH encrypted data key for keys on this curve, and
// false when info is not one (another version, another curve, another
// layout).
func (c *ecdhCurve) parseInfo(info []byte) (sender, recipient []byte, ok bool) {
	n := c.compressedLen()
	if len(info) != c.infoLen() || info[0] != ecdhVersion {
		return nil, nil, false
	}
	if binary.BigEndian.Uint32(info[1:]) != uint32(n) || binary.BigEndian.Uint32(info[5+n:]) != uint32(n) {
		return nil, nil, false
	}
	return info[9+n:], info[5 : 5+n], true
}

// isECDHProviderID reports whether id is that of an ECDH keyring.
func isECDHProviderID(id string) bool { return id == RawECDHProviderID || id == KMSECDHProviderID }

// WrapECDH wraps the plaintext data key of m, generating it first when m
// has none, for the recipient public key under a key derived from z, the
// ECDH shared secret of the sender's private key and the recipient's
// public key, and appends the encrypted data key, with provider id
// providerID ([RawECDHProviderID] or [KMSECDHProviderID]), to
// m.EncryptedDataKeys. The encryption context of m is bound in the
// derivation and authenticated by the wrapping. On error m is unchanged.
//
// z is the x-coordinate of the shared point at the curve's field size (32,
// 48 or 66 bytes), which crypto/ecdh, AWS KMS DeriveSharedSecret and
// PKCS #11 CKM_ECDH1_DERIVE with CKD_NULL return. WrapECDH clears z before
// it returns, whatever happens.
//
// It is the wire format shared by the raw, AWS KMS and PKCS #11 ECDH
// keyrings, for keyrings that compute the shared secret elsewhere; the raw
// ECDH keyring ([RawECDH]) is the one to use for keys in memory.
func WrapECDH(m *EncryptionMaterials, providerID string, sender, recipient *ecdh.PublicKey, z []byte) error {
	defer clear(z)
	if !isECDHProviderID(providerID) {
		return fmt.Errorf("esdk/keyring: ECDH provider id is %q, want %q or %q", providerID, RawECDHProviderID, KMSECDHProviderID)
	}
	c, err := curveOf(recipient)
	if err != nil {
		return fmt.Errorf("esdk/keyring: ECDH recipient: %w", err)
	}
	if s, err := curveOf(sender); err != nil || s != c {
		return fmt.Errorf("esdk/keyring: ECDH sender public key is not on the recipient's curve %s", c.name)
	}
	if len(z) != c.size {
		return fmt.Errorf("esdk/keyring: ECDH shared secret is %d bytes, want %d for %s", len(z), c.size, c.name)
	}
	in, err := c.newKDFInput(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: ECDH: %w", err)
	}
	// The data key is set on m only once it is wrapped.
	gen := EncryptionMaterials{Suite: m.Suite, PlaintextDataKey: m.PlaintextDataKey}
	if err := GenerateDataKey(&gen); err != nil {
		return err
	}
	if err := CheckDataKey(m.Suite, gen.PlaintextDataKey); err != nil {
		return err
	}
	var sb, rb [maxCompressedLen]byte
	s, r := c.appendCompressed(sb[:0], sender), c.appendCompressed(rb[:0], recipient)
	in.setKeys(s, r)
	ct, err := c.seal(z, &in, gen.PlaintextDataKey)
	if err != nil {
		return fmt.Errorf("esdk/keyring: ECDH: %w", err)
	}
	m.PlaintextDataKey = gen.PlaintextDataKey
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   providerID,
		ProviderInfo: ecdhInfo(s, r),
		Ciphertext:   ct,
	})
	return nil
}

// ECDHParty is the decrypting side of an ECDH keyring, for [UnwrapECDH]:
// the public key of the private key it holds, the other party's public key
// when it talks with one party only, and the means to compute shared
// secrets with its private key.
type ECDHParty struct {
	// Keyring names the keyring in errors, such as `AWS KMS ECDH key
	// "arn:..."`.
	Keyring string
	// Own is the public key of the private key behind SharedSecret.
	// Required.
	Own *ecdh.PublicKey
	// Peer is the other party's static public key. When it is set, the
	// encrypted data keys tried are those exchanged between Own and Peer
	// in either direction, as the static schemas of every ESDK do, and
	// the shared secret is computed with Peer. When it is nil (the
	// discovery schemas) the keys tried are those whose recipient is Own,
	// from any sender, and the shared secret is computed with the sender
	// public key the message names.
	Peer *ecdh.PublicKey
	// SharedSecret returns the ECDH shared secret of the private key and
	// peer, in the form [WrapECDH] describes. [UnwrapECDH] clears every
	// secret it returns. Required.
	SharedSecret func(ctx context.Context, peer *ecdh.PublicKey) ([]byte, error)
}

// UnwrapECDH sets m.PlaintextDataKey from the first of edks that an ECDH
// keyring (raw, AWS KMS or PKCS #11) wrote between the public keys p
// accepts and that unwraps under m's encryption context. Only those
// encrypted data keys are tried: the shared secret is never computed for
// another recipient's. When none unwraps it returns a [*NoMatchingKeyError]
// whose causes say why each tried key failed (another shared secret or
// encryption context, a malformed key) or, when none was tried, whose ECDH
// keys the message holds; but when p.SharedSecret failed for one of them
// (a key service or an HSM that is down, a shared secret of the wrong
// length) it returns an [*UnwrapError], which does not match
// [ErrNoMatchingKey], with every key's error, the provider's reachable
// with errors.Is and errors.As. An error of p.SharedSecret that matches
// ErrNoMatchingKey counts as "not mine".
//
// It is the decrypting half of the wire format of [WrapECDH].
func UnwrapECDH(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey, p ECDHParty) error {
	if m.PlaintextDataKey != nil {
		return ErrDataKeyAlreadySet
	}
	if m.Suite == nil {
		return errNoSuite
	}
	c, err := curveOf(p.Own)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: ECDHParty.Own: %w", p.Keyring, err)
	}
	if p.Peer != nil && p.Peer.Curve() != c.curve {
		return fmt.Errorf("esdk/keyring: %s: ECDHParty.Peer is on %s, not %s", p.Keyring, curveName(p.Peer.Curve()), c.name)
	}
	if p.SharedSecret == nil {
		return fmt.Errorf("esdk/keyring: %s: ECDHParty.SharedSecret is required", p.Keyring)
	}
	in, err := c.newKDFInput(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", p.Keyring, err)
	}
	// The keys are compared compressed, as the provider info holds them;
	// the static schemas compute the shared secret with p.Peer as it is,
	// and only discovery decompresses the sender's key.
	var ownBuf, peerBuf [maxCompressedLen]byte
	own := c.appendCompressed(ownBuf[:0], p.Own)
	var peer []byte
	if p.Peer != nil {
		peer = c.appendCompressed(peerBuf[:0], p.Peer)
	}
	var causes []error
	others, otherCurves := 0, 0
	failed := false // p.SharedSecret failed: the key provider, not the message
	for i, edk := range edks {
		if !isECDHProviderID(edk.ProviderID) {
			continue
		}
		sender, recipient, ok := c.parseInfo(edk.ProviderInfo)
		if !ok {
			otherCurves++
			continue
		}
		var peerKey *ecdh.PublicKey
		switch {
		case peer == nil && bytes.Equal(recipient, own):
			if peerKey, err = c.decompress(sender); err != nil {
				causes = append(causes, fmt.Errorf("encrypted data key %d: sender public key: %w", i, err))
				continue
			}
		case peer != nil && (bytes.Equal(sender, own) && bytes.Equal(recipient, peer) ||
			bytes.Equal(sender, peer) && bytes.Equal(recipient, own)):
			peerKey = p.Peer
		default:
			others++
			continue
		}
		if want := ecdhCiphertextPad + m.Suite.KeyLength(); len(edk.Ciphertext) != want {
			causes = append(causes, fmt.Errorf("encrypted data key %d: ciphertext is %d bytes, want %d", i, len(edk.Ciphertext), want))
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("esdk/keyring: %s: %w", p.Keyring, err)
		}
		z, err := p.SharedSecret(ctx, peerKey)
		if err == nil && len(z) != c.size {
			err = fmt.Errorf("shared secret is %d bytes, want %d for %s", len(z), c.size, c.name)
		}
		if err != nil {
			clear(z)
			if ctxErr := ctx.Err(); ctxErr != nil {
				return fmt.Errorf("esdk/keyring: %s: %w", p.Keyring, ctxErr)
			}
			if !errors.Is(err, ErrNoMatchingKey) {
				failed = true
			}
			causes = append(causes, fmt.Errorf("encrypted data key %d: computing the shared secret: %w", i, err))
			continue
		}
		in.setKeys(sender, recipient)
		key, err := c.open(z, &in, edk.Ciphertext)
		clear(z)
		if err == nil && len(key) != m.Suite.KeyLength() {
			clear(key)
			err = fmt.Errorf("unwrapped a %d-byte data key, want %d", len(key), m.Suite.KeyLength())
		}
		if err != nil {
			causes = append(causes, fmt.Errorf("encrypted data key %d: %w", i, err))
			continue
		}
		m.PlaintextDataKey = key
		return nil
	}
	if failed {
		return &UnwrapError{Keyring: p.Keyring, Causes: causes}
	}
	if len(causes) == 0 && others+otherCurves > 0 {
		causes = append(causes, ecdhNotForUs(others, otherCurves, c.name))
	}
	return &NoMatchingKeyError{Keyring: p.Keyring, Causes: causes}
}

// ecdhNotForUs is the hint of a message whose ECDH encrypted data keys are
// all for other keys.
func ecdhNotForUs(others, otherCurves int, curve string) error {
	switch {
	case otherCurves == 0:
		return fmt.Errorf("the message's %d ECDH encrypted data key(s) are for other public keys", others)
	case others == 0:
		return fmt.Errorf("the message's %d ECDH encrypted data key(s) are for keys on another curve than %s, or of another version", otherCurves, curve)
	}
	return fmt.Errorf("the message's %d ECDH encrypted data key(s) are for other public keys, %d more for keys on another curve than %s", others, otherCurves, curve)
}
