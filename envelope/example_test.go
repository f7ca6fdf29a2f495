package envelope_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

// A data key is made for each message and wrapped with a local AES key;
// the message streams through io.Writer and io.Reader.
func Example() {
	ctx := context.Background()
	wrappingKey := bytes.Repeat([]byte{0x42}, 32) // use a real secret key
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "my-namespace", Name: "my-key", WrappingKey: wrappingKey})
	if err != nil {
		log.Fatal(err)
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		log.Fatal(err)
	}
	client, err := envelope.New()
	if err != nil {
		log.Fatal(err)
	}

	var message bytes.Buffer
	w, err := client.Encrypt(ctx, &message, mm, map[string]string{"tenant": "acme"})
	if err != nil {
		log.Fatal(err)
	}
	io.WriteString(w, "hello, envelope")
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	r, err := client.Decrypt(ctx, &message, mm, nil)
	if err != nil {
		log.Fatal(err)
	}
	plaintext, err := io.ReadAll(r)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(plaintext))
	fmt.Println(r.Suite().ID(), r.EncryptionContext()["tenant"])
	// Output:
	// hello, envelope
	// 0x0578 (AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384) acme
}

// One-shot helpers suit small messages.
func ExampleClient_EncryptBytes() {
	ctx := context.Background()
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "my-namespace", Name: "my-key", WrappingKey: bytes.Repeat([]byte{7}, 16)})
	if err != nil {
		log.Fatal(err)
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		log.Fatal(err)
	}
	client, err := envelope.New(func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptRequireDecrypt
		o.Suite = 0x0478 // committing, unsigned
		o.FrameLength = 1 << 16
	})
	if err != nil {
		log.Fatal(err)
	}
	ct, err := client.EncryptBytes(ctx, []byte("small secret"), mm, nil)
	if err != nil {
		log.Fatal(err)
	}
	pt, header, err := client.DecryptBytes(ctx, ct, mm, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, version %d header, %d-byte frames\n", pt, header.Version(), header.FrameLength)
	// Output: small secret, version 2 header, 65536-byte frames
}

// Decryption in two steps: the header first, to look at it (it is not
// authenticated yet) and decide, then the rest of the message, without
// reading the header again.
func ExampleClient_ReadHeader() {
	ctx := context.Background()
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "my-namespace", Name: "my-key", WrappingKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		log.Fatal(err)
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		log.Fatal(err)
	}
	client, err := envelope.New()
	if err != nil {
		log.Fatal(err)
	}
	ct, err := client.EncryptBytes(ctx, []byte("two steps"), mm, map[string]string{"tenant": "acme"})
	if err != nil {
		log.Fatal(err)
	}

	msg, err := client.ReadHeader(bytes.NewReader(ct))
	if err != nil {
		log.Fatal(err)
	}
	h := msg.Header()
	if h.EncryptionContext["tenant"] != "acme" {
		log.Fatal("not a message for acme")
	}
	fmt.Println("keys:", h.EncryptedDataKeys[0].ProviderID)
	d, err := msg.Decrypt(ctx, mm, nil)
	if err != nil {
		log.Fatal(err)
	}
	pt, err := io.ReadAll(d)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt))
	// Output:
	// keys: my-namespace
	// two steps
}
