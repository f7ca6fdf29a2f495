package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortWriter takes at most half of each write, and says nothing.
type shortWriter struct{ bytes.Buffer }

func (w *shortWriter) Write(p []byte) (int, error) {
	return w.Buffer.Write(p[:len(p)/2])
}

// TestInspectShortWrite: a standard output that takes less than it was
// given, without an error, fails the run with io.ErrShortWrite.
func TestInspectShortWrite(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.bin")
	if err := os.WriteFile(key, bytes.Repeat([]byte{1}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := filepath.Join(dir, "m")
	var stderr bytes.Buffer
	in := strings.NewReader("short writes")
	if code := run(context.Background(), []string{"encrypt", "-w", "aes=" + key + ",namespace=ns,name=n", "-o", msg, "-"}, in, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("encrypt: %d: %s", code, &stderr)
	}
	for _, args := range [][]string{
		{"inspect", msg},
		{"decrypt", "-w", "aes=" + key + ",namespace=ns,name=n", "--metadata-output", "-", "-o", filepath.Join(dir, "out"), msg},
	} {
		stderr.Reset()
		if code := run(context.Background(), args, nil, &shortWriter{}, &stderr); code != exitError || !strings.Contains(stderr.String(), "short write") {
			t.Errorf("%s: status %d, stderr %q; want 1 and a short write", args[0], code, &stderr)
		}
	}
}
