package kmsprovider_test

import (
	"context"
	"fmt"
	"log"

	"github.com/go-esdk/esdk/envelope"
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
