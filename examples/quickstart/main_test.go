package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

func TestQuickstart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where run puts its sample file
	if err := run("", ""); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Fatalf("run left %d entries in the temporary folder (%v)", len(left), err)
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

// TestDecryptFileChecksContext checks that a message encrypted for
// another purpose is refused before any plaintext is written.
func TestDecryptFileChecksContext(t *testing.T) {
	ctx := context.Background()
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "quickstart", Name: "local-aes-256", WrappingKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	mm := mustManager(t, kr)
	client, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, enc, out := filepath.Join(dir, "in"), filepath.Join(dir, "in.esdk"), filepath.Join(dir, "out")
	os.WriteFile(in, []byte("payroll"), 0o600)
	if err := encryptFile(ctx, client, mm, map[string]string{"purpose": "other"}, in, enc); err != nil {
		t.Fatal(err)
	}
	_, err = decryptFile(ctx, client, mm, map[string]string{"purpose": "quickstart"}, enc, out)
	if err == nil || !strings.Contains(err.Error(), `"purpose"`) {
		t.Fatalf("got %v, want an error naming the context key", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the output file exists (%v)", err)
	}
	if _, err := decryptFile(ctx, client, mm, map[string]string{"purpose": "other"}, enc, out); err != nil {
		t.Fatal(err)
	}
}

// mustManager is envelope.NewDefaultManager for keyrings known to be valid.
func mustManager(tb testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	tb.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		tb.Fatal(err)
	}
	return mm
}
