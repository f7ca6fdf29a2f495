package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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
	ProviderID   string
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
func (h *Header) MarshalBody() ([]byte, error) {
	return h.appendBody(nil)
}

// Marshal returns the complete header, authentication fields included.
func (h *Header) Marshal() ([]byte, error) {
	b, err := h.appendBody(nil)
	if err != nil {
		return nil, err
	}
	return h.appendAuth(b)
}

func (h *Header) appendAuth(b []byte) ([]byte, error) {
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

func (h *Header) appendBody(b []byte) ([]byte, error) {
	s := h.Suite
	if s == nil {
		return nil, errors.New("esdk/format: header has no suite")
	}
	if len(h.MessageID) != s.MessageIDLength() {
		return nil, fmt.Errorf("esdk/format: message id is %d bytes, suite %s needs %d", len(h.MessageID), s.ID(), s.MessageIDLength())
	}
	if len(h.SuiteData) != s.SuiteDataLength() {
		return nil, fmt.Errorf("esdk/format: suite data is %d bytes, suite %s needs %d", len(h.SuiteData), s.ID(), s.SuiteDataLength())
	}
	if len(h.EncryptedDataKeys) == 0 || len(h.EncryptedDataKeys) > 0xFFFF {
		return nil, fmt.Errorf("esdk/format: a header holds 1 to 65535 encrypted data keys, not %d", len(h.EncryptedDataKeys))
	}
	switch h.ContentType {
	case Framed:
		if h.FrameLength == 0 || h.FrameLength > MaxFrameLength {
			return nil, fmt.Errorf("esdk/format: frame length %d is not in 1..%d", h.FrameLength, MaxFrameLength)
		}
	case NonFramed:
		if h.FrameLength != 0 {
			return nil, fmt.Errorf("esdk/format: a non-framed header has frame length %d, want 0", h.FrameLength)
		}
	default:
		return nil, fmt.Errorf("esdk/format: unknown %s", h.ContentType)
	}
	ec, err := MarshalEncryptionContext(h.EncryptionContext)
	if err != nil {
		return nil, err
	}
	b = append(b, s.MessageVersion())
	if s.MessageVersion() == 1 {
		b = append(b, headerTypeV1)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(s.ID()))
	b = append(b, h.MessageID...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(ec)))
	b = append(b, ec...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.EncryptedDataKeys)))
	for i, k := range h.EncryptedDataKeys {
		for _, f := range [][]byte{[]byte(k.ProviderID), k.ProviderInfo, k.Ciphertext} {
			if len(f) > 0xFFFF {
				return nil, fmt.Errorf("esdk/format: encrypted data key %d has a field of %d bytes, at most 65535 fit", i, len(f))
			}
			b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
			b = append(b, f...)
		}
	}
	b = append(b, byte(h.ContentType))
	if s.MessageVersion() == 1 {
		b = append(b, 0, 0, 0, 0, IVLength)
	}
	b = binary.BigEndian.AppendUint32(b, h.FrameLength)
	return append(b, h.SuiteData...), nil
}

// ParseHeader parses a complete header from the start of b and returns it
// with the number of bytes it took. Bytes after the header are ignored.
// Every length is checked against what is left before anything sized by
// the input is allocated.
func ParseHeader(b []byte, lim Limits) (*Header, int, error) {
	src := &sliceSource{b: b, max: lim.MaxHeaderSize}
	h, err := parseHeader(src, lim)
	if err != nil {
		return nil, 0, err
	}
	return h, src.off, nil
}

// ReadHeader reads exactly one header from r and returns it with its raw
// bytes (authentication fields included). It reads nothing past the
// header. Memory grows only with bytes actually read, so a hostile length
// field cannot make it allocate more than the input holds.
func ReadHeader(r io.Reader, lim Limits) (*Header, []byte, error) {
	src := &readerSource{r: r, max: lim.MaxHeaderSize}
	h, err := parseHeader(src, lim)
	if err != nil {
		return nil, nil, err
	}
	return h, src.raw, nil
}

// source yields the next n bytes of a header.
type source interface {
	next(n int) ([]byte, error)
}

type sliceSource struct {
	b   []byte
	off int
	max int
}

func (s *sliceSource) next(n int) ([]byte, error) {
	if s.max > 0 && s.off+n > s.max {
		return nil, &LimitError{Limit: LimitHeaderSize, Max: int64(s.max), Got: int64(s.off + n)}
	}
	if n > len(s.b)-s.off {
		return nil, malformed("header is truncated: field of %d bytes, %d left: %w", n, len(s.b)-s.off, io.ErrUnexpectedEOF)
	}
	out := s.b[s.off : s.off+n : s.off+n]
	s.off += n
	return out, nil
}

type readerSource struct {
	r   io.Reader
	raw []byte
	max int
}

