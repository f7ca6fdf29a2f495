package readn

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

func TestAppend(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10000)
	got, err := Append([]byte("x"), &chunkReader{bytes.NewReader(data), 777}, len(data))
	if err != nil || !bytes.Equal(got, append([]byte("x"), data...)) {
		t.Fatalf("Append: %d bytes, %v", len(got), err)
	}
	// Spare capacity is read into in place.
	buf := make([]byte, 0, 200)
	got, err = Append(buf, bytes.NewReader(data), 150)
	if err != nil || &got[0] != &buf[:1][0] || !bytes.Equal(got, data[:150]) {
		t.Errorf("Append into spare capacity: %v", err)
	}
	// A claimed length far beyond the input costs memory only as bytes arrive.
	got, err = Append(nil, bytes.NewReader(data[:10]), 1<<30)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(got, data[:10]) || cap(got) > 64<<10 {
		t.Errorf("short input: %d bytes (cap %d), %v; want 10 and io.ErrUnexpectedEOF", len(got), cap(got), err)
	}
	got, err = Append([]byte("x"), bytes.NewReader(nil), 5)
	if err != io.EOF || !bytes.Equal(got, []byte("x")) {
		t.Errorf("empty input: %q, %v; want io.EOF", got, err)
	}
	const pastOneStep = growStep + 8<<10
	got, err = Append(nil, bytes.NewReader(data[:pastOneStep+3]), pastOneStep+10)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(got) != pastOneStep+3 {
		t.Errorf("input ending in the second step: %d bytes, %v", len(got), err)
	}
	if got, err := Append(nil, bytes.NewReader(data), 0); err != nil || len(got) != 0 {
		t.Errorf("n = 0: %d bytes, %v", len(got), err)
	}
}
