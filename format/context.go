package format

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ReservedPrefix starts every encryption-context key the SDK reserves for
// itself; callers may not supply such keys.
const ReservedPrefix = "aws-crypto-"

// PublicKeyContextKey holds the base64 compressed signing public key of
// messages with a signed suite.
const PublicKeyContextKey = "aws-crypto-public-key"

// maxContextSize is the largest serialized encryption context.
const maxContextSize = 0xFFFF

// MarshalEncryptionContext returns the canonical serialization of ec: the
// entry count, then each key and value with 2-byte lengths, sorted by key.
// An empty context serializes to no bytes at all.
func MarshalEncryptionContext(ec map[string]string) ([]byte, error) {
	return AppendEncryptionContext(nil, ec)
}

// AppendEncryptionContext appends the canonical serialization of ec to dst.
func AppendEncryptionContext(dst []byte, ec map[string]string) ([]byte, error) {
	if len(ec) == 0 {
		return dst, nil
	}
	if len(ec) > 0xFFFF {
		return nil, fmt.Errorf("%w: encryption context has %d entries, at most 65535 fit", ErrLimitExceeded, len(ec))
	}
	// One pass over the map gathers, checks and measures the entries;
	// they are then sorted by key.
	type entry struct{ k, v string }
	var small [8]entry // room for most contexts without allocating
	entries := small[:0]
	size := 2
	for k, v := range ec {
		if len(k) > 0xFFFF || len(v) > 0xFFFF {
			return nil, fmt.Errorf("%w: encryption context entry %.32q is longer than 65535 bytes", ErrLimitExceeded, k)
		}
		if err := checkContextEntry(k, v); err != nil {
			return nil, fmt.Errorf("esdk/format: %w", err)
		}
		size += 4 + len(k) + len(v)
		entries = append(entries, entry{k, v})
	}
	if size > maxContextSize {
		return nil, fmt.Errorf("%w: encryption context serializes to %d bytes, at most %d fit", ErrLimitExceeded, size, maxContextSize)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	b := dst[start:]
	binary.BigEndian.PutUint16(b, uint16(len(ec)))
	b = b[2:]
	for _, e := range entries {
		binary.BigEndian.PutUint16(b, uint16(len(e.k)))
		b = b[2+copy(b[2:], e.k):]
		binary.BigEndian.PutUint16(b, uint16(len(e.v)))
		b = b[2+copy(b[2:], e.v):]
	}
	return dst, nil
}

// ParseEncryptionContext parses a serialized encryption context. It
// rejects duplicate keys, invalid UTF-8 and trailing bytes. Entries out of
// canonical order are accepted (old JavaScript ESDKs sorted keys by
// locale), so a context that parses marshals back to the same bytes only
// when its entries were in canonical order.
func ParseEncryptionContext(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return map[string]string{}, nil
	}
	if len(b) > maxContextSize {
		return nil, malformed("encryption context of %d bytes exceeds %d", len(b), maxContextSize)
	}
	c := &cursor{b: b, what: "encryption context"}
	n, err := c.u16()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, malformed("encryption context has a count of 0 but is not empty")
	}
	// Each entry takes at least 4 bytes: the count cannot exceed what is left.
	if n*4 > len(b)-c.off {
		return nil, malformed("encryption context count %d exceeds its %d bytes", n, len(b))
	}
	ec := make(map[string]string, n)
	for i := range n {
		k, err := c.vec16()
		if err != nil {
			return nil, err
		}
		v, err := c.vec16()
		if err != nil {
			return nil, err
		}
		key, value := string(k), string(v)
		if err := checkContextEntry(key, value); err != nil {
			return nil, malformed("%w", err)
		}
		ec[key] = value
		if len(ec) != i+1 {
			return nil, malformed("encryption context has duplicate key %.32q", key)
		}
	}
	if c.off != len(b) {
		return nil, malformed("encryption context has %d trailing bytes", len(b)-c.off)
	}
	return ec, nil
}

// checkContextEntry is the check of one context entry that marshalling
// and parsing share.
func checkContextEntry(k, v string) error {
	if !utf8.ValidString(k) || !utf8.ValidString(v) {
		return fmt.Errorf("encryption context entry %.32q is not valid UTF-8", k)
	}
	return nil
}
