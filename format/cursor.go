package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-esdk/esdk/internal/readn"
)

// cursor walks the fields of a header or an encryption context in order.
// Over a slice (r == nil) b holds the whole input; over a reader it holds
// every byte read so far, and each field is read only when asked for, so
// nothing past the last field is read. (cryptobyte.String needs the whole
// input up front, and a header has no overall length to read it by, so
// one hand cursor serves both ways in.)
type cursor struct {
	b    []byte
	off  int
	r    io.Reader
	max  int    // bound on off; 0 for none
	what string // "header" or "encryption context", for errors
}

// next returns the next n bytes. The slice is capped, so appending to it
// cannot touch the bytes that follow.
func (c *cursor) next(n int) ([]byte, error) {
	end := c.off + n
	if c.max > 0 && end > c.max {
		return nil, &LimitError{Limit: LimitHeaderSize, Max: int64(c.max), Got: int64(end)}
	}
	if end > len(c.b) {
		if err := c.fill(end); err != nil {
			return nil, err
		}
	}
	out := c.b[c.off:end:end]
	c.off = end
	return out, nil
}

// fill makes b hold end bytes, reading from r.
func (c *cursor) fill(end int) error {
	if c.r == nil {
		return malformed("%s is truncated: field of %d bytes, %d left: %w", c.what, end-c.off, len(c.b)-c.off, io.ErrUnexpectedEOF)
	}
	start := len(c.b)
	var err error
	c.b, err = readn.Append(c.b, c.r, end-start)
	switch {
	case err == nil:
		return nil
	case start == 0 && errors.Is(err, io.EOF):
		return malformed("empty input: %w", io.ErrUnexpectedEOF)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("%s is truncated: %w", c.what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("esdk/format: reading %s: %w", c.what, err)
}

func (c *cursor) u16() (int, error) {
	b, err := c.next(2)
	if err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(b)), nil
}

// vec16 returns a field that its 2-byte length opens.
func (c *cursor) vec16() ([]byte, error) {
	n, err := c.u16()
	if err != nil {
		return nil, err
	}
	return c.next(n)
}
