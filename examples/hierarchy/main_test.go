package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHierarchyExampleAgainstTestEndpoints(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"using a test DynamoDB at http://127.0.0.1:", "tenant acme: branch key ", "tenant globex: branch key ",
		`acme: `, `decrypted: "message 0 of globex"`,
		// One active and one version fetch per tenant: a GetItem and a KMS Decrypt each.
		"100 messages encrypted and decrypted: 4 DynamoDB GetItem, 4 KMS Decrypt",
		`after VersionKey, acme's first message still decrypts: "message 0 of acme"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestHierarchyExampleRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"table"}, {"table", "alias/x"}, {"table", "arn:aws:kms:us-west-2:111122223333:alias/x"}, {"a", "b", "c"}} {
		if err := run(context.Background(), args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
