package kmsprovider_test

import (
	"context"
	"crypto/ecdh"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// A KMS keyring over a *kms.Client. Here the client calls an in-process
// test KMS; in production it comes from config.LoadDefaultConfig and
// kms.NewFromConfig, or from kmsprovider.NewRegionalClients.
func ExampleNewKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	client := srv.Client("us-west-2", "111122223333")
	key, err := client.CreateKey(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}

	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{
		Client: client,
		KeyID:  *key.KeyMetadata.Arn,
	})
	if err != nil {
		log.Fatal(err)
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		log.Fatal(err)
	}
	esdk, err := envelope.New()
	if err != nil {
		log.Fatal(err)
	}
	msg, err := esdk.EncryptBytes(ctx, []byte("hello"), mm, map[string]string{"tenant": "acme"})
	if err != nil {
		log.Fatal(err)
	}
	pt, h, err := esdk.DecryptBytes(ctx, msg, mm, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), h.EncryptedDataKeys[0].ProviderID)
	// Output: hello aws-kms
}

// A discovery keyring decrypts with whatever key a message names, limited
// to the accounts of its filter.
func ExampleNewDiscoveryKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	client := srv.Client("us-west-2", "111122223333")
	key, err := client.CreateKey(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	strict, _ := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{Client: client, KeyID: *key.KeyMetadata.Arn})
	esdk, _ := envelope.New()
	writer, err := envelope.NewDefaultManager(strict)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := esdk.EncryptBytes(ctx, []byte("hello"), writer, nil)
	if err != nil {
		log.Fatal(err)
	}

	discovery, err := kmsprovider.NewDiscoveryKeyring(kmsprovider.DiscoveryKeyringOptions{
		Client: client,
		Filter: &kmsprovider.DiscoveryFilter{
			Partition:  "aws",
			AccountIDs: []string{"111122223333"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	reader, err := envelope.NewDefaultManager(discovery)
	if err != nil {
		log.Fatal(err)
	}
	pt, _, err := esdk.DecryptBytes(ctx, msg, reader, nil)
	fmt.Println(string(pt), err)
	// Output: hello <nil>
}

// The recipient's private key stays in KMS; any sender encrypts to its
// public key with a raw ECDH keyring (here with a fresh key pair per data
// key), and the recipient decrypts with KMS DeriveSharedSecret.
func ExampleNewECDHKeyring() {
	ctx := context.Background()
	srv := kmstest.NewServer()
	defer srv.Close()
	client := srv.Client("us-west-2", "111122223333")
	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecEccNistP256, KeyUsage: types.KeyUsageTypeKeyAgreement})
	if err != nil {
		log.Fatal(err)
	}
	keyARN := *key.KeyMetadata.Arn
	// One GetPublicKey call; the DER public key is what senders need.
	pub, err := kmsprovider.FetchECDHPublicKey(ctx, client, keyARN, ecdh.P256())
	if err != nil {
		log.Fatal(err)
	}

	sender, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema:             keyring.EphemeralPrivateKeyToStaticPublicKey,
		Curve:              ecdh.P256(),
		RecipientPublicKey: pub,
	})
	if err != nil {
		log.Fatal(err)
	}
	recipient, err := kmsprovider.NewECDHKeyring(kmsprovider.ECDHKeyringOptions{
		Client:             client,
		Schema:             kmsprovider.KMSPublicKeyDiscovery,
		Curve:              ecdh.P256(),
		KeyID:              keyARN,
		RecipientPublicKey: pub,
	})
	if err != nil {
		log.Fatal(err)
	}

	esdk, err := envelope.New()
	if err != nil {
		log.Fatal(err)
	}
	senderMM, err := envelope.NewDefaultManager(sender)
	if err != nil {
		log.Fatal(err)
	}
	msg, err := esdk.EncryptBytes(ctx, []byte("hello"), senderMM, map[string]string{"tenant": "acme"})
	if err != nil {
		log.Fatal(err)
	}
	recipientMM, err := envelope.NewDefaultManager(recipient)
	if err != nil {
		log.Fatal(err)
	}
	pt, h, err := esdk.DecryptBytes(ctx, msg, recipientMM, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(pt), h.EncryptedDataKeys[0].ProviderID)
	// Output: hello raw-ecdh
}
