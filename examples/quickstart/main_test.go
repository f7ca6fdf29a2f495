package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestQuickstart(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // where run puts its sample file
	if err := run("", ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "data.bin")
	key := filepath.Join(dir, "key")
	os.WriteFile(in, []byte("some bytes to keep safe"), 0o600)
	os.WriteFile(key, make([]byte, 32), 0o600)
	if err := run(in, key); err != nil {
		t.Fatal(err)
	}
	enc, err := os.ReadFile(in + ".esdk")
	if err != nil || len(enc) == 0 || enc[0] != 2 {
		t.Fatalf("encrypted file: %v, first byte %v", err, enc[:min(1, len(enc))])
	}
	os.WriteFile(key, make([]byte, 31), 0o600)
	if err := run(in, key); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
}
