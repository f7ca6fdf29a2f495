package keystore

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
)

// newUUID returns a random (version 4) UUID in its canonical form.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errorf("generating a UUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b), nil
}

// formatUUID writes b as 8-4-4-4-12 lowercase hex digits.
func formatUUID(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

var errUUIDForm = errors.New("not a UUID in canonical form (8-4-4-4-12 lowercase hex digits)")

// parseUUID returns the 16 bytes of a UUID in canonical lowercase form,
// the form every branch key store writes its versions in. Other spellings
// are refused: a message names its version by these 16 bytes, and the
// store item by the canonical string of them, so any other spelling of a
// version could never be found again.
func parseUUID(s string) ([16]byte, error) {
	var b [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, errUUIDForm
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return b, errUUIDForm
		}
	}
	hex.Decode(b[0:4], []byte(s[0:8]))
	hex.Decode(b[4:6], []byte(s[9:13]))
	hex.Decode(b[6:8], []byte(s[14:18]))
	hex.Decode(b[8:10], []byte(s[19:23]))
	hex.Decode(b[10:16], []byte(s[24:36]))
	return b, nil
}
