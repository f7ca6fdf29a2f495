package keyring

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"

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
	ec    elliptic.Curve
}

// compressedLen is the length of a compressed point.
func (c *ecdhCurve) compressedLen() int { return 1 + c.size }

// infoLen is the length of the provider info of this curve's keys.
func (c *ecdhCurve) infoLen() int { return 1 + 2*(4+c.compressedLen()) }

var ecdhCurves = []*ecdhCurve{
	{ecdh.P256(), "P-256", "p256", 32, elliptic.P256()},
	{ecdh.P384(), "P-384", "p384", 48, elliptic.P384()},
	{ecdh.P521(), "P-521", "p521", 66, elliptic.P521()},
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

// compress returns the SEC 1 compressed encoding of pub.
func (c *ecdhCurve) compress(pub *ecdh.PublicKey) []byte {
	u := pub.Bytes() // 0x04 ‖ X ‖ Y
	out := make([]byte, c.compressedLen())
	out[0] = 2 | u[len(u)-1]&1
	copy(out[1:], u[1:1+c.size])
	return out
}

// decompress parses a SEC 1 compressed point of the curve. It fails for
// anything but a point of the curve other than the identity.
func (c *ecdhCurve) decompress(b []byte) (*ecdh.PublicKey, error) {
	if len(b) != c.compressedLen() || (b[0] != 2 && b[0] != 3) {
		return nil, fmt.Errorf("not a compressed %s point", c.name)
	}
	x, y := elliptic.UnmarshalCompressed(c.ec, b)
	if x == nil {
		return nil, fmt.Errorf("not a point of %s", c.name)
	}
	u := make([]byte, 1+2*c.size)
	u[0] = 4
	x.FillBytes(u[1 : 1+c.size])
	y.FillBytes(u[1+c.size:])
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

// ecdhFixedInfo returns the KDF fixed info, which is also the AAD of the
// wrapping. sender and recipient are compressed points.
func (c *ecdhCurve) fixedInfo(sender, recipient, ec []byte) []byte {
	n := len(ecdhKDFLabel) + 1 + len(c.spec) + 1 + len(ecdhKDFPRF) + 1 + len(sender) + len(recipient) + 1 + 1 + 1 + len(ec)
	b := make([]byte, 0, n)
	b = append(b, ecdhKDFLabel...)
	b = append(b, 0)
	b = append(b, c.spec...)
	b = append(b, 0)
	b = append(b, ecdhKDFPRF...)
	b = append(b, 0)
	b = append(b, sender...)
	b = append(b, recipient...)
	b = append(b, 0, ecdhVersion, 0)
	return append(b, ec...)
}

// ecdhKDF derives the commitment key and the wrapping key from the shared
// secret z into k, in the counter-mode KDF of NIST SP 800-108 with
// HMAC-SHA384.
func ecdhKDF(k *[ecdhKDFLen]byte, z, fixedInfo, salt []byte) {
	// The PRF input, counter first: i (4) ‖ fixed info ‖ 0 ‖ salt ‖ L (4).
	in := make([]byte, 4, 4+len(fixedInfo)+1+len(salt)+4)
	in = append(in, fixedInfo...)
	in = append(in, 0)
	in = append(in, salt...)
	in = binary.BigEndian.AppendUint32(in, ecdhKDFLen*8)
	var buf [2 * sha512.Size384]byte
	out := buf[:0]
	mac := hmac.New(sha512.New384, z)
	for i := uint32(1); len(out) < ecdhKDFLen; i++ {
		if i > 1 {
			mac.Reset()
		}
		binary.BigEndian.PutUint32(in, i)
		mac.Write(in)
		out = mac.Sum(out)
	}
	copy(k[:], out)
	clear(buf[:])
}

// ecdhSeal wraps dataKey under the wrapping key derived from z and returns
// the encrypted data key's ciphertext. It clears what it derives.
func (c *ecdhCurve) seal(z, fixedInfo, dataKey []byte) ([]byte, error) {
	out := make([]byte, ecdhSaltLen+ecdhCommitLen, ecdhCiphertextPad+len(dataKey))
	salt := out[:ecdhSaltLen]
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("generating the KDF salt: %w", err)
	}
	var k [ecdhKDFLen]byte
	defer clear(k[:])
	ecdhKDF(&k, z, fixedInfo, salt)
	copy(out[ecdhSaltLen:], k[:ecdhCommitLen])
	gcm, err := newGCMKey(k[ecdhCommitLen:])
	if err != nil {
		return nil, err
	}
	var iv [rawAESIVLength]byte
	ct, err := gcm.Seal(context.Background(), iv[:], dataKey, fixedInfo)
	if err != nil {
		return nil, err
	}
	return append(out, ct...), nil
}

// open checks the commitment key of ciphertext (an encrypted data key's,
// of the right length) against the one derived from z and unwraps the data
// key. It clears what it derives.
func (c *ecdhCurve) open(z, fixedInfo, ciphertext []byte) ([]byte, error) {
	salt := ciphertext[:ecdhSaltLen]
	commit := ciphertext[ecdhSaltLen : ecdhSaltLen+ecdhCommitLen]
	var k [ecdhKDFLen]byte
	defer clear(k[:])
	ecdhKDF(&k, z, fixedInfo, salt)
	if subtle.ConstantTimeCompare(k[:ecdhCommitLen], commit) != 1 {
		return nil, errECDHCommitment
	}
	gcm, err := newGCMKey(k[ecdhCommitLen:])
	if err != nil {
		return nil, err
	}
	var iv [rawAESIVLength]byte
	key, err := gcm.Open(context.Background(), iv[:], ciphertext[ecdhSaltLen+ecdhCommitLen:], fixedInfo)
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
	ec, err := format.MarshalEncryptionContext(m.EncryptionContext)
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
	s, r := c.compress(sender), c.compress(recipient)
	ct, err := c.seal(z, c.fixedInfo(s, r, ec), gen.PlaintextDataKey)
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
	ec, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", p.Keyring, err)
	}
	own := c.compress(p.Own)
	var peer []byte
	if p.Peer != nil {
		peer = c.compress(p.Peer)
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
		key, err := c.open(z, c.fixedInfo(sender, recipient, ec), edk.Ciphertext)
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
