package keystore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// Example makes a branch key store on the in-process DynamoDB and KMS
// test endpoints, a branch key, and a hierarchical keyring that encrypts
// and decrypts under it. Against AWS, pass dynamodb.NewFromConfig(cfg) and
// kms.NewFromConfig(cfg) instead.
func Example() {
	ctx := context.Background()
	ddb, kmsSrv := ddbtest.NewServer(), kmstest.NewServer()
	defer ddb.Close()
	defer kmsSrv.Close()
	kmsClient := kmsSrv.Client("us-west-2", kmstest.DefaultAccount)
	key, err := kmsClient.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		panic(err)
	}

	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName:           "BranchKeys",
		LogicalKeyStoreName: "BranchKeys",
		KMS:                 keystore.KMSConfiguration{KeyARN: *key.KeyMetadata.Arn},
		DynamoDB:            ddb.Client("us-west-2", kmstest.DefaultAccount),
		KMSClient:           kmsClient,
	})
	if err != nil {
		panic(err)
	}
	if _, err := store.CreateKeyStore(ctx); err != nil {
		panic(err)
	}
	id, err := store.CreateKey(ctx, keystore.WithBranchKeyID("tenant-42", map[string]string{"tenant": "42"}))
	if err != nil {
		panic(err)
	}

	kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{
		KeyStore:    store,
		BranchKeyID: id,
		TTL:         5 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		panic(err)
	}
	client, err := envelope.New()
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		ct, err := client.EncryptBytes(ctx, []byte(fmt.Sprint("message ", i)), mm, map[string]string{"tenant": "42"})
		if err != nil {
			panic(err)
		}
		pt, h, err := client.DecryptBytes(ctx, ct, mm, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s, under %s %s\n", pt, h.EncryptedDataKeys[0].ProviderID, h.EncryptedDataKeys[0].ProviderInfo)
	}
	fmt.Println("KMS Decrypt calls:", kmsSrv.Count("Decrypt"))
	// Output:
	// message 0, under aws-kms-hierarchy tenant-42
	// message 1, under aws-kms-hierarchy tenant-42
	// message 2, under aws-kms-hierarchy tenant-42
	// KMS Decrypt calls: 2
}
