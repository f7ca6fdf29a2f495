// Command multikeyring encrypts one message under two wrapping keys, a
// local AES-256 key and an RSA-3072 key pair, and shows that either one
// alone decrypts it.
//
//	go run ./examples/multikeyring
//
// The AES keyring generates the data key; the RSA keyring wraps the same
// data key too, so the message carries two encrypted data keys. A holder
// of only the RSA public key can add such messages; only a holder of the
// private key (or of the AES key) can read them.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatal("multikeyring: ", err)
	}
}

func run() error {
	ctx := context.Background()
	aesKey := make([]byte, 32)
	if _, err := rand.Read(aesKey); err != nil {
		return err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return err
	}

	aesRing, err := keyring.NewRawAES(keyring.RawAESOptions{
		Namespace:   "example",
		Name:        "aes-key",
		WrappingKey: aesKey,
	})
	if err != nil {
		return err
	}
	// Encrypting needs only the RSA public key.
	rsaPublic, err := keyring.NewRawRSA(keyring.RawRSAOptions{
		Namespace: "example",
		Name:      "rsa-key",
		Padding:   keyring.OAEPSHA256,
		PublicKey: &rsaKey.PublicKey,
	})
	if err != nil {
		return err
	}
	both, err := keyring.NewMulti(keyring.MultiOptions{
		Generator: aesRing,
		Children:  []keyring.Keyring{rsaPublic},
	})
	if err != nil {
		return err
	}

	client, err := envelope.New()
	if err != nil {
		return err
	}
	plaintext := []byte("readable with either key")
	ec := map[string]string{"department": "finance"}
	mm, err := envelope.NewDefaultManager(both)
	if err != nil {
		return err
	}
	msg, err := client.EncryptBytes(ctx, plaintext, mm, ec)
	if err != nil {
		return err
	}
	fmt.Printf("encrypted %d bytes into a %d-byte message\n", len(plaintext), len(msg))

	// Decrypting needs only the private key. A keyring made from it alone
	// can only decrypt: the RSA keyring never derives the public key from
	// the private key; pass both to have one keyring do both.
	rsaPrivate, err := keyring.NewRawRSA(keyring.RawRSAOptions{
		Namespace:  "example",
		Name:       "rsa-key",
		Padding:    keyring.OAEPSHA256,
		PrivateKey: rsaKey,
	})
	if err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		kr   keyring.Keyring
	}{{"AES key alone", aesRing}, {"RSA private key alone", rsaPrivate}} {
		mm, err := envelope.NewDefaultManager(r.kr)
		if err != nil {
			return err
		}
		pt, h, err := client.DecryptBytes(ctx, msg, mm, ec)
		if err != nil {
			return fmt.Errorf("decrypting with the %s: %w", r.name, err)
		}
		if !bytes.Equal(pt, plaintext) {
			return fmt.Errorf("the %s gave back other bytes", r.name)
		}
		fmt.Printf("decrypted with the %s: %q\n", r.name, pt)
		if r.kr == aesRing {
			for i, k := range h.EncryptedDataKeys {
				fmt.Printf("  encrypted data key %d: provider %q, %d bytes\n", i+1, k.ProviderID, len(k.Ciphertext))
			}
		}
	}

	// The RSA public key cannot decrypt, and the private key alone cannot
	// encrypt; each says so.
	mm, err = envelope.NewDefaultManager(rsaPublic)
	if err != nil {
		return err
	}
	_, _, err = client.DecryptBytes(ctx, msg, mm, ec)
	if !errors.Is(err, keyring.ErrEncryptOnly) {
		return fmt.Errorf("decrypting with the RSA public key: got %v, want keyring.ErrEncryptOnly", err)
	}
	fmt.Printf("with the RSA public key only: %v\n", err)
	if mm, err = envelope.NewDefaultManager(rsaPrivate); err != nil {
		return err
	}
	_, err = client.EncryptBytes(ctx, plaintext, mm, ec)
	if !errors.Is(err, keyring.ErrDecryptOnly) {
		return fmt.Errorf("encrypting with the RSA private key: got %v, want keyring.ErrDecryptOnly", err)
	}
	fmt.Printf("with the RSA private key only: %v\n", err)
	return nil
}
