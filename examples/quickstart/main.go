// Command quickstart encrypts a file with a local AES-256 key, decrypts it
// again and checks that the round trip gave back the same bytes.
//
//	go run ./examples/quickstart [-in FILE] [-key KEYFILE]
//
// Without -in it encrypts a sample file it writes itself in a temporary
// folder, which it removes again at the end; without -key it makes a fresh
// key. Given -in FILE, it writes FILE.esdk (the encrypted message) and
// FILE.decrypted next to the input and leaves them there.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

func main() {
	log.SetFlags(0)
	in := flag.String("in", "", "file to encrypt (default: a sample file in a new temporary folder)")
	keyFile := flag.String("key", "", "file holding a 32-byte AES key (default: a fresh random key)")
	flag.Parse()
	if err := run(*in, *keyFile); err != nil {
		log.Fatal("quickstart: ", err)
	}
}

func run(in, keyFile string) error {
	ctx := context.Background()
	if in == "" {
		dir, err := os.MkdirTemp("", "esdk-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		in = filepath.Join(dir, "sample.txt")
		sample := strings.Repeat("Envelope encryption keeps large data safe with a small key.\n", 2000)
		if err := os.WriteFile(in, []byte(sample), 0o600); err != nil {
			return err
		}
		fmt.Printf("wrote a sample file: %s (the folder is removed at the end)\n", in)
	}
	key := make([]byte, 32)
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		if len(b) != 32 {
			return fmt.Errorf("%s holds %d bytes, want a 32-byte AES-256 key", keyFile, len(b))
		}
		key = b
	} else if _, err := rand.Read(key); err != nil {
		return err
	}

	// A raw AES keyring wraps each message's data key with our local key.
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{
		Namespace:   "quickstart",
		Name:        "local-aes-256",
		WrappingKey: key,
	})
	if err != nil {
		return err
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	client, err := envelope.New() // committing, signed suite 0x0578; 4 KiB frames
	if err != nil {
		return err
	}
	ec := map[string]string{"file": filepath.Base(in), "purpose": "quickstart"}

	encrypted := in + ".esdk"
	if err := encryptFile(ctx, client, mm, ec, in, encrypted); err != nil {
		return err
	}
	decrypted := in + ".decrypted"
	d, err := decryptFile(ctx, client, mm, ec, encrypted, decrypted)
	if err != nil {
		return err
	}

	a, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(decrypted)
	if err != nil {
		return err
	}
	if !bytes.Equal(a, b) {
		return fmt.Errorf("%s and %s differ", in, decrypted)
	}
	st, err := os.Stat(encrypted)
	if err != nil {
		return err
	}
	h := d.Header()
	fmt.Printf("encrypted %s (%d bytes) into %s (%d bytes)\n", in, len(a), encrypted, st.Size())
	fmt.Printf("  suite %s, %d-byte frames, %d encrypted data key(s)\n", h.Suite.ID(), h.FrameLength, len(h.EncryptedDataKeys))
	fmt.Printf("  encryption context: file=%q purpose=%q\n", d.EncryptionContext()["file"], d.EncryptionContext()["purpose"])
	fmt.Printf("decrypted it into %s: identical to the original\n", decrypted)
	return nil
}

func encryptFile(ctx context.Context, c *envelope.Client, mm envelope.MaterialsManager, ec map[string]string, from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	w, err := c.Encrypt(ctx, dst, mm, ec)
	if err != nil {
		dst.Close()
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		dst.Close()
		return err
	}
	if err := w.Close(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// decryptFile decrypts from into to, after checking that the message's
// encryption context holds every entry of want.
func decryptFile(ctx context.Context, c *envelope.Client, mm envelope.MaterialsManager, want map[string]string, from, to string) (*envelope.Decryptor, error) {
	src, err := os.Open(from)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	d, err := c.Decrypt(ctx, src, mm, nil)
	if err != nil {
		return nil, err
	}
	// The encryption context is authenticated, not secret: any holder of
	// the key could have encrypted this message for another purpose.
	// Check it before using the plaintext. (The SDK adds entries of its
	// own, such as the signing key of signed suites. Passing want as the
	// last argument of Decrypt has the SDK make the same check.)
	got := d.EncryptionContext()
	for k, v := range want {
		if got[k] != v {
			return nil, fmt.Errorf("%s: encryption context %q is %q, want %q", from, k, got[k], v)
		}
	}
	dst, err := os.Create(to)
	if err != nil {
		return nil, err
	}
	// Decrypt releases only authenticated plaintext; on error, what was
	// written so far is still authenticated, but the file is incomplete.
	if _, err := io.Copy(dst, d); err != nil {
		dst.Close()
		os.Remove(to)
		return nil, err
	}
	return d, dst.Close()
}
