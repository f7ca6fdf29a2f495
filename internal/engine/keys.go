// Package engine is the cryptographic core of ESDK messages: data-key
// derivation and commitment, header authentication, the AES-GCM frames of
// the body, and the ECDSA signature over the whole message.
package engine

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	"github.com/go-esdk/esdk/format"
)

// ErrAuthentication is the one error for every message whose header tag,
// frame tag, key commitment or signature does not verify.
var ErrAuthentication = errors.New("esdk: message authentication failed")

func newHash(h crypto.Hash) func() hash.Hash {
	switch h {
	case crypto.SHA256:
		return sha256.New
	case crypto.SHA384:
		return sha512.New384
	case crypto.SHA512:
		return sha512.New
	}
	panic(fmt.Sprintf("engine: no hash %v", h))
}

var (
	deriveKeyLabel = "DERIVEKEY"
	commitKeyLabel = "COMMITKEY"
)

// DeriveKeys derives the AES-GCM key of a message from its data key, and
// for committing suites the commitment key stored in the header.
func DeriveKeys(s *format.Suite, dataKey, messageID []byte) (key, commitment []byte, err error) {
	if len(dataKey) != s.KeyLength() {
		return nil, nil, fmt.Errorf("esdk: data key is %d bytes, suite %s needs %d", len(dataKey), s.ID(), s.KeyLength())
	}
	if len(messageID) != s.MessageIDLength() {
		return nil, nil, fmt.Errorf("esdk: message id is %d bytes, suite %s needs %d", len(messageID), s.ID(), s.MessageIDLength())
	}
	switch {
	case s.KDF() == format.KDFIdentity:
		return append([]byte(nil), dataKey...), nil, nil
	case !s.Committing():
		info := make([]byte, 2, 2+len(messageID))
		binary.BigEndian.PutUint16(info, uint16(s.ID()))
		info = append(info, messageID...)
		key, err = hkdf.Key(newHash(s.KDFHash()), dataKey, nil, string(info), s.KeyLength())
		return key, nil, err
	default:
		var id [2]byte
		binary.BigEndian.PutUint16(id[:], uint16(s.ID()))
		key, err = hkdf.Key(newHash(s.KDFHash()), dataKey, messageID, string(id[:])+deriveKeyLabel, s.KeyLength())
		if err != nil {
			return nil, nil, err
		}
		commitment, err = hkdf.Key(newHash(s.KDFHash()), dataKey, messageID, commitKeyLabel, format.CommitmentLength)
		return key, commitment, err
	}
}

// CheckCommitment compares a header's commitment with the derived one in
// constant time.
func CheckCommitment(derived, stored []byte) error {
	if len(derived) != len(stored) || subtle.ConstantTimeCompare(derived, stored) != 1 {
		return fmt.Errorf("%w: key commitment does not match", ErrAuthentication)
	}
	return nil
}

// NewAEAD returns AES-GCM with a 12-byte nonce and a 16-byte tag.
func NewAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// HeaderAuthAAD is the AAD of the header tag: the header body followed by
// the serialization of the required encryption-context entries, which are
// authenticated but not stored in the header.
func HeaderAuthAAD(body []byte, ec map[string]string, requiredKeys []string) ([]byte, error) {
	aad := append([]byte(nil), body...)
	if len(requiredKeys) == 0 {
		return aad, nil
	}
	req := make(map[string]string, len(requiredKeys))
	for _, k := range requiredKeys {
		v, ok := ec[k]
		if !ok {
			return nil, fmt.Errorf("esdk: required encryption context key %q has no value", k)
		}
		req[k] = v
	}
	return format.AppendEncryptionContext(aad, req)
}

// SealHeader computes a header's tag.
func SealHeader(aead cipher.AEAD, iv, aad []byte) []byte {
	return aead.Seal(nil, iv, nil, aad)
}

// OpenHeader verifies a header's tag.
func OpenHeader(aead cipher.AEAD, iv, tag, aad []byte) error {
	if _, err := aead.Open(nil, iv, tag, aad); err != nil {
		return fmt.Errorf("%w: header tag does not verify", ErrAuthentication)
	}
	return nil
}

// GenerateSigningKey makes a fresh ECDSA key on the suite's curve.
func GenerateSigningKey(s *format.Suite) (*ecdsa.PrivateKey, error) {
	if !s.Signed() {
		return nil, fmt.Errorf("esdk: suite %s is not signed", s.ID())
	}
	return ecdsa.GenerateKey(s.Curve(), rand.Reader)
}

// MarshalPublicKey encodes a signing public key as the encryption context
// stores it: the SEC1 compressed point, base64-encoded.
func MarshalPublicKey(pub *ecdsa.PublicKey) string {
	return base64.StdEncoding.EncodeToString(elliptic.MarshalCompressed(pub.Curve, pub.X, pub.Y))
}

// ParsePublicKey decodes the encryption context's public key for suite s.
func ParsePublicKey(s *format.Suite, encoded string) (*ecdsa.PublicKey, error) {
	if !s.Signed() {
		return nil, fmt.Errorf("esdk: suite %s is not signed", s.ID())
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("esdk: %s is not base64: %w", format.PublicKeyContextKey, err)
	}
	x, y := elliptic.UnmarshalCompressed(s.Curve(), raw)
	if x == nil {
		return nil, fmt.Errorf("esdk: %s is not a compressed %s point", format.PublicKeyContextKey, s.Curve().Params().Name)
	}
	return &ecdsa.PublicKey{Curve: s.Curve(), X: x, Y: y}, nil
}

// NewSignatureHash returns the running hash of a signed suite's message.
func NewSignatureHash(s *format.Suite) hash.Hash {
	return newHash(s.SignatureHash())()
}

// Sign signs the digest of a message.
func Sign(key *ecdsa.PrivateKey, h hash.Hash) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
}

// Verify checks a DER signature over a message's digest.
func Verify(key *ecdsa.PublicKey, h hash.Hash, sig []byte) error {
	if !ecdsa.VerifyASN1(key, h.Sum(nil), sig) {
		return fmt.Errorf("%w: signature does not verify", ErrAuthentication)
	}
	return nil
}
