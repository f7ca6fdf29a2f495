package kmstest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// Wrap and unwrap a data key with the real aws-sdk-go-v2 KMS client against
// an in-process KMS, as a test of your own code would: start the server,
// take a client (or an aws.Config) for a region and account, create the keys
// the test needs, then run the code under test and look at the calls it made.
func Example() {
	srv := kmstest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	// A *kms.Client for us-west-2 in account 111122223333. srv.Config returns
	// the aws.Config behind it, for code that builds its own clients.
	client := srv.Client("us-west-2", "111122223333")

	key, err := client.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("test key")})
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: key.KeyMetadata.KeyId})
	if err != nil {
		log.Fatal(err)
	}
	srv.ResetCalls() // assert on the code under test only

	// The code under test.
	ec := map[string]string{"purpose": "example"}
	dk, err := client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId: aws.String("alias/app"), KeySpec: types.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("response names the key ARN:", *dk.KeyId == *key.KeyMetadata.Arn)

	srv.ThrottleNext(2) // the SDK's retryer absorbs two throttles
	plain, err := client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("data key unwrapped:", bytes.Equal(plain.Plaintext, dk.Plaintext))

	// Another encryption context does not decrypt: KMS's own error type.
	_, err = client.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	var invalid *types.InvalidCiphertextException
	fmt.Println("wrong context:", errors.As(err, &invalid))

	for _, c := range srv.Calls() {
		result := c.Error
		if result == "" {
			result = "ok"
		}
		fmt.Println(c.Operation, c.Region, c.Account, result)
	}
	// Output:
	// response names the key ARN: true
	// data key unwrapped: true
	// wrong context: true
	// GenerateDataKey us-west-2 111122223333 ok
	// Decrypt us-west-2 111122223333 ThrottlingException
	// Decrypt us-west-2 111122223333 ThrottlingException
	// Decrypt us-west-2 111122223333 ok
	// Decrypt us-west-2 111122223333 InvalidCiphertextException
}

// Use a key of another account, as that key's policy would allow it, over
// TLS and with every request's signature verified.
func ExampleServer_AllowKey() {
	srv := kmstest.NewServer(func(o *kmstest.Options) {
		o.TLS = true
		o.VerifySignatures = true
	})
	defer srv.Close()
	ctx := context.Background()

	owner := srv.Client("us-west-2", "444455556666")
	key, err := owner.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		log.Fatal(err)
	}
	keyARN := key.KeyMetadata.Arn

	user := srv.Client("us-west-2", "111122223333")
	_, err = user.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: keyARN, KeySpec: types.DataKeySpecAes256})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		fmt.Println("before AllowKey:", apiErr.ErrorCode())
	}

	srv.AllowKey(*keyARN, "111122223333") // or an IAM role ARN of that account
	_, err = user.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: keyARN, KeySpec: types.DataKeySpecAes256})
	fmt.Println("after AllowKey:", err == nil)
	// Output:
	// before AllowKey: AccessDeniedException
	// after AllowKey: true
}
