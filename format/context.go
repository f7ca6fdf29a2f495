package format

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// ReservedPrefix starts every encryption-context key the SDK reserves for
// itself; callers may not supply such keys.
const ReservedPrefix = "aws-crypto-"

// PublicKeyContextKey holds the base64 compressed signing public key of
// messages with a signed suite.
const PublicKeyContextKey = "aws-crypto-public-key"

// MaxContextSize is the largest serialized encryption context.
const MaxContextSize = 65535

// SortedKeys returns the keys of ec sorted by their UTF-8 bytes, the order
// of the canonical serialization.
func SortedKeys(ec map[string]string) []string {
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	sort.Strings(keys) // Go compares strings bytewise: UTF-8 byte order.
	return keys
}

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
	size := 2
	for k, v := range ec {
		if len(k) > 0xFFFF || len(v) > 0xFFFF {
			return nil, fmt.Errorf("%w: encryption context entry %.32q is longer than 65535 bytes", ErrLimitExceeded, k)
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return nil, fmt.Errorf("esdk/format: encryption context entry %.32q is not valid UTF-8", k)
		}
		size += 4 + len(k) + len(v)
	}
	if size > MaxContextSize {
		return nil, fmt.Errorf("%w: encryption context serializes to %d bytes, at most %d fit", ErrLimitExceeded, size, MaxContextSize)
	}
	start := len(dst)
	dst = append(dst, make([]byte, size)...)
	b := dst[start:]
	binary.BigEndian.PutUint16(b, uint16(len(ec)))
	b = b[2:]
	for _, k := range SortedKeys(ec) {
		v := ec[k]
		binary.BigEndian.PutUint16(b, uint16(len(k)))
		b = b[2+copy(b[2:], k):]
		binary.BigEndian.PutUint16(b, uint16(len(v)))
		b = b[2+copy(b[2:], v):]
	}
	return dst, nil
}

// ParseEncryptionContext parses a serialized encryption context. It rejects
// duplicate keys, keys out of canonical order, invalid UTF-8 and trailing
// bytes, so that a parsed context marshals back to exactly b.
func ParseEncryptionContext(b []byte) (map[string]string, error) {
	ec := make(map[string]string)
	if len(b) == 0 {
		return ec, nil
	}
	if len(b) > MaxContextSize {
		return nil, malformed("encryption context of %d bytes exceeds %d", len(b), MaxContextSize)
	}
	r := reader{b: b}
	n, ok := r.u16()
	if !ok {
		return nil, malformed("encryption context is truncated")
	}
	if n == 0 {
		return nil, malformed("encryption context has a count of 0 but is not empty")
	}
	// Each entry takes at least 4 bytes: the count cannot exceed what is left.
	if int(n)*4 > len(r.b) {
		return nil, malformed("encryption context count %d exceeds its %d bytes", n, len(b))
	}
	prev := ""
	for i := 0; i < int(n); i++ {
		k, ok1 := r.vec16()
		v, ok2 := r.vec16()
		if !ok1 || !ok2 {
			return nil, malformed("encryption context entry %d runs past the end", i)
		}
		if !utf8.Valid(k) || !utf8.Valid(v) {
			return nil, malformed("encryption context entry %d is not valid UTF-8", i)
		}
		key := string(k)
		if i > 0 && strings.Compare(prev, key) >= 0 {
			if prev == key {
				return nil, malformed("encryption context has duplicate key %.32q", key)
			}
			return nil, malformed("encryption context keys are not in sorted order")
		}
		ec[key] = string(v)
		prev = key
	}
	if len(r.b) != 0 {
		return nil, malformed("encryption context has %d trailing bytes", len(r.b))
	}
	return ec, nil
}

// reader is a minimal bounds-checked big-endian reader over a byte slice.
type reader struct{ b []byte }

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || n > len(r.b) {
		return nil, false
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out, true
}

func (r *reader) u8() (uint8, bool) {
	b, ok := r.bytes(1)
	if !ok {
		return 0, false
	}
	return b[0], true
}

func (r *reader) u16() (uint16, bool) {
	b, ok := r.bytes(2)
	if !ok {
		return 0, false
	}
	return binary.BigEndian.Uint16(b), true
}

func (r *reader) u32() (uint32, bool) {
	b, ok := r.bytes(4)
	if !ok {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}

func (r *reader) u64() (uint64, bool) {
	b, ok := r.bytes(8)
	if !ok {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

func (r *reader) vec16() ([]byte, bool) {
	n, ok := r.u16()
	if !ok {
		return nil, false
	}
	return r.bytes(int(n))
}
