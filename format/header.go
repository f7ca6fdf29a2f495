package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// ContentType says whether a message body is framed.
type ContentType uint8

const (
	NonFramed ContentType = 0x01
	Framed    ContentType = 0x02
)

func (c ContentType) String() string {
	switch c {
	case NonFramed:
		return "non-framed"
	case Framed:
		return "framed"
	}
	return fmt.Sprintf("content type 0x%02X", uint8(c))
}

const (
	headerTypeV1 = 0x80
	// MaxFrameLength is the largest frame length any ESDK implementation
	// accepts (Java stores it in an int).
	MaxFrameLength = 1<<31 - 1
)

// EncryptedDataKey is one wrapped copy of the data key.
type EncryptedDataKey struct {
	ProviderID   string // UTF-8, as the specification requires
	ProviderInfo []byte
	Ciphertext   []byte
}

// Header is a parsed message header. Its version is that of its suite.
type Header struct {
	Suite             *Suite
	MessageID         []byte // 16 bytes (version 1) or 32 (version 2)
	EncryptionContext map[string]string
	EncryptedDataKeys []EncryptedDataKey
	ContentType       ContentType
	FrameLength       uint32 // 0 for non-framed bodies
	SuiteData         []byte // the commitment key of committing suites
	// AuthIV is the header-authentication IV of version 1 headers (12
	// bytes, zero when written by this SDK); version 2 has no IV field.
	AuthIV  []byte
	AuthTag []byte // 16 bytes
}

// Version is the message format version: 1 or 2.
func (h *Header) Version() uint8 { return h.Suite.MessageVersion() }

// AuthLength is the length of the header-authentication fields.
func (h *Header) AuthLength() int {
	if h.Suite.MessageVersion() == 1 {
		return IVLength + TagLength
	}
	return TagLength
}

// Limits bound what parsing a header will accept. Zero values mean "no
// limit beyond the format's own".
type Limits struct {
	// MaxHeaderSize bounds the whole header in bytes.
	MaxHeaderSize int
	// MaxEncryptedDataKeys bounds the encrypted-data-key count; it is
	// checked as soon as the count is read.
	MaxEncryptedDataKeys int
}

// MarshalBody returns the header body: every field before the
// header-authentication fields. It is the AAD of the header tag.
//
// The slice has room after it for the authentication fields, so that
// appending them does not copy the body.
func (h *Header) MarshalBody() ([]byte, error) {
	return h.appendBody(make([]byte, 0, h.sizeHint()))
}

// sizeHint is the length of the complete header, authentication fields
// included, when the header is valid.
func (h *Header) sizeHint() int {
	if h.Suite == nil {
		return 0
	}
	n := 2 + 2 + len(h.MessageID) + 2 + 2 + 1 + 5 + 4 + len(h.SuiteData) + h.AuthLength()
	if len(h.EncryptionContext) > 0 {
		n += 2
		for k, v := range h.EncryptionContext {
			n += 4 + len(k) + len(v)
		}
	}
	for _, k := range h.EncryptedDataKeys {
		n += 6 + len(k.ProviderID) + len(k.ProviderInfo) + len(k.Ciphertext)
	}
	return n
}

// Marshal returns the complete header, authentication fields included.
func (h *Header) Marshal() ([]byte, error) {
	b, err := h.MarshalBody()
	if err != nil {
		return nil, err
	}
	if len(h.AuthTag) != TagLength {
		return nil, fmt.Errorf("esdk/format: header auth tag is %d bytes, want %d", len(h.AuthTag), TagLength)
	}
	if h.Suite.MessageVersion() == 1 {
		if len(h.AuthIV) != IVLength {
			return nil, fmt.Errorf("esdk/format: header auth IV is %d bytes, want %d", len(h.AuthIV), IVLength)
		}
		b = append(b, h.AuthIV...)
	}
	return append(b, h.AuthTag...), nil
}

// check validates the header body's fields. Marshal and parse share it, so
// that they accept the same headers.
func (h *Header) check() error {
	s := h.Suite
	if s == nil {
		return errors.New("header has no suite")
	}
	if len(h.MessageID) != s.MessageIDLength() {
		return fmt.Errorf("message id is %d bytes, suite %s needs %d", len(h.MessageID), s.ID(), s.MessageIDLength())
	}
	if len(h.SuiteData) != s.SuiteDataLength() {
		return fmt.Errorf("suite data is %d bytes, suite %s needs %d", len(h.SuiteData), s.ID(), s.SuiteDataLength())
	}
	if n := len(h.EncryptedDataKeys); n == 0 || n > 0xFFFF {
		return fmt.Errorf("a header holds 1 to 65535 encrypted data keys, not %d", n)
	}
	for i, k := range h.EncryptedDataKeys {
		if err := k.check(); err != nil {
			return fmt.Errorf("encrypted data key %d: %w", i, err)
		}
	}
	switch h.ContentType {
	case Framed:
		if h.FrameLength == 0 || h.FrameLength > MaxFrameLength {
			return fmt.Errorf("frame length %d is not in 1..%d", h.FrameLength, MaxFrameLength)
		}
	case NonFramed:
		if h.FrameLength != 0 {
			return fmt.Errorf("a non-framed header has frame length %d, want 0", h.FrameLength)
		}
	default:
		return fmt.Errorf("unknown %s", h.ContentType)
	}
	return nil
}

