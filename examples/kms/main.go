// Command kms encrypts and decrypts a message whose data key is wrapped by
// AWS KMS, then one whose data key is wrapped by an asymmetric KMS RSA key.
//
//	go run ./examples/kms                          # against an in-process test KMS
//	go run ./examples/kms KEY_ARN [RSA_KEY_ARN]    # against AWS KMS
//
// With no argument it starts kmsprovider/kmstest, a KMS endpoint on the
// loopback interface, and creates both keys there, so it runs on any
// machine. Given the ARN of a symmetric KMS key, it calls AWS KMS in the
// key's region with the default credential chain (environment, shared
// config and credentials files, SSO, instance or container role): one
// GenerateDataKey to encrypt, one Decrypt to decrypt. Given also the ARN
// of an RSA KMS key with key usage ENCRYPT_DECRYPT, it fetches the public
// key once, encrypts with it locally and decrypts with one KMS Decrypt.
//
// The KMS RSA keyring works with unsigned algorithm suites only (its
// public key lets anyone write a message, so a signature would prove
// nothing), so that part encrypts with suite 0x0478 rather than the
// default 0x0578.
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
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
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
		client, rsaClient *kms.Client
		keyARN, rsaKeyARN string
	)
	switch len(args) {
	case 0:
		srv := kmstest.NewServer()
		defer srv.Close()
		client = srv.Client("us-west-2", kmstest.DefaultAccount)
		rsaClient = client
		created, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("examples/kms")})
		if err != nil {
			return err
		}
		keyARN = aws.ToString(created.KeyMetadata.Arn)
		created, err = client.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String("examples/kms RSA"),
			KeySpec:     types.KeySpecRsa2048,
			KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
		})
		if err != nil {
			return err
		}
		rsaKeyARN = aws.ToString(created.KeyMetadata.Arn)
		fmt.Fprintf(out, "using a test KMS at %s (pass a key ARN to use AWS KMS)\n", srv.URL)
	case 1, 2:
		for _, a := range args {
			if _, err := regionOf(a); err != nil {
				return err
			}
		}
		var err error
		if client, err = clientFor(ctx, args[0]); err != nil {
			return err
		}
		keyARN = args[0]
		if len(args) == 2 {
			if rsaClient, err = clientFor(ctx, args[1]); err != nil {
				return err
			}
			rsaKeyARN = args[1]
		}
	default:
		return errors.New("usage: kms [KEY_ARN [RSA_KEY_ARN]]")
	}
	if err := symmetric(ctx, out, client, keyARN); err != nil {
		return err
	}
	if rsaKeyARN == "" {
		return nil
	}
	return asymmetric(ctx, out, rsaClient, rsaKeyARN)
}

// clientFor returns a KMS client for the region of a key ARN.
func clientFor(ctx context.Context, keyARN string) (*kms.Client, error) {
	region, err := regionOf(keyARN)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return kms.NewFromConfig(cfg), nil
}

// symmetric encrypts and decrypts under a symmetric KMS key: KMS makes
// the data key and unwraps it.
func symmetric(ctx context.Context, out io.Writer, client *kms.Client, keyARN string) error {
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
	return roundTrip(ctx, out, esdk, mm, keyARN, []byte("a secret that only this KMS key opens"))
}

// asymmetric encrypts with the public key of an RSA KMS key, locally, and
// decrypts with KMS.
func asymmetric(ctx context.Context, out io.Writer, client *kms.Client, keyARN string) error {
	// One GetPublicKey call; a real program keeps the PEM (in its
	// configuration, say) and encrypts without any AWS access.
	pub, err := kmsprovider.FetchPublicKey(ctx, client, keyARN)
	if err != nil {
		return err
	}
	kr, err := kmsprovider.NewRSAKeyring(kmsprovider.RSAKeyringOptions{
		Client:              client, // nil for a keyring that only encrypts
		KeyID:               keyARN, // the key ARN: messages name their key by it
		EncryptionAlgorithm: types.EncryptionAlgorithmSpecRsaesOaepSha256,
		PublicKeyPEM:        pub,
	})
	if err != nil {
		return err
	}
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	// The KMS RSA keyring refuses signed suites (the default 0x0578
	// among them): 0x0478 is committing and unsigned.
	esdk, err := envelope.New(func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	if err != nil {
		return err
	}
	return roundTrip(ctx, out, esdk, mm, keyARN, []byte("a secret that anyone can seal and only this RSA KMS key opens"))
}

func roundTrip(ctx context.Context, out io.Writer, esdk *envelope.Client, mm envelope.MaterialsManager, keyARN string, plaintext []byte) error {
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
	fmt.Fprintf(out, "suite %s\n", h.Suite.ID())
	for _, e := range h.EncryptedDataKeys {
		fmt.Fprintf(out, "encrypted data key: provider %q, key %s, %d-byte ciphertext\n", e.ProviderID, e.ProviderInfo, len(e.Ciphertext))
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
