package keystore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/kmsprovider/ddbtest"
	"github.com/go-esdk/esdk/kmsprovider/keystore"
	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

const (
	west    = "us-west-2"
	east    = "us-east-1"
	account = "111122223333"
	table   = "BranchKeys"
	logical = "branch-keys"
)

// fastRetries retries three times without waiting, so that tests of
// throttling past the retries are quick.
func fastRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}

// env is a DynamoDB and a KMS endpoint, a KMS key and a store over them.
type env struct {
	ddb    *ddbtest.Server
	kms    *kmstest.Server
	ddbc   *dynamodb.Client
	kmsc   *kms.Client
	keyARN string
	store  *keystore.Store
}

func newEnv(t *testing.T, optFns ...func(*keystore.StoreOptions)) *env {
	t.Helper()
	e := &env{ddb: ddbtest.NewServer(), kms: kmstest.NewServer()}
	t.Cleanup(e.ddb.Close)
	t.Cleanup(e.kms.Close)
	e.ddbc = e.ddb.Client(west, account, func(o *dynamodb.Options) { o.Retryer = fastRetries() })
	e.kmsc = e.kms.Client(west, account, func(o *kms.Options) { o.Retryer = fastRetries() })
	out, err := e.kmsc.CreateKey(context.Background(), &kms.CreateKeyInput{})
	require.NoError(t, err)
	e.keyARN = aws.ToString(out.KeyMetadata.Arn)
	e.store = e.newStore(t, keystore.KMSConfiguration{KeyARN: e.keyARN}, optFns...)
	_, err = e.store.CreateKeyStore(context.Background())
	require.NoError(t, err)
	return e
}

// newStore returns another store over e's table and KMS client.
func (e *env) newStore(t *testing.T, c keystore.KMSConfiguration, optFns ...func(*keystore.StoreOptions)) *keystore.Store {
	t.Helper()
	s, err := keystore.NewStore(keystore.StoreOptions{
		TableName:           table,
		LogicalKeyStoreName: logical,
		KMS:                 c,
		DynamoDB:            e.ddbc,
		KMSClient:           e.kmsc,
	}, optFns...)
	require.NoError(t, err)
	return s
}

// item reads an item of the table as it is.
func (e *env) item(t *testing.T, id, typ string) map[string]dynamodbAttr {
	t.Helper()
	out, err := e.ddbc.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]dynamodbAttr{"branch-key-id": str(id), "type": str(typ)},
	})
	require.NoError(t, err)
	require.NotEmpty(t, out.Item, "item %s %s", id, typ)
	return out.Item
}

// put writes an item as it is.
func (e *env) put(t *testing.T, item map[string]dynamodbAttr) {
	t.Helper()
	_, err := e.ddbc.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item})
	require.NoError(t, err)
}

// countingStore counts the calls to a BranchKeyStore and can hold them.
type countingStore struct {
	keystore.BranchKeyStore
	mu      sync.Mutex
	active  int
	version int
	gate    chan struct{} // when not nil, every call waits for it to close
	err     error         // when not nil, every call fails with it
	hook    func()        // when not nil, every call calls it first
}

func (s *countingStore) GetActiveBranchKey(ctx context.Context, id string) (*keystore.BranchKeyMaterials, error) {
	s.mu.Lock()
	s.active++
	gate, err, hook := s.gate, s.err, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	return s.BranchKeyStore.GetActiveBranchKey(ctx, id)
}

func (s *countingStore) GetBranchKeyVersion(ctx context.Context, id, version string) (*keystore.BranchKeyMaterials, error) {
	s.mu.Lock()
	s.version++
	gate, err, hook := s.gate, s.err, s.hook
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	return s.BranchKeyStore.GetBranchKeyVersion(ctx, id, version)
}

func (s *countingStore) counts() (active, version int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active, s.version
}

// clock is a fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
