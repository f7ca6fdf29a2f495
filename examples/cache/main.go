// Command cache encrypts many small records with a data-key cache, so that
// KMS is called once per hundred records instead of once per record, and
// decrypts them again with one KMS call per data key.
//
//	go run ./examples/cache                  # against an in-process test KMS
//	go run ./examples/cache KEY_ARN          # against AWS KMS
//
// With no argument it starts kmsprovider/kmstest, a KMS endpoint on the
// loopback interface, and creates a key there. Given the ARN of a
// symmetric KMS key, it calls AWS KMS in the key's region with the
// default credential chain.
package main

import (
	"bytes"
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
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

const records = 1000

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		log.Fatal("cache: ", err)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var (
		client *kms.Client
		keyARN string
		srv    *kmstest.Server
	)
	switch len(args) {
	case 0:
		srv = kmstest.NewServer()
		defer srv.Close()
		client = srv.Client("us-west-2", kmstest.DefaultAccount)
		created, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("examples/cache")})
		if err != nil {
			return err
		}
		keyARN = aws.ToString(created.KeyMetadata.Arn)
		fmt.Fprintf(out, "using a test KMS at %s (pass a key ARN to use AWS KMS)\n", srv.URL)
	case 1:
		region, err := regionOf(args[0])
		if err != nil {
			return err
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return fmt.Errorf("loading the AWS configuration: %w", err)
		}
		client, keyARN = kms.NewFromConfig(cfg), args[0]
	default:
		return errors.New("usage: cache [KEY_ARN]")
	}

	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{
		Client: client,
		KeyID:  keyARN,
	})
	if err != nil {
		return err
	}
	// One cache may serve several managers; 100 entries is plenty here.
	c, err := cache.New(cache.CacheOptions{Capacity: 100})
	if err != nil {
		return err
	}
	// Each data key protects at most 100 records, at most 1 MiB in all,
	// and is used for at most 5 minutes after KMS made it.
	inner, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	mm, err := cache.NewManager(cache.ManagerOptions{
		Inner:       inner,
		Cache:       c,
		MaxAge:      5 * time.Minute,
		MaxMessages: 100,
		MaxBytes:    1 << 20,
	})
	if err != nil {
		return err
	}
	esdk, err := envelope.New() // suite 0x0578: committing, signed
	if err != nil {
		return err
	}

	// Records of one tenant share an encryption context, and so a cache
	// entry. EncryptBytes knows each record's length; a stream written
	// with Encrypt would bypass the cache.
	ec := map[string]string{"tenant": "acme", "table": "orders"}
	msgs := make([][]byte, records)
	for i := range msgs {
		record := fmt.Appendf(nil, `{"order": %d, "amount": "%d.00"}`, i, 10+i%90)
		if msgs[i], err = esdk.EncryptBytes(ctx, record, mm, ec); err != nil {
			return err
		}
	}
	st := mm.Stats()
	fmt.Fprintf(out, "encrypted %d records with %d calls to KMS (%d cache hits)\n", records, st.InnerCalls, st.Hits)

	for i, msg := range msgs {
		pt, _, err := esdk.DecryptBytes(ctx, msg, mm, ec)
		if err != nil {
			return err
		}
		if want := fmt.Appendf(nil, `{"order": %d,`, i); !bytes.HasPrefix(pt, want) {
			return fmt.Errorf("record %d decrypted to %q", i, pt)
		}
	}
	dst := mm.Stats()
	fmt.Fprintf(out, "decrypted %d records with %d calls to KMS\n", records, dst.InnerCalls-st.InnerCalls)
	fmt.Fprintf(out, "counters: %+v\n", dst)
	if srv != nil {
		fmt.Fprintf(out, "the test KMS answered %d GenerateDataKey and %d Decrypt requests\n", srv.Count("GenerateDataKey"), srv.Count("Decrypt"))
	}
	return nil
}

// regionOf returns the region of a KMS key ARN.
func regionOf(keyARN string) (string, error) {
	parts := strings.Split(keyARN, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || parts[3] == "" || !strings.HasPrefix(parts[5], "key/") {
		return "", fmt.Errorf("%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID)", keyARN)
	}
	return parts[3], nil
}
