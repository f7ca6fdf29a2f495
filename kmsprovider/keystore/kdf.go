package keystore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
)

// deriveWrappingKey derives the 32-byte key that wraps one data key from
// a branch key and a 16-byte salt: NIST SP 800-108 KDF in counter mode
// with HMAC-SHA-256 as the PRF, the label "aws-kms-hierarchy" and the
// salt as the context. One PRF block gives the 256 bits, so it is
//
//	HMAC-SHA-256(branch key, [0 0 0 1] || label || 0x00 || salt || [0 0 1 0])
//
// (the counter and the output length in bits, 256, as 4-byte big-endian
// integers), as in the other SDKs. dst must hold 32 bytes.
func deriveWrappingKey(dst *[32]byte, branchKey, salt []byte) {
	var in [4 + len(ProviderID) + 1 + saltLength + 4]byte
	binary.BigEndian.PutUint32(in[0:], 1)
	copy(in[4:], ProviderID)
	// in[4+len(ProviderID)] is the 0x00 separator.
	copy(in[5+len(ProviderID):], salt)
	binary.BigEndian.PutUint32(in[len(in)-4:], 256)
	h := hmac.New(sha256.New, branchKey)
	h.Write(in[:])
	h.Sum(dst[:0])
}