// readChunk bounds each step of growth, so a claimed length is never
// allocated before its bytes arrive.
const readChunk = 32 << 10

func (s *readerSource) next(n int) ([]byte, error) {
	if s.max > 0 && len(s.raw)+n > s.max {
		return nil, &LimitError{Limit: LimitHeaderSize, Max: int64(s.max), Got: int64(len(s.raw) + n)}
	}
	start := len(s.raw)
	for need := n; need > 0; {
		step := min(need, readChunk)
		s.raw = append(s.raw, make([]byte, step)...)
		if _, err := io.ReadFull(s.r, s.raw[len(s.raw)-step:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if start == 0 && len(s.raw) == step && errors.Is(err, io.EOF) {
					return nil, malformed("empty input: %w", io.ErrUnexpectedEOF)
				}
				return nil, malformed("header is truncated: %w", io.ErrUnexpectedEOF)
			}
			return nil, fmt.Errorf("esdk/format: reading header: %w", err)
		}
		need -= step
	}
	return s.raw[start : start+n : start+n], nil
}

func parseHeader(src source, lim Limits) (*Header, error) {
	b, err := src.next(1)
	if err != nil {
		return nil, err
	}
	version := b[0]
	if version != 1 && version != 2 {
		return nil, notESDK(version)
	}
	fixed := 2
	if version == 1 {
		fixed = 3
	}
	if b, err = src.next(fixed); err != nil {
		return nil, err
	}
	if version == 1 {
		if b[0] != headerTypeV1 {
			return nil, malformed("header type 0x%02X, want 0x80", b[0])
		}
		b = b[1:]
	}
	suite, err := LookupSuite(SuiteID(binary.BigEndian.Uint16(b)))
	if err != nil {
		return nil, err
	}
	if suite.MessageVersion() != version {
		return nil, malformed("suite %s is written with version %d headers, not %d", suite.ID(), suite.MessageVersion(), version)
	}
	h := &Header{Suite: suite}
	if h.MessageID, err = src.next(suite.MessageIDLength()); err != nil {
		return nil, err
	}
	ecBytes, err := vec16(src)
	if err != nil {
		return nil, err
	}
	if h.EncryptionContext, err = ParseEncryptionContext(ecBytes); err != nil {
		return nil, err
	}
	if b, err = src.next(2); err != nil {
		return nil, err
	}
	count := int(binary.BigEndian.Uint16(b))
	if count == 0 {
		return nil, malformed("header has no encrypted data keys")
	}
	if lim.MaxEncryptedDataKeys > 0 && count > lim.MaxEncryptedDataKeys {
		return nil, &LimitError{Limit: LimitEncryptedDataKeys, Max: int64(lim.MaxEncryptedDataKeys), Got: int64(count)}
	}
	// Grow the slice as keys arrive rather than trusting count up front.
	for i := 0; i < count; i++ {
		var f [3][]byte
		for j := range f {
			if f[j], err = vec16(src); err != nil {
				return nil, err
			}
		}
		h.EncryptedDataKeys = append(h.EncryptedDataKeys, EncryptedDataKey{ProviderID: string(f[0]), ProviderInfo: f[1], Ciphertext: f[2]})
	}
	tail := 1 + 4 + suite.SuiteDataLength()
	if version == 1 {
		tail += 5
	}
	if b, err = src.next(tail); err != nil {
		return nil, err
	}
	h.ContentType = ContentType(b[0])
	b = b[1:]
	if version == 1 {
		if b[0]|b[1]|b[2]|b[3] != 0 {
			return nil, malformed("reserved header bytes are not zero")
		}
		if b[4] != IVLength {
			return nil, malformed("IV length %d, want %d", b[4], IVLength)
		}
		b = b[5:]
	}
	h.FrameLength = binary.BigEndian.Uint32(b)
	h.SuiteData = b[4:]
	switch h.ContentType {
	case Framed:
		if h.FrameLength == 0 {
			return nil, malformed("framed message with frame length 0")
		}
		if h.FrameLength > MaxFrameLength {
			return nil, malformed("frame length %d exceeds %d", h.FrameLength, MaxFrameLength)
		}
	case NonFramed:
		if h.FrameLength != 0 {
			return nil, malformed("non-framed message with frame length %d", h.FrameLength)
		}
	default:
		return nil, malformed("unknown content type 0x%02X", uint8(h.ContentType))
	}
	if version == 1 {
		if h.AuthIV, err = src.next(IVLength); err != nil {
			return nil, err
		}
	}
	if h.AuthTag, err = src.next(TagLength); err != nil {
		return nil, err
	}
	return h, nil
}

func vec16(src source) ([]byte, error) {
	b, err := src.next(2)
	if err != nil {
		return nil, err
	}
	return src.next(int(binary.BigEndian.Uint16(b)))
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
