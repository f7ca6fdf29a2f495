package engine

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"sync"
)

// chunkSize is how much a chunkReader asks its source for at once.
const chunkSize = 64 << 10

// chunkReader reads its source in chunks and lends what it holds, so that
// a message body read from an unbuffered file or socket costs one read
// call per chunk, not two per frame.
type chunkReader struct {
	src  io.Reader
	buf  []byte
	r, w int // buf[r:w] holds bytes not yet consumed
	err  error
}

// chunks holds the buffers of finished chunkReaders. They only ever hold
// ciphertext.
var chunks = sync.Pool{New: func() any { return new([chunkSize]byte) }}

// buffered returns src itself when it lends its bytes (as a *bytes.Buffer
// does), buffers already (a *bufio.Reader) or reads from memory without a
// system call (a *bytes.Reader or *strings.Reader): a chunk would only add
// a copy. Any other source, a file or a socket, is read in large chunks.
func buffered(src io.Reader) io.Reader {
	switch src.(type) {
	case nexter, *chunkReader, *bufio.Reader, *bytes.Reader, *strings.Reader:
		return src
	}
	return &chunkReader{src: src, buf: chunks.Get().(*[chunkSize]byte)[:]}
}

// release returns the buffer to the pool once nothing will read from it.
func (c *chunkReader) release() {
	if c.buf != nil {
		chunks.Put((*[chunkSize]byte)(c.buf))
		c.buf, c.r, c.w = nil, 0, 0
		c.err = io.ErrClosedPipe
	}
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.r == c.w {
		if c.err != nil {
			return 0, c.readErr()
		}
		if len(p) >= len(c.buf) {
			// Large reads go straight to the caller's buffer.
			n, err := c.src.Read(p)
			c.err = err
			if n > 0 {
				return n, nil
			}
			return 0, c.readErr()
		}
		c.r, c.w = 0, 0
		c.fill()
		if c.r == c.w {
			return 0, c.readErr()
		}
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += n
	return n, nil
}

func (c *chunkReader) readErr() error {
	err := c.err
	c.err = nil
	return err
}

// fill reads once into the free end of buf.
func (c *chunkReader) fill() {
	for tries := 0; tries < 100 && c.err == nil; tries++ {
		n, err := c.src.Read(c.buf[c.w:])
		c.w += n
		c.err = err
		if n > 0 {
			return
		}
	}
	if c.err == nil {
		c.err = io.ErrNoProgress
	}
}

// Next lends the next n bytes (n at most len(c.buf)), valid until the
// next call. It returns fewer only when the source ends or fails first;
// the next Read reports the error.
func (c *chunkReader) Next(n int) []byte {
	if c.w-c.r < n {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
		for c.w < n && c.err == nil {
			c.fill()
		}
	}
	n = min(n, c.w-c.r)
	b := c.buf[c.r : c.r+n]
	c.r += n
	return b
}
