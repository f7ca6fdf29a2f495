// Command ecdh encrypts messages with the ECDH keyrings, whose data keys
// are wrapped with a key that sender and recipient agree on with
// elliptic-curve Diffie-Hellman: the recipient hands out its public key
// only, and no wrapping secret ever travels.
//
//	go run ./examples/ecdh
//
// It makes P-256 key pairs for a recipient (Bob) and a sender (Alice),
// shares Bob's public key as PEM, as a recipient would, and then:
//
//   - encrypts with the ephemeral schema (Bob's public key alone, a fresh
//     key pair per message) and decrypts with Bob's private key
//     (discovery);
//   - encrypts with the static schema (Alice's key pair and Bob's public
//     key) and decrypts it as Bob, who can tell that Alice or he wrote it;
//   - shows that a third party's private key cannot read it;
//   - does the same with Bob's private key in AWS KMS (an in-process test
//     KMS, kmsprovider/kmstest): the public key from GetPublicKey, the
//     shared secret from DeriveSharedSecret.
//
// Only the static schema tells the recipient who wrote a message (the
// sender whose public key it holds, or itself): with the ephemeral
// schema, anyone who has the recipient's public key may have.
package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal("ecdh: ", err)
	}
}

// party is a key pair in the encodings the keyrings take: the private
// key as PEM PKCS #8, the public key as DER SubjectPublicKeyInfo.
type party struct {
	privatePEM []byte
	publicDER  []byte
}

func newParty() (*party, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
	if err != nil {
		return nil, err
	}
	return &party{pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), der}, nil
}

func run(ctx context.Context, out io.Writer) error {
	client, err := envelope.New() // committing, signed suite 0x0578
	if err != nil {
		return err
	}
	ec := map[string]string{"purpose": "ecdh example"}
	secret := []byte("a note for Bob's eyes only")

	bob, err := newParty()
	if err != nil {
		return err
	}
	alice, err := newParty()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "made P-256 key pairs for Bob (the recipient) and Alice (a sender)\n")
	// What Bob hands out: his public key, nothing secret.
	shared := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: bob.publicDER})
	fmt.Fprintf(out, "Bob shares his public key:\n%s", shared)
	block, _ := pem.Decode(shared)
	bobPublic := block.Bytes // the DER the keyrings take

	// Bob's keyring: his private key, for messages to him from anyone.
	bobReads, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.PublicKeyDiscovery, Curve: ecdh.P256(), RecipientPrivateKey: bob.privatePEM,
	})
	if err != nil {
		return err
	}

	// 1. Ephemeral: anyone with Bob's public key writes to him.
	toBob, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: bobPublic,
	})
	if err != nil {
		return err
	}
	msg, err := encrypt(ctx, client, toBob, secret, ec)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nephemeral: encrypted %d bytes to Bob's public key with a fresh key pair (%d-byte message)\n", len(secret), len(msg))
	if err := decrypt(ctx, out, client, bobReads, "Bob (discovery)", msg, secret); err != nil {
		return err
	}
	if err := toBob.OnDecrypt(ctx, &keyring.DecryptionMaterials{}, nil); errors.Is(err, keyring.ErrEncryptOnly) {
		fmt.Fprintf(out, "  the sender's keyring cannot read it back: %v\n", err)
	}

	// 2. Static: Alice's key pair and Bob's public key. Bob reads it with
	// his private key alone, or with Alice's public key too, which tells
	// him that Alice (or he) wrote it.
	aliceWrites, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: ecdh.P256(),
		SenderPrivateKey: alice.privatePEM, RecipientPublicKey: bobPublic,
	})
	if err != nil {
		return err
	}
	msg, err = encrypt(ctx, client, aliceWrites, secret, ec)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nstatic: Alice encrypted %d bytes to Bob with her own key pair\n", len(secret))
	if err := decrypt(ctx, out, client, bobReads, "Bob (discovery)", msg, secret); err != nil {
		return err
	}
	bobFromAlice, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.RawPrivateKeyToStaticPublicKey, Curve: ecdh.P256(),
		SenderPrivateKey: bob.privatePEM, RecipientPublicKey: alice.publicDER,
	})
	if err != nil {
		return err
	}
	if err := decrypt(ctx, out, client, bobFromAlice, "Bob, from Alice only (static)", msg, secret); err != nil {
		return err
	}
	if err := decrypt(ctx, out, client, aliceWrites, "Alice, her own message (static)", msg, secret); err != nil {
		return err
	}

	// 3. Someone else's private key: not a message for them.
	carol, err := newParty()
	if err != nil {
		return err
	}
	carolReads, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.PublicKeyDiscovery, Curve: ecdh.P256(), RecipientPrivateKey: carol.privatePEM,
	})
	if err != nil {
		return err
	}
	carolManager, err := envelope.NewDefaultManager(carolReads)
	if err != nil {
		return err
	}
	if _, _, err := client.DecryptBytes(ctx, msg, carolManager, nil); errors.Is(err, keyring.ErrNoMatchingKey) {
		fmt.Fprintf(out, "\nCarol's private key cannot read it, and no shared secret was computed for it:\n  %v\n", err)
	} else {
		return fmt.Errorf("carol decrypted the message: %v", err)
	}

	// 4. Bob's private key in AWS KMS, here an in-process test KMS.
	return kmsPart(ctx, out, client, secret, ec)
}

