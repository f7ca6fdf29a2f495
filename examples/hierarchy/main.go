// Command hierarchy encrypts and decrypts messages of two tenants with the
// AWS KMS hierarchical keyring: each tenant's branch key lives in a
// DynamoDB table, encrypted under a KMS key, and is fetched once per time
// to live; every message's data key is wrapped locally under it.
//
//	go run ./examples/hierarchy                         # against in-process test endpoints
//	go run ./examples/hierarchy TABLE KMS_KEY_ARN       # against AWS
//
// With no argument it starts kmsprovider/ddbtest and kmsprovider/kmstest,
// a DynamoDB and a KMS endpoint on the loopback interface, so it runs on
// any machine, and prints how many DynamoDB and KMS calls the messages
// cost. Given a table name and the ARN of a symmetric KMS key, it uses
// AWS in the key's region with the default credential chain: it creates
// the table if it does not exist (on-demand capacity), creates one branch
// key per tenant (each run makes new ones), and versions one of them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		log.Fatal("hierarchy: ", err)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var (
		ddbClient     *dynamodb.Client
		kmsClient     *kms.Client
		table, keyARN string
		calls         func() string
	)
	switch len(args) {
	case 0:
		d, k := ddbtest.NewServer(), kmstest.NewServer()
		defer d.Close()
		defer k.Close()
		ddbClient = d.Client("us-west-2", kmstest.DefaultAccount)
		kmsClient = k.Client("us-west-2", kmstest.DefaultAccount)
		created, err := kmsClient.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("examples/hierarchy")})
		if err != nil {
			return err
		}
		table, keyARN = "BranchKeys", aws.ToString(created.KeyMetadata.Arn)
		calls = func() string {
			s := fmt.Sprintf("%d DynamoDB GetItem, %d KMS Decrypt", d.Count("GetItem"), k.Count("Decrypt"))
			d.ResetCalls()
			k.ResetCalls()
			return s
		}
		fmt.Fprintf(out, "using a test DynamoDB at %s and a test KMS at %s (pass TABLE KMS_KEY_ARN to use AWS)\n", d.URL, k.URL)
	case 2:
		table, keyARN = args[0], args[1]
		parts := strings.Split(keyARN, ":")
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || !strings.HasPrefix(parts[5], "key/") {
			return fmt.Errorf("%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", keyARN)
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(parts[3]))
		if err != nil {
			return fmt.Errorf("loading the AWS configuration: %w", err)
		}
		ddbClient, kmsClient = dynamodb.NewFromConfig(cfg), kms.NewFromConfig(cfg)
		calls = func() string { return "calls not counted against AWS" }
	default:
		return errors.New("usage: hierarchy [TABLE KMS_KEY_ARN]")
	}

	// The branch key store: one table, one KMS key, one logical name
	// that is bound to every branch key.
	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName:           table,
		LogicalKeyStoreName: table,
		KMS:                 keystore.KMSConfiguration{KeyARN: keyARN},
		DynamoDB:            ddbClient,
		KMSClient:           kmsClient,
	})
	if err != nil {
		return err
	}
	if _, err := store.CreateKeyStore(ctx); err != nil {
		return err
	}
	if err := dynamodb.NewTableExistsWaiter(ddbClient).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 5*time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", table, err)
	}

	// One branch key per tenant, made once (an administrator's job).
	tenants := map[string]string{}
	for _, tenant := range []string{"acme", "globex"} {
		id, err := store.CreateKey(ctx, keystore.WithEncryptionContext(map[string]string{"tenant": tenant}))
		if err != nil {
			return err
		}
		tenants[tenant] = id
		fmt.Fprintf(out, "tenant %s: branch key %s\n", tenant, id)
	}

	// One keyring for all tenants: the supplier picks the branch key from
	// the message's encryption context.
	kr, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{
		KeyStore: store,
		BranchKeyIDSupplier: keystore.BranchKeyIDSupplierFunc(func(_ context.Context, ec map[string]string) (string, error) {
			id, ok := tenants[ec["tenant"]]
			if !ok {
				return "", fmt.Errorf("no branch key for tenant %q", ec["tenant"])
			}
			return id, nil
		}),
		TTL: 5 * time.Minute,
	})
	if err != nil {
		return err
	}
	client, err := envelope.New()
	if err != nil {
		return err
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	calls()
	messages := map[string][]byte{}
	for _, tenant := range []string{"acme", "globex"} {
		for i := range 50 {
			ct, err := client.EncryptBytes(ctx, []byte(fmt.Sprintf("message %d of %s", i, tenant)), mm, map[string]string{"tenant": tenant})
			if err != nil {
				return err
			}
			pt, _, err := client.DecryptBytes(ctx, ct, mm, nil)
			if err != nil {
				return err
			}
			if i == 0 {
				messages[tenant] = ct
				fmt.Fprintf(out, "%s: %d-byte message, decrypted: %q\n", tenant, len(ct), pt)
			}
		}
	}
	fmt.Fprintf(out, "100 messages encrypted and decrypted: %s\n", calls())

	// Rotation: a new version of acme's branch key. Keyrings pick it up
	// when their cached version expires; old messages still decrypt.
	if err := store.VersionKey(ctx, tenants["acme"]); err != nil {
		return err
	}
	fresh, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: store, BranchKeyID: tenants["acme"], TTL: 5 * time.Minute})
	if err != nil {
		return err
	}
	freshMM, err := envelope.NewDefaultManager(fresh)
	if err != nil {
		return err
	}
	if _, err := client.EncryptBytes(ctx, []byte("under the new version"), freshMM, map[string]string{"tenant": "acme"}); err != nil {
		return err
	}
	pt, _, err := client.DecryptBytes(ctx, messages["acme"], freshMM, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "after VersionKey, acme's first message still decrypts: %q\n", pt)
	return nil
}
