// Package engine is the cryptographic core of ESDK messages. NewSealer
// and NewOpener are the whole key schedule of one message in one call
// each: data-key derivation and commitment, header authentication and the
// signature. Below them, FrameCipher seals and opens single body parts
// apart from any I/O, and FrameReader reads body parts without decrypting
// them.
//
// The engine's errors reach users only through package envelope, so they
// read as envelope's ("esdk: ...") and wrap its sentinels.
package engine

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	_ "crypto/sha256" // crypto.SHA256.New
	_ "crypto/sha512" // crypto.SHA384.New, crypto.SHA512.New
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sync"

	"github.com/go-esdk/esdk/format"
)

// ErrAuthentication is the one error for every message whose header tag,
// frame tag, key commitment or signature does not verify.
var ErrAuthentication = errors.New("esdk: message authentication failed")

var (
	deriveKeyLabel = "DERIVEKEY"
	commitKeyLabel = "COMMITKEY"
)

// deriveKeys derives the AES-GCM key of a message from its data key, and
// for committing suites the commitment key stored in the header. The
// returned key is the caller's to wipe.
func deriveKeys(s *format.Suite, dataKey, messageID []byte) (key, commitment []byte, err error) {
	if len(dataKey) != s.KeyLength() {
		return nil, nil, fmt.Errorf("esdk: data key is %d bytes, suite %s needs %d", len(dataKey), s.ID(), s.KeyLength())
	}
	if len(messageID) != s.MessageIDLength() {
		return nil, nil, fmt.Errorf("esdk: message id is %d bytes, suite %s needs %d", len(messageID), s.ID(), s.MessageIDLength())
	}
	if s.KDF() == format.KDFIdentity {
		return append([]byte(nil), dataKey...), nil, nil
	}
	hs := getKDFHashes(s.KDFHash())
	defer hs.put()
	if !s.Committing() {
		info := make([]byte, 2, 2+len(messageID))
		binary.BigEndian.PutUint16(info, uint16(s.ID()))
		info = append(info, messageID...)
		key, err = hkdf.Key(hs.new, dataKey, nil, string(info), s.KeyLength())
		return key, nil, err
	}
	var id [2]byte
	binary.BigEndian.PutUint16(id[:], uint16(s.ID()))
	// Both keys expand one pseudorandom key: HKDF-Extract once, as the
	// specification's two HKDF calls with equal salt and input key
	// material would.
	prk, err := hkdf.Extract(hs.new, dataKey, messageID)
	if err != nil {
		return nil, nil, err
	}
	defer clear(prk)
	key, err = hkdf.Expand(hs.new, prk, string(id[:])+deriveKeyLabel, s.KeyLength())
	if err != nil {
		return nil, nil, err
	}
	commitment, err = hkdf.Expand(hs.new, prk, commitKeyLabel, format.CommitmentLength)
	if err != nil {
		clear(key)
		return nil, nil, err
	}
	return key, commitment, nil
}

// kdfHashes lends the digests of one key derivation. HKDF asks for eight
// of them for a committing message (two per HMAC and one to learn the
// hash's size per expansion), which were most of the allocations of a
// small message. A set is reused through kdfPool: each digest is reset
// when lent, and wiped when the derivation is over and the set goes back,
// since the HMACs that held them are gone by then.
type kdfHashes struct {
	hash crypto.Hash
	ds   []hash.Hash
	n    int // digests lent in this derivation
	new  func() hash.Hash
}

var kdfPool sync.Pool

// getKDFHashes returns a set of digests of hash h for one derivation.
func getKDFHashes(h crypto.Hash) *kdfHashes {
	hs, _ := kdfPool.Get().(*kdfHashes)
	if hs == nil {
		hs = &kdfHashes{ds: make([]hash.Hash, 0, 8)}
		hs.new = hs.lend
	}
	if hs.hash != h {
		hs.hash, hs.ds = h, hs.ds[:0]
	}
	return hs
}

// lend returns the next digest of the set, reset.
func (hs *kdfHashes) lend() hash.Hash {
	if hs.n == len(hs.ds) {
		hs.ds = append(hs.ds, hs.hash.New())
	} else {
		hs.ds[hs.n].Reset()
	}
	hs.n++
	return hs.ds[hs.n-1]
}

// put wipes the digests lent and returns the set to the pool. Reset
// leaves the buffered bytes of a partial block (a data key, say) in
// place; writing a block less one byte of zeros buffers over them.
func (hs *kdfHashes) put() {
	var zeros [128 - 1]byte
	for _, d := range hs.ds[:hs.n] {
		d.Reset()
		d.Write(zeros[:d.BlockSize()-1])
		d.Reset()
	}
	hs.n = 0
	kdfPool.Put(hs)
}

// checkCommitment compares a header's commitment with the derived one in
// constant time.
func checkCommitment(derived, stored []byte) error {
	if len(derived) != len(stored) || subtle.ConstantTimeCompare(derived, stored) != 1 {
		return fmt.Errorf("%w: key commitment does not match", ErrAuthentication)
	}
	return nil
}

// newAEAD returns AES-GCM with a 12-byte nonce and a 16-byte tag under
// key, and wipes key: the cipher keeps its own key schedule.
func newAEAD(key []byte) (cipher.AEAD, error) {
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// messageKeys derives the body AEAD of a message and its commitment; the
// derived key bytes are wiped before it returns.
func messageKeys(s *format.Suite, dataKey, messageID []byte) (cipher.AEAD, []byte, error) {
	key, commitment, err := deriveKeys(s, dataKey, messageID)
	if err != nil {
		return nil, nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, nil, err
	}
	return aead, commitment, nil
}

// headerAuthAAD is the AAD of the header tag: the header body followed by
// the serialization of the required encryption-context entries, which are
// authenticated but not stored in the header. Without required entries
// it is body itself.
func headerAuthAAD(body []byte, required map[string]string) ([]byte, error) {
	if len(required) == 0 {
		return body, nil
	}
	return format.AppendEncryptionContext(slices.Clip(body), required)
}

// headerIV is the IV of the header tag: zero, written in version 1
// headers and implied in version 2.
var headerIV [format.IVLength]byte

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

// checkCurve reports whether a signing or verification key fits suite s:
// present, on the suite's curve, for signed suites; absent otherwise.
func checkCurve(s *format.Suite, what string, curve elliptic.Curve) error {
	switch {
	case !s.Signed() && curve != nil:
		return fmt.Errorf("esdk: suite %s is not signed, yet the materials hold a %s key", s.ID(), what)
	case s.Signed() && curve == nil:
		return fmt.Errorf("esdk: suite %s is signed and the materials have no %s key", s.ID(), what)
	case s.Signed() && curve != s.Curve():
		return fmt.Errorf("esdk: %s key is on curve %s, suite %s signs with %s", what, curve.Params().Name, s.ID(), s.Curve().Params().Name)
	}
	return nil
}

// signatureHash returns the running hash of a signed suite's message, or
// nil for an unsigned suite.
func signatureHash(s *format.Suite) hash.Hash {
	if !s.Signed() {
		return nil
	}
	return s.SignatureHash().New()
}

// sign signs the digest of a message.
func sign(key *ecdsa.PrivateKey, h hash.Hash) ([]byte, error) {
	return ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
}

// verify checks a DER signature over a message's digest.
func verify(key *ecdsa.PublicKey, h hash.Hash, sig []byte) error {
	if !ecdsa.VerifyASN1(key, h.Sum(nil), sig) {
		return fmt.Errorf("%w: signature does not verify", ErrAuthentication)
	}
	return nil
}
