package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestECDHExample(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-----BEGIN PUBLIC KEY-----",
		`Bob (discovery) decrypted it: "a note for Bob's eyes only"`,
		"the sender's keyring cannot read it back",
		`Bob, from Alice only (static) decrypted it`,
		`Alice, her own message (static) decrypted it`,
		"Carol's private key cannot read it",
		"are for other public keys",
		"created a KMS key agreement key (ECC_NIST_P256): arn:aws:kms:us-west-2:111122223333:key/",
		`the KMS key (discovery) decrypted it`,
		"with 1 KMS DeriveSharedSecret call",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