func kmsPart(ctx context.Context, out io.Writer, client *envelope.Client, secret []byte, ec map[string]string) error {
	srv := kmstest.NewServer()
	defer srv.Close()
	kmsClient := srv.Client("us-west-2", "111122223333")
	fmt.Fprintf(out, "\nusing a test KMS at %s\n", srv.URL)
	key, err := kmsClient.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement,
	})
	if err != nil {
		return err
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	fmt.Fprintf(out, "created a KMS key agreement key (ECC_NIST_P256): %s\n", keyARN)
	// One GetPublicKey; the public key is what Bob hands out.
	public, err := kmsprovider.FetchECDHPublicKey(ctx, kmsClient, keyARN, ecdh.P256())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "fetched its public key (%d bytes of DER) for the senders\n", len(public))
	toBob, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema: keyring.EphemeralPrivateKeyToStaticPublicKey, Curve: ecdh.P256(), RecipientPublicKey: public,
	})
	if err != nil {
		return err
	}
	msg, err := encrypt(ctx, client, toBob, secret, ec)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "a sender encrypted %d bytes to it, without any AWS access\n", len(secret))
	bobReads, err := kmsprovider.NewECDHKeyring(kmsprovider.ECDHKeyringOptions{
		Client: kmsClient, Schema: kmsprovider.KMSPublicKeyDiscovery, Curve: ecdh.P256(),
		KeyID: keyARN, RecipientPublicKey: public,
	})
	if err != nil {
		return err
	}
	srv.ResetCalls()
	if err := decrypt(ctx, out, client, bobReads, "the KMS key (discovery)", msg, secret); err != nil {
		return err
	}
	fmt.Fprintf(out, "  with %d KMS DeriveSharedSecret call; the private key never left KMS\n", srv.Count("DeriveSharedSecret"))
	return nil
}

func encrypt(ctx context.Context, c *envelope.Client, kr keyring.Keyring, plaintext []byte, ec map[string]string) ([]byte, error) {
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return nil, err
	}
	return c.EncryptBytes(ctx, plaintext, mm, ec)
}

// decrypt decrypts msg with kr, requiring the example's encryption
// context, and checks that it gives back want.
func decrypt(ctx context.Context, out io.Writer, c *envelope.Client, kr keyring.Keyring, who string, msg, want []byte) error {
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	got, _, err := c.DecryptBytes(ctx, msg, mm, map[string]string{"purpose": "ecdh example"})
	if err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: decrypted bytes differ", who)
	}
	fmt.Fprintf(out, "  %s decrypted it: %q\n", who, got)
	return nil
}
