// Command kms encrypts and decrypts a message whose data key is wrapped by
// AWS KMS.
//
//	go run ./examples/kms                  # against an in-process test KMS
//	go run ./examples/kms KEY_ARN          # against AWS KMS
//
// With no argument it starts kmsprovider/kmstest, a KMS endpoint on the
// loopback interface, and creates a key there, so it runs on any machine.
// Given the ARN of a symmetric KMS key, it calls AWS KMS in the key's
// region with the default credential chain (environment, shared config
// and credentials files, SSO, instance or container role): one
// GenerateDataKey to encrypt, one Decrypt to decrypt.
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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/kmsprovider"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

func main() {
	log.SetFlags(0)
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		log.Fatal("kms: ", err)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var (
		client *kms.Client
		keyARN string
		err    error
	)
	switch len(args) {
	case 0:
		srv := kmstest.NewServer()
		defer srv.Close()
		client = srv.Client("us-west-2", kmstest.DefaultAccount)
		created, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("examples/kms")})
		if err != nil {
			return err
		}
		keyARN = aws.ToString(created.KeyMetadata.Arn)
		fmt.Fprintf(out, "using a test KMS at %s (pass a key ARN to use AWS KMS)\n", srv.URL)
	case 1:
		keyARN = args[0]
		region, err := regionOf(keyARN)
		if err != nil {
			return err
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return fmt.Errorf("loading the AWS configuration: %w", err)
		}
		client = kms.NewFromConfig(cfg)
	default:
		return errors.New("usage: kms [KEY_ARN]")
	}

	kr, err := kmsprovider.NewKeyring(kmsprovider.KeyringOptions{
		Client: client,
		KeyID:  keyARN,
	})
	if err != nil {
		return err
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	esdk, err := envelope.New() // suite 0x0578: committing, signed
	if err != nil {
		return err
	}
	plaintext := []byte("a secret that only this KMS key opens")
	ec := map[string]string{"purpose": "example", "team": "payments"}
	msg, err := esdk.EncryptBytes(ctx, plaintext, mm, ec)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "encrypted %d bytes into a %d-byte message under %s\n", len(plaintext), len(msg), keyARN)

	pt, h, err := esdk.DecryptBytes(ctx, msg, mm, ec)
	if err != nil {
		return err
	}
	if !bytes.Equal(pt, plaintext) {
		return errors.New("decrypted text differs")
	}
	for _, e := range h.EncryptedDataKeys {
		fmt.Fprintf(out, "encrypted data key: provider %q, key %s, %d-byte KMS ciphertext\n", e.ProviderID, e.ProviderInfo, len(e.Ciphertext))
	}
	fmt.Fprintf(out, "decrypted: %q\n", pt)
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
