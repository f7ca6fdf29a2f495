package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

// ddbEndpointEnv points the branch key store's DynamoDB client at another
// endpoint: a testing aid, for a local DynamoDB such as
// kmsprovider/ddbtest or dynalite.
const ddbEndpointEnv = "ESDK_DYNAMODB_ENDPOINT"

// defaultHierarchyTTL is how long the CLI keeps a branch key version: one
// run is short, so one fetch per version serves it whole.
const defaultHierarchyTTL = 10 * time.Minute

// hierarchyKeyring builds the hierarchical keyring of
// hierarchy=BRANCH_KEY_ID,table=TABLE,kms=KMS_KEY_ARN: a branch key store
// on the table, in the KMS key's region, its logical name the table's
// unless logical-name= says otherwise.
func (ks *keys) hierarchyKeyring(ctx context.Context, k *keySpec) (keyring.Keyring, error) {
	keyARN := k.opt("kms")
	region := k.opt("region")
	if region == "" {
		region = arnRegion(keyARN)
	}
	if _, err := ks.kms.supplier(ctx, ""); err != nil {
		return nil, err
	}
	kmsClient, err := ks.kms.rc.KMSClient(region)
	if err != nil {
		return nil, err
	}
	ddb := dynamodb.NewFromConfig(ks.kms.cfg, func(o *dynamodb.Options) {
		if region != "" {
			o.Region = region
		}
		if ep := os.Getenv(ddbEndpointEnv); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	logical := k.opt("logical-name")
	if logical == "" {
		logical = k.opt("table")
	}
	store, err := keystore.NewStore(keystore.StoreOptions{
		TableName:           k.opt("table"),
		LogicalKeyStoreName: logical,
		KMS:                 keystore.KMSConfiguration{KeyARN: keyARN},
		DynamoDB:            ddb,
		KMSClient:           kmsClient,
	})
	if err != nil {
		return nil, err
	}
	ttl := defaultHierarchyTTL
	if s := k.opt("ttl"); s != "" {
		if ttl, err = time.ParseDuration(s); err != nil || ttl <= 0 {
			return nil, usagef("--wrapping-key %q: ttl=%s: want a positive duration such as 5m", k.text, s)
		}
	}
	return keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: store, BranchKeyID: k.value, TTL: ttl})
}

// checkHierarchySpec checks the options of a hierarchy key.
func checkHierarchySpec(k *keySpec) error {
	bad := func(format string, args ...any) error {
		return usagef("--wrapping-key %q: %s (see \"esdk help keys\")", k.text, fmt.Sprintf(format, args...))
	}
	if k.opt("table") == "" || k.opt("kms") == "" {
		return bad("hierarchy keys need table= (the branch key store's DynamoDB table) and kms= (the KMS key ARN that protects its branch keys)")
	}
	if arnRegion(k.opt("kms")) == "" {
		return bad("kms=%s: want the KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", k.opt("kms"))
	}
	if s := k.opt("ttl"); s != "" {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return bad("ttl=%s: want a positive duration such as 5m", s)
		}
	}
	return nil
}
