package format

import (
	"crypto"
	"crypto/elliptic"
	"fmt"
)

// SuiteID identifies an algorithm suite on the wire.
type SuiteID uint16

// The eleven algorithm suites of the AWS Encryption SDK.
const (
	AES128GCMIV12Tag16NoKDF               SuiteID = 0x0014
	AES192GCMIV12Tag16NoKDF               SuiteID = 0x0046
	AES256GCMIV12Tag16NoKDF               SuiteID = 0x0078
	AES128GCMIV12Tag16HKDFSHA256          SuiteID = 0x0114
	AES192GCMIV12Tag16HKDFSHA256          SuiteID = 0x0146
	AES256GCMIV12Tag16HKDFSHA256          SuiteID = 0x0178
	AES128GCMIV12Tag16HKDFSHA256ECDSAP256 SuiteID = 0x0214
	AES192GCMIV12Tag16HKDFSHA384ECDSAP384 SuiteID = 0x0346
	AES256GCMIV12Tag16HKDFSHA384ECDSAP384 SuiteID = 0x0378
	AES256GCMHKDFSHA512CommitKey          SuiteID = 0x0478
	AES256GCMHKDFSHA512CommitKeyECDSAP384 SuiteID = 0x0578
)

// KDF names the key-derivation function of a suite.
type KDF uint8

const (
	// KDFIdentity uses the data key as the encryption key.
	KDFIdentity KDF = iota
	// KDFHKDF derives the encryption key with HKDF over the suite's hash.
	KDFHKDF
)

// Suite describes one algorithm suite. Suites are immutable values shared
// by the whole program; obtain them with [LookupSuite] or [Suites]. Two
// suites are the same suite exactly when their pointers are equal.
type Suite struct {
	id         SuiteID
	version    uint8
	keyLen     int
	kdf        KDF
	kdfHash    crypto.Hash
	committing bool
	sigHash    crypto.Hash
	curve      elliptic.Curve
	name       string
}

// ID returns the suite's wire identifier.
func (s *Suite) ID() SuiteID { return s.id }

// MessageVersion is the header version the suite is written with (1 or 2).
func (s *Suite) MessageVersion() uint8 { return s.version }

// KeyLength is the length in bytes of the AES-GCM encryption key and of
// the data key (the key-derivation input).
func (s *Suite) KeyLength() int { return s.keyLen }

// KDF is the suite's key-derivation function.
func (s *Suite) KDF() KDF { return s.kdf }

// KDFHash is the HKDF hash, or 0 for KDFIdentity.
func (s *Suite) KDFHash() crypto.Hash { return s.kdfHash }

// Committing reports whether the suite carries a key commitment.
func (s *Suite) Committing() bool { return s.committing }

// SignatureHash is the hash of the ECDSA signature, or 0 when unsigned.
func (s *Suite) SignatureHash() crypto.Hash { return s.sigHash }

// Curve is the ECDSA curve, or nil when unsigned.
func (s *Suite) Curve() elliptic.Curve { return s.curve }

// Lengths shared by every suite.
const (
	IVLength         = 12
	TagLength        = 16
	CommitmentLength = 32 // suite data of committing suites
	messageIDLenV1   = 16
	messageIDLenV2   = 32
)

// Signed reports whether messages of this suite end with an ECDSA signature.
func (s *Suite) Signed() bool { return s.curve != nil }

// MessageIDLength is 16 for version 1 headers and 32 for version 2.
func (s *Suite) MessageIDLength() int {
	if s.version == 2 {
		return messageIDLenV2
	}
	return messageIDLenV1
}

// SuiteDataLength is the length of the header's suite data (the commitment).
func (s *Suite) SuiteDataLength() int {
	if s.committing {
		return CommitmentLength
	}
	return 0
}

// String returns the suite's name, for example "AES_256_GCM_HKDF_SHA512_COMMIT_KEY".
func (s *Suite) String() string { return s.name }

// String returns the suite id in hex and its name when known.
func (id SuiteID) String() string {
	if s, err := LookupSuite(id); err == nil {
		return fmt.Sprintf("0x%04X (%s)", uint16(id), s.name)
	}
	return fmt.Sprintf("0x%04X", uint16(id))
}

var suites = []*Suite{
	{id: AES128GCMIV12Tag16NoKDF, version: 1, keyLen: 16, kdf: KDFIdentity, name: "AES_128_GCM_IV12_TAG16_NO_KDF"},
	{id: AES192GCMIV12Tag16NoKDF, version: 1, keyLen: 24, kdf: KDFIdentity, name: "AES_192_GCM_IV12_TAG16_NO_KDF"},
	{id: AES256GCMIV12Tag16NoKDF, version: 1, keyLen: 32, kdf: KDFIdentity, name: "AES_256_GCM_IV12_TAG16_NO_KDF"},
	{id: AES128GCMIV12Tag16HKDFSHA256, version: 1, keyLen: 16, kdf: KDFHKDF, kdfHash: crypto.SHA256, name: "AES_128_GCM_IV12_TAG16_HKDF_SHA256"},
	{id: AES192GCMIV12Tag16HKDFSHA256, version: 1, keyLen: 24, kdf: KDFHKDF, kdfHash: crypto.SHA256, name: "AES_192_GCM_IV12_TAG16_HKDF_SHA256"},
	{id: AES256GCMIV12Tag16HKDFSHA256, version: 1, keyLen: 32, kdf: KDFHKDF, kdfHash: crypto.SHA256, name: "AES_256_GCM_IV12_TAG16_HKDF_SHA256"},
	{id: AES128GCMIV12Tag16HKDFSHA256ECDSAP256, version: 1, keyLen: 16, kdf: KDFHKDF, kdfHash: crypto.SHA256, sigHash: crypto.SHA256, curve: elliptic.P256(), name: "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256"},
	{id: AES192GCMIV12Tag16HKDFSHA384ECDSAP384, version: 1, keyLen: 24, kdf: KDFHKDF, kdfHash: crypto.SHA384, sigHash: crypto.SHA384, curve: elliptic.P384(), name: "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"},
	{id: AES256GCMIV12Tag16HKDFSHA384ECDSAP384, version: 1, keyLen: 32, kdf: KDFHKDF, kdfHash: crypto.SHA384, sigHash: crypto.SHA384, curve: elliptic.P384(), name: "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384"},
	{id: AES256GCMHKDFSHA512CommitKey, version: 2, keyLen: 32, kdf: KDFHKDF, kdfHash: crypto.SHA512, committing: true, name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY"},
	{id: AES256GCMHKDFSHA512CommitKeyECDSAP384, version: 2, keyLen: 32, kdf: KDFHKDF, kdfHash: crypto.SHA512, committing: true, sigHash: crypto.SHA384, curve: elliptic.P384(), name: "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"},
}

// Suites returns every supported suite, in ascending id order.
func Suites() []*Suite {
	out := make([]*Suite, len(suites))
	copy(out, suites)
	return out
}

// LookupSuite returns the suite with the given id, or an error wrapping
// [ErrUnsupportedSuite].
func LookupSuite(id SuiteID) (*Suite, error) {
	for _, s := range suites {
		if s.id == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: 0x%04X", ErrUnsupportedSuite, uint16(id))
}

// MustSuite is LookupSuite for ids known at compile time; it panics on an
// unknown id.
func MustSuite(id SuiteID) *Suite {
	s, err := LookupSuite(id)
	if err != nil {
		panic(err)
	}
	return s
}
