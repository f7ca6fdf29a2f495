package keystore_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider/ddbtest/dynalite"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

// TestDynalite runs the store's read path, and the keyring over it,
// against dynalite, a third-party DynamoDB. dynalite has no
// TransactWriteItems, so CreateKey and VersionKey run against ddbtest
// only: the branch key's items are made there and copied into dynalite
// with PutItem, as they are.
func TestDynalite(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx, keystore.WithEncryptionContext(map[string]string{"tenant": "acme"}))
	require.NoError(t, err)
	first, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	require.NoError(t, e.store.VersionKey(ctx, id))
	second, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	d := dynalite.NewServer(t)
	dc := d.Client(west, account)
	dstore, err := keystore.NewStore(keystore.StoreOptions{
		TableName: table, LogicalKeyStoreName: logical,
		KMS:      keystore.KMSConfiguration{KeyARN: e.keyARN},
		DynamoDB: dc, KMSClient: e.kmsc,
	})
	require.NoError(t, err)
	// CreateKeyStore makes the table with DescribeTable and CreateTable,
	// which dynalite has; its tables turn ACTIVE a moment later.
	_, err = dstore.CreateKeyStore(ctx)
	require.NoError(t, err)
	require.NoError(t, dynamodb.NewTableExistsWaiter(dc).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 30*time.Second))
	_, err = dstore.CreateKeyStore(ctx)
	require.NoError(t, err)

	for _, typ := range []string{"branch:ACTIVE", "beacon:ACTIVE", "branch:version:" + first.BranchKeyVersion, "branch:version:" + second.BranchKeyVersion} {
		_, err := dc.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: e.item(t, id, typ)})
		require.NoError(t, err)
	}

	got, err := dstore.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	require.Equal(t, second, got)
	got, err = dstore.GetBranchKeyVersion(ctx, id, first.BranchKeyVersion)
	require.NoError(t, err)
	require.Equal(t, first.BranchKey, got.BranchKey)
	_, err = dstore.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	_, err = dstore.GetActiveBranchKey(ctx, "nobody")
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)

	// A hand-edited row in dynalite is refused as well.
	edited := e.item(t, id, "branch:ACTIVE")
	edited["hierarchy-version"] = &types.AttributeValueMemberS{Value: "1"}
	_, err = dc.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: edited})
	require.NoError(t, err)
	_, err = dstore.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrInvalidItem)
	_, err = dc.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: e.item(t, id, "branch:ACTIVE")})
	require.NoError(t, err)

	// dynalite refuses the transaction CreateKey needs, and the store
	// says DynamoDB failed.
	_, err = dstore.CreateKey(ctx)
	require.ErrorIs(t, err, keystore.ErrDynamoDB)

	// The keyring over dynalite encrypts under the active version and
	// decrypts what the ddbtest keyring wrote under either version.
	kr := func(s keystore.BranchKeyStore) *keystore.HierarchicalKeyring {
		k, err := keystore.NewHierarchicalKeyring(keystore.HierarchicalKeyringOptions{KeyStore: s, BranchKeyID: id, TTL: time.Minute})
		require.NoError(t, err)
		return k
	}
	dkr, ekr := kr(dstore), kr(e.store)
	for _, pair := range [][2]keyring.Keyring{{dkr, ekr}, {ekr, dkr}, {dkr, dkr}} {
		enc := encryptWith(t, pair[0], map[string]string{"purpose": "dynalite"})
		decryptWith(t, pair[1], enc)
	}
	// A message under the first version, decrypted through dynalite.
	old := wrapUnder(t, first, map[string]string{"purpose": "old"})
	decryptWith(t, dkr, old)
}
