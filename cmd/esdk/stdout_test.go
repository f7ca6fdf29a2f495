package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shortAfter takes the first n bytes written to it and no more: the write
// that would go past them, and every write after it, takes what still
// fits and reports no error, as a wrapper that breaks the io.Writer
// contract does.
type shortAfter struct {
	n int
	b []byte
}

func (w *shortAfter) Write(p []byte) (int, error) {
	k := min(len(p), w.n-len(w.b))
	w.b = append(w.b, p[:k]...)
	return k, nil
}

// TestShortStandardOutput: when standard output takes fewer bytes than it
// is given without an error, every command that writes there (a message,
// a plaintext, a header, metadata lines) fails with "short write" and
// status 1, wherever the output is cut.
func TestShortStandardOutput(t *testing.T) {
	dir := t.TempDir()
	key, plain, msg := filepath.Join(dir, "k.bin"), filepath.Join(dir, "plain"), filepath.Join(dir, "msg")
	k := make([]byte, 32)
	rand.Read(k)
	pt := make([]byte, 300<<10) // past the CLI's output buffer
	rand.Read(pt)
	if err := os.WriteFile(key, k, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, pt, 0o600); err != nil {
		t.Fatal(err)
	}
	wk := "aes=" + key + ",namespace=ns,name=n"
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"encrypt", "-w", wk, "-o", msg, plain}, nil, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("encrypt: status %d: %s", code, stderr.String())
	}
	for _, c := range []struct {
		name  string
		args  []string
		stdin []byte
	}{
		{"encrypt to standard output", []string{"encrypt", "-w", wk, "-"}, pt},
		{"decrypt to standard output", []string{"decrypt", "-w", wk, "-o", "-", msg}, nil},
		{"inspect", []string{"inspect", msg}, nil},
		{"metadata", []string{"decrypt", "-w", wk, "--force", "-o", filepath.Join(dir, "out"), "--metadata-output", "-", msg}, nil},
	} {
		var whole bytes.Buffer
		stderr.Reset()
		if code := run(context.Background(), c.args, bytes.NewReader(c.stdin), &whole, &stderr); code != 0 || whole.Len() < 100 {
			t.Fatalf("%s: status %d, %d bytes out: %s", c.name, code, whole.Len(), stderr.String())
		}
		full := whole.Len()
		for _, at := range []int{0, 1, full / 2, full * 9 / 10} {
			w := &shortAfter{n: at}
			stderr.Reset()
			code := run(context.Background(), c.args, bytes.NewReader(c.stdin), w, &stderr)
			if code != exitError || !strings.Contains(stderr.String(), "short write") {
				t.Errorf("%s, cut at %d of %d bytes: status %d, want %d with a short write: %q", c.name, at, full, code, exitError, stderr.String())
			}
		}
	}
}
