package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestShowProgress(t *testing.T) {
	for _, c := range []struct {
		quiet, terminal bool
		size            int64
		want            bool
	}{
		{false, true, progressMin, true},
		{false, true, 1 << 30, true},
		{false, true, progressMin - 1, false},
		{false, true, -1, false}, // unknown size: a pipe
		{false, false, 1 << 30, false},
		{true, true, 1 << 30, false},
	} {
		if got := showProgress(c.quiet, c.terminal, c.size); got != c.want {
			t.Errorf("showProgress(quiet %v, terminal %v, size %d) = %v, want %v", c.quiet, c.terminal, c.size, got, c.want)
		}
	}
}

// TestProgressBar checks that the bar counts the bytes fed to it and takes
// itself off the line when done.
func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := newProgressBar(&buf, "big.iso", 20e6)
	chunk := make([]byte, 10e6)
	p.Write(chunk)
	p.bar.RenderBlank() // draw now, whatever the throttle
	out := buf.String()
	for _, want := range []string{"big.iso", "50%", "10/20 MB"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress bar output %q lacks %q", out, want)
		}
	}
	p.Write(chunk)
	buf.Reset()
	p.done()
	if out := buf.String(); !strings.HasPrefix(out, "\r") || strings.TrimSpace(out) != "" {
		t.Errorf("done wrote %q, want the line cleared", out)
	}
}

// TestNoCgo builds esdk without cgo and checks what a pkcs11: key says.
func TestNoCgo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds esdk without cgo; skipped in -short mode")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "esdk")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.WriteFile(in, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "encrypt", "-w", "pkcs11:token=t;object=k;type=secret-key,namespace=ns,name=n", "-o", filepath.Join(dir, "out"), in)
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitError {
		t.Fatalf("esdk without cgo, pkcs11 key: %v, want exit status 1\n%s", err, out)
	}
	if want := "this esdk was built without cgo; PKCS#11 keys need a cgo build"; !strings.Contains(string(out), want) {
		t.Errorf("esdk without cgo says %q, want it to say %q", out, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("an output was written")
	}
}
