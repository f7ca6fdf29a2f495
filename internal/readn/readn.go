// Package readn reads a length that untrusted input gave: exactly n
// bytes, into memory that grows only as the bytes arrive. Package format
// reads header fields with it and the engine reads body parts; it imports
// nothing of the module's, so that format still depends on nothing above
// it.
package readn

import (
	"errors"
	"io"
	"slices"
)

// growStep bounds how far Append grows a slice ahead of the bytes that
// have arrived.
const growStep = 32 << 10

// Append appends exactly n bytes read from r to dst and returns the
// extended slice. It reads into dst's spare capacity first; beyond it, it
// grows dst step by step, never more than 32 KiB ahead of the bytes that
// have arrived, so a length taken from untrusted input costs memory only
// as the input backs it. As with [io.ReadFull], the error is io.EOF only
// if no byte was read and io.ErrUnexpectedEOF if some but not all were;
// on error the returned slice holds the bytes that did arrive.
func Append(dst []byte, r io.Reader, n int) ([]byte, error) {
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