func (h *Header) appendBody(b []byte) ([]byte, error) {
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("esdk/format: %w", err)
	}
	s := h.Suite
	b = append(b, s.MessageVersion())
	if s.MessageVersion() == 1 {
		b = append(b, headerTypeV1)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(s.ID()))
	b = append(b, h.MessageID...)
	ecAt := len(b)
	b, err := AppendEncryptionContext(append(b, 0, 0), h.EncryptionContext)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(b[ecAt:], uint16(len(b)-ecAt-2))
	b = AppendEncryptedDataKeys(b, h.EncryptedDataKeys)
	b = append(b, byte(h.ContentType))
	if s.MessageVersion() == 1 {
		b = append(b, 0, 0, 0, 0, IVLength)
	}
	b = binary.BigEndian.AppendUint32(b, h.FrameLength)
	return append(b, h.SuiteData...), nil
}

// check validates one encrypted data key: every field fits its 2-byte
// length, and the provider id is UTF-8.
func (k *EncryptedDataKey) check() error {
	if max(len(k.ProviderID), len(k.ProviderInfo), len(k.Ciphertext)) > 0xFFFF {
		return errors.New("a field is longer than 65535 bytes")
	}
	if !utf8.ValidString(k.ProviderID) {
		return fmt.Errorf("provider id %.32q is not valid UTF-8", k.ProviderID)
	}
	return nil
}

// AppendEncryptedDataKey appends the serialization of k used in message
// headers: provider id, provider info and ciphertext, each after its
// 2-byte length. It panics if a field is longer than 65535 bytes; the keys
// of a parsed header always fit.
func AppendEncryptedDataKey(dst []byte, k EncryptedDataKey) []byte {
	for _, f := range [...][]byte{[]byte(k.ProviderID), k.ProviderInfo, k.Ciphertext} {
		if len(f) > 0xFFFF {
			panic(fmt.Sprintf("esdk/format: encrypted data key field of %d bytes", len(f)))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(f)))
		dst = append(dst, f...)
	}
	return dst
}

// AppendEncryptedDataKeys appends keys as a message header holds them:
// their 2-byte count, then each key as [AppendEncryptedDataKey] writes it.
// It panics if there are more than 65535 keys or a field does not fit.
func AppendEncryptedDataKeys(dst []byte, keys []EncryptedDataKey) []byte {
	if len(keys) > 0xFFFF {
		panic(fmt.Sprintf("esdk/format: %d encrypted data keys", len(keys)))
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(keys)))
	for _, k := range keys {
		dst = AppendEncryptedDataKey(dst, k)
	}
	return dst
}

// CloneEncryptedDataKeys returns a deep copy of keys whose bytes share
// one new array, so that the copy and keys can be changed apart.
func CloneEncryptedDataKeys(keys []EncryptedDataKey) []EncryptedDataKey {
	if keys == nil {
		return nil
	}
	n := 0
	for _, k := range keys {
		n += len(k.ProviderInfo) + len(k.Ciphertext)
	}
	b := make([]byte, 0, n)
	out := make([]EncryptedDataKey, len(keys))
	for i, k := range keys {
		b = append(b, k.ProviderInfo...)
		info := b[len(b)-len(k.ProviderInfo):]
		b = append(b, k.Ciphertext...)
		out[i] = EncryptedDataKey{ProviderID: k.ProviderID, ProviderInfo: info[:len(info):len(info)], Ciphertext: b[len(b)-len(k.Ciphertext) : len(b) : len(b)]}
	}
	return out
}

// ParseHeader parses a complete header from the start of b and returns it
// with the number of bytes it took. Bytes after the header are ignored.
// Every length is checked against what is left before anything sized by
// the input is allocated. The header's byte fields share b's memory.
func ParseHeader(b []byte, lim Limits) (*Header, int, error) {
	c := &cursor{b: b, max: lim.MaxHeaderSize, what: "header"}
	h, err := parseHeader(c, lim)
	if err != nil {
		return nil, 0, err
	}
	return h, c.off, nil
}

