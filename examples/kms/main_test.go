package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestKMSExampleAgainstTestKMS(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"using a test KMS at http://127.0.0.1:", `provider "aws-kms", key arn:aws:kms:us-west-2:111122223333:key/`, `decrypted: "a secret that only this KMS key opens"`,
		"suite 0x0478", `provider "aws-kms-rsa", key arn:aws:kms:us-west-2:111122223333:key/`, `decrypted: "a secret that anyone can seal and only this RSA KMS key opens"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestKMSExampleRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"alias/orders"}, {"arn:aws:kms:us-west-2:111122223333:alias/orders"}, {"a", "b"},
		{"arn:aws:kms:us-west-2:111122223333:key/k", "alias/rsa"}, {"a", "b", "c"}} {
		if err := run(context.Background(), args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
