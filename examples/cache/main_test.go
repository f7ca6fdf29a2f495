package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCacheExampleAgainstTestKMS(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"using a test KMS at http://127.0.0.1:",
		"encrypted 1000 records with 10 calls to KMS (990 cache hits)",
		"decrypted 1000 records with 10 calls to KMS",
		"the test KMS answered 10 GenerateDataKey and 10 Decrypt requests",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestCacheExampleRejectsBadArguments(t *testing.T) {
	for _, args := range [][]string{{"alias/orders"}, {"a", "b"}} {
		if err := run(context.Background(), args, new(bytes.Buffer)); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