// ReadHeader reads exactly one header from r and returns it with its raw
// bytes (authentication fields included), which are what the header tag
// authenticates. It reads nothing past the header. Beyond a first 1 KiB,
// memory grows only with bytes actually read, so a hostile length field
// cannot make it allocate more than the input holds.
func ReadHeader(r io.Reader, lim Limits) (*Header, []byte, error) {
	// Most headers fit in 1 KiB: one allocation for them.
	c := &cursor{b: make([]byte, 0, 1024), r: r, max: lim.MaxHeaderSize, what: "header"}
	h, err := parseHeader(c, lim)
	if err != nil {
		return nil, nil, err
	}
	return h, c.b, nil
}

func parseHeader(c *cursor, lim Limits) (*Header, error) {
	s, err := parseSuite(c)
	if err != nil {
		return nil, err
	}
	h := &Header{Suite: s}
	if h.MessageID, err = c.next(s.MessageIDLength()); err != nil {
		return nil, err
	}
	ec, err := c.vec16()
	if err != nil {
		return nil, err
	}
	if h.EncryptionContext, err = ParseEncryptionContext(ec); err != nil {
		return nil, err
	}
	if h.EncryptedDataKeys, err = parseEncryptedDataKeys(c, lim.MaxEncryptedDataKeys); err != nil {
		return nil, err
	}
	if err := parseTail(c, h); err != nil {
		return nil, err
	}
	if err := h.check(); err != nil {
		return nil, malformed("%w", err)
	}
	return h, nil
}

// parseSuite reads the version, the type of version 1 headers and the
// suite id, and checks that the suite is written with that version.
func parseSuite(c *cursor) (*Suite, error) {
	b, err := c.next(1)
	if err != nil {
		return nil, err
	}
	version := b[0]
	if version != 1 && version != 2 {
		return nil, notESDK(version)
	}
	if version == 1 {
		if b, err = c.next(1); err != nil {
			return nil, err
		}
		if b[0] != headerTypeV1 {
			return nil, malformed("header type 0x%02X, want 0x80", b[0])
		}
	}
	id, err := c.u16()
	if err != nil {
		return nil, err
	}
	s, err := LookupSuite(SuiteID(id))
	if err != nil {
		return nil, err
	}
	if s.MessageVersion() != version {
		return nil, malformed("suite %s is written with version %d headers, not %d", s.ID(), s.MessageVersion(), version)
	}
	return s, nil
}

// parseEncryptedDataKeys reads the key count and the keys, checking the
// count against max (0 for none) before reading any key.
func parseEncryptedDataKeys(c *cursor, max int) ([]EncryptedDataKey, error) {
	count, err := c.u16()
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, malformed("header has no encrypted data keys")
	}
	if max > 0 && count > max {
		return nil, &LimitError{Limit: LimitEncryptedDataKeys, Max: int64(max), Got: int64(count)}
	}
	// Trust count for a few keys only; beyond, grow as keys arrive.
	keys := make([]EncryptedDataKey, 0, min(count, 16))
	for range count {
		var f [3][]byte
		for j := range f {
			if f[j], err = c.vec16(); err != nil {
				return nil, err
			}
		}
		keys = append(keys, EncryptedDataKey{ProviderID: string(f[0]), ProviderInfo: f[1], Ciphertext: f[2]})
	}
	return keys, nil
}

// parseTail reads the fields after the encrypted data keys: content type,
// the reserved bytes and IV length of version 1, frame length, suite data
// and the authentication fields.
func parseTail(c *cursor, h *Header) error {
	v1 := h.Suite.MessageVersion() == 1
	n := 1 + 4 + h.Suite.SuiteDataLength()
	if v1 {
		n += 5
	}
	b, err := c.next(n)
	if err != nil {
		return err
	}
	h.ContentType = ContentType(b[0])
	b = b[1:]
	if v1 {
		if b[0]|b[1]|b[2]|b[3] != 0 {
			return malformed("reserved header bytes are not zero")
		}
		if b[4] != IVLength {
			return malformed("IV length %d, want %d", b[4], IVLength)
		}
		b = b[5:]
	}
	h.FrameLength = binary.BigEndian.Uint32(b)
	h.SuiteData = b[4:]
	if v1 {
		if h.AuthIV, err = c.next(IVLength); err != nil {
			return err
		}
	}
	h.AuthTag, err = c.next(TagLength)
	return err
}

func notESDK(first byte) error {
	hint := ""
	if isBase64Start(first) {
		hint = "; it looks like base64 text: decode it first"
	}
	return fmt.Errorf("%w: first byte 0x%02X is not a known message version%s", ErrNotESDK, first, hint)
}

// isBase64Start reports whether b is how a base64-encoded ESDK message
// begins: 'A' (0x01 0x80) or 'Ag' (0x02).
func isBase64Start(b byte) bool { return b == 'A' }
