package keyring_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func ExampleNewRawAES() {
	wrappingKey := make([]byte, 32) // in practice, from your key store
	rand.Read(wrappingKey)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{
		Namespace:   "my-namespace",
		Name:        "my-key",
		WrappingKey: wrappingKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	ec := map[string]string{"purpose": "example"}

	enc := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := kr.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	edk := enc.EncryptedDataKeys[0]
	fmt.Printf("provider id %s, provider info %d bytes\n", edk.ProviderID, len(edk.ProviderInfo))

	dec := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := kr.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
		log.Fatal(err)
	}
	fmt.Println("same data key:", bytes.Equal(dec.PlaintextDataKey, enc.PlaintextDataKey))
	// Output:
	// provider id my-namespace, provider info 26 bytes
	// same data key: true
}

func ExampleNewMulti() {
	newKeyring := func(name string) keyring.Keyring {
		key := make([]byte, 32)
		rand.Read(key)
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "my-namespace", Name: name, WrappingKey: key})
		if err != nil {
			log.Fatal(err)
		}
		return kr
	}
	primary, backup := newKeyring("primary"), newKeyring("backup")
	multi, err := keyring.NewMulti(keyring.MultiOptions{
		Generator: primary,
		Children:  []keyring.Keyring{backup},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)

	enc := &keyring.EncryptionMaterials{Suite: suite}
	if err := multi.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	fmt.Println("encrypted data keys:", len(enc.EncryptedDataKeys))

	// Either keyring alone can unwrap the data key.
	for _, kr := range []keyring.Keyring{primary, backup} {
		dec := &keyring.DecryptionMaterials{Suite: suite}
		if err := kr.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
			log.Fatal(err)
		}
		fmt.Println("same data key:", bytes.Equal(dec.PlaintextDataKey, enc.PlaintextDataKey))
	}
	// Output:
	// encrypted data keys: 2
	// same data key: true
	// same data key: true
}

func ExampleNewRawRSA() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048) // in practice, from your key store
	if err != nil {
		log.Fatal(err)
	}
	// A writer holds the public key only, a reader the private key only.
	names := keyring.RawRSAOptions{Namespace: "my-namespace", Name: "rsa-key", Padding: keyring.OAEPSHA256}
	writer, err := keyring.NewRawRSA(names, func(o *keyring.RawRSAOptions) { o.PublicKey = &priv.PublicKey })
	if err != nil {
		log.Fatal(err)
	}
	reader, err := keyring.NewRawRSA(names, func(o *keyring.RawRSAOptions) { o.PrivateKey = priv })
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	client, err := envelope.New(func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKey
		o.FrameLength = 64 << 10
	})
	if err != nil {
		log.Fatal(err)
	}
	ec := map[string]string{"purpose": "example"}
	writes, err := envelope.NewDefaultManager(writer)
	if err != nil {
		log.Fatal(err)
	}
	reads, err := envelope.NewDefaultManager(reader)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := client.EncryptBytes(ctx, []byte("hello"), writes, ec)
	if err != nil {
		log.Fatal(err)
	}
	pt, _, err := client.DecryptBytes(ctx, msg, reads, ec)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", pt)

	// Neither can do the other's job.
	_, err = client.EncryptBytes(ctx, []byte("hello"), reads, ec)
	fmt.Println("reader encrypts:", errors.Is(err, keyring.ErrDecryptOnly))
	_, _, err = client.DecryptBytes(ctx, msg, writes, ec)
	fmt.Println("writer decrypts:", errors.Is(err, keyring.ErrEncryptOnly))
	// Output:
	// hello
	// reader encrypts: true
	// writer decrypts: true
}

func ExampleParseRSAKeysPEM() {
	priv, err := rsa.GenerateKey(rand.Reader, 2048) // in practice, from a file
	if err != nil {
		log.Fatal(err)
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})

	pub, key, err := keyring.ParseRSAKeysPEM(pemData)
	if err != nil {
		log.Fatal(err)
	}
	// The data holds no public key block, and none is derived: the
	// keyring decrypts only.
	kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{
		Namespace:  "my-namespace",
		Name:       "rsa-key",
		Padding:    keyring.OAEPSHA256,
		PublicKey:  pub,
		PrivateKey: key,
	})
	if err != nil {
		log.Fatal(err)
	}
	err = kr.OnEncrypt(context.Background(), &keyring.EncryptionMaterials{Suite: format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)})
	fmt.Println("public key:", pub != nil)
	fmt.Println("encrypts:", !errors.Is(err, keyring.ErrDecryptOnly))
	// Output:
	// public key: false
	// encrypts: false
}

func ExampleNewRawECDH() {
	// The recipient makes a key pair once and shares its public key, as
	// DER (here generated; in practice read from where it is kept).
	recipient, _ := ecdh.P256().GenerateKey(rand.Reader)
	p8, _ := x509.MarshalPKCS8PrivateKey(recipient)
	recipientPrivateKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	recipientPublicKey, _ := x509.MarshalPKIXPublicKey(recipient.PublicKey())

	// Any sender encrypts to that public key with a fresh key pair per
	// data key; only the recipient decrypts.
	sender, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema:             keyring.EphemeralPrivateKeyToStaticPublicKey,
		Curve:              ecdh.P256(),
		RecipientPublicKey: recipientPublicKey,
	})
	if err != nil {
		log.Fatal(err)
	}
	reader, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema:              keyring.PublicKeyDiscovery,
		Curve:               ecdh.P256(),
		RecipientPrivateKey: recipientPrivateKey,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ec := map[string]string{"purpose": "example"}
	enc := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := sender.OnEncrypt(ctx, enc); err != nil {
		log.Fatal(err)
	}
	edk := enc.EncryptedDataKeys[0]
	fmt.Printf("provider id %s, provider info %d bytes\n", edk.ProviderID, len(edk.ProviderInfo))

	dec := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := reader.OnDecrypt(ctx, dec, enc.EncryptedDataKeys); err != nil {
		log.Fatal(err)
	}
	fmt.Println("same data key:", bytes.Equal(dec.PlaintextDataKey, enc.PlaintextDataKey))
	// The sender's keyring cannot read what it wrote.
	err = sender.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: ec}, enc.EncryptedDataKeys)
	fmt.Println(errors.Is(err, keyring.ErrEncryptOnly))
	// Output:
	// provider id raw-ecdh, provider info 75 bytes
	// same data key: true
	// true
}
