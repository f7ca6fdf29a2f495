package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
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
	c.b, err = AppendFull(c.b, c.r, end-start)
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

// growStep bounds how far AppendFull grows a slice ahead of the bytes
// that have arrived.
const growStep = 32 << 10

// AppendFull appends exactly n bytes read from r to dst and returns the
// extended slice. It reads into dst's spare capacity first; beyond it, it
// grows dst step by step, never more than 32 KiB ahead of the bytes that
// have arrived, so a length taken from untrusted input costs memory only
// as the input backs it. As with [io.ReadFull], the error is io.EOF only if no byte was read
// and io.ErrUnexpectedEOF if some but not all were; on error the returned
// slice holds the bytes that did arrive.
func AppendFull(dst []byte, r io.Reader, n int) ([]byte, error) {
	start := len(dst)
	for need := n; need > 0; {
		step := min(need, max(growStep, cap(dst)-len(dst)))
		off := len(dst)
		if cap(dst)-off < step {
			// Double, but stay within growStep of the bytes that arrived.
			dst = slices.Grow(dst, max(step, min(off, growStep)))
		}
		dst = dst[:off+step]
		m, err := io.ReadFull(r, dst[off:])
		if err != nil {
			if errors.Is(err, io.EOF) && off > start {
				err = io.ErrUnexpectedEOF
			}
			return dst[:off+m], err
		}
		need -= step
	}
	return dst, nil
}
