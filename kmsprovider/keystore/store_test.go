package keystore_test

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/kmsprovider/keystore"
)

var ctx = context.Background()

func TestNewStoreOptions(t *testing.T) {
	e := newEnv(t)
	good := keystore.StoreOptions{TableName: table, LogicalKeyStoreName: logical, KMS: keystore.KMSConfiguration{KeyARN: e.keyARN}, DynamoDB: e.ddbc, KMSClient: e.kmsc}
	for name, tc := range map[string]struct {
		fn   func(*keystore.StoreOptions)
		want string
	}{
		"no table":        {func(o *keystore.StoreOptions) { o.TableName = "" }, "TableName"},
		"no logical name": {func(o *keystore.StoreOptions) { o.LogicalKeyStoreName = "" }, "LogicalKeyStoreName"},
		"no DynamoDB":     {func(o *keystore.StoreOptions) { o.DynamoDB = nil }, "DynamoDB"},
		"nil DynamoDB":    {func(o *keystore.StoreOptions) { o.DynamoDB = (*dynamodb.Client)(nil) }, "DynamoDB"},
		"no KMS client":   {func(o *keystore.StoreOptions) { o.KMSClient = nil }, "KMSClient"},
		"no KMS config":   {func(o *keystore.StoreOptions) { o.KMS = keystore.KMSConfiguration{} }, "exactly one"},
		"two KMS configs": {func(o *keystore.StoreOptions) { o.KMS.Discovery = true }, "exactly one"},
		"alias":           {func(o *keystore.StoreOptions) { o.KMS.KeyARN = "arn:aws:kms:us-west-2:111122223333:alias/x" }, "alias"},
		"not an ARN":      {func(o *keystore.StoreOptions) { o.KMS.KeyARN = "1234abcd" }, "StoreOptions.KMS.KeyARN must be an AWS KMS key ARN"},
		"MRK alias": {func(o *keystore.StoreOptions) {
			o.KMS = keystore.KMSConfiguration{MRKKeyARN: "arn:aws:kms:us-west-2:111122223333:alias/mrk-x"}
		}, "StoreOptions.KMS.MRKKeyARN must be an AWS KMS key ARN, never an alias: \"arn:aws:kms:us-west-2:111122223333:alias/mrk-x\" is an alias ARN"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := keystore.NewStore(good, tc.fn)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "esdk/keystore: "), err.Error())
		})
	}
	s, err := keystore.NewStore(good)
	require.NoError(t, err)
	info := s.Info()
	require.Equal(t, table, info.TableName)
	require.Equal(t, logical, info.LogicalKeyStoreName)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, info.ID)
}

func TestCreateKeyStore(t *testing.T) {
	e := newEnv(t)
	// newEnv made the table; a second call finds it.
	arn, err := e.store.CreateKeyStore(ctx)
	require.NoError(t, err)
	require.Equal(t, "arn:aws:dynamodb:us-west-2:111122223333:table/"+table, arn)
	require.Equal(t, 1, e.ddb.Count("CreateTable"))

	// A table of another key schema is refused.
	_, err = e.ddbc.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("Other"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	require.NoError(t, err)
	other, err := keystore.NewStore(keystore.StoreOptions{TableName: "Other", LogicalKeyStoreName: "o", KMS: keystore.KMSConfiguration{KeyARN: e.keyARN}, DynamoDB: e.ddbc, KMSClient: e.kmsc})
	require.NoError(t, err)
	_, err = other.CreateKeyStore(ctx)
	require.ErrorIs(t, err, keystore.ErrTableSchema)

	// DynamoDB failing is reported as that.
	e.ddb.FailTable("Third", "InternalServerError")
	third, err := keystore.NewStore(keystore.StoreOptions{TableName: "Third", LogicalKeyStoreName: "t", KMS: keystore.KMSConfiguration{KeyARN: e.keyARN}, DynamoDB: e.ddbc, KMSClient: e.kmsc})
	require.NoError(t, err)
	_, err = third.CreateKeyStore(ctx)
	require.ErrorIs(t, err, keystore.ErrDynamoDB)
	require.ErrorAs(t, err, new(*ddbtypes.InternalServerError))
}

var createTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// TestCreateKeyItems checks the three items CreateKey writes, attribute
// by attribute, and the KMS calls it makes.
func TestCreateKeyItems(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("x", 3600))
	e := newEnv(t, func(o *keystore.StoreOptions) {
		o.Now = func() time.Time { return now }
		o.GrantTokens = []string{"gt"}
	})
	e.kms.ResetCalls()
	id, err := e.store.CreateKey(ctx, keystore.WithBranchKeyID("tenant-1", map[string]string{"department": "admin"}))
	require.NoError(t, err)
	require.Equal(t, "tenant-1", id)

	var ops []string
	for _, c := range e.kms.Calls() {
		ops = append(ops, c.Operation)
		require.Equal(t, e.keyARN, c.KeyID)
	}
	require.Equal(t, []string{"GenerateDataKeyWithoutPlaintext", "ReEncrypt", "GenerateDataKeyWithoutPlaintext"}, ops)

	active := e.item(t, id, "branch:ACTIVE")
	version := sOf(active["version"])
	require.True(t, strings.HasPrefix(version, "branch:version:"), version)
	decryptOnly := e.item(t, id, version)
	beacon := e.item(t, id, "beacon:ACTIVE")
	for name, item := range map[string]map[string]dynamodbAttr{"active": active, "version": decryptOnly, "beacon": beacon} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, "tenant-1", sOf(item["branch-key-id"]))
			require.Equal(t, e.keyARN, sOf(item["kms-arn"]))
			require.Equal(t, "2026-03-04T04:06:07.891234Z", sOf(item["create-time"]))
			require.Regexp(t, createTime, sOf(item["create-time"]))
			require.Equal(t, num("1"), item["hierarchy-version"])
			require.Equal(t, "admin", sOf(item["aws-crypto-ec:department"]))
			require.NotEmpty(t, bOf(item["enc"]))
			require.NotContains(t, item, "tablename")
			want := 7
			if name == "active" {
				want = 8
			}
			require.Len(t, item, want)
		})
	}
	require.NotContains(t, decryptOnly, "version")
	require.NotContains(t, beacon, "version")

	// Each wrapped key decrypts under exactly the specification's
	// encryption context, the logical key store name as "tablename".
	ec := func(item map[string]dynamodbAttr) map[string]string {
		m := map[string]string{"tablename": logical}
		for k, v := range item {
			switch k {
			case "enc":
			case "hierarchy-version":
				m[k] = v.(*ddbtypes.AttributeValueMemberN).Value
			default:
				m[k] = sOf(v)
			}
		}
		return m
	}
	keys := map[string][]byte{}
	for name, item := range map[string]map[string]dynamodbAttr{"active": active, "version": decryptOnly, "beacon": beacon} {
		out, err := e.kmsc.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: bOf(item["enc"]), EncryptionContext: ec(item), KeyId: aws.String(e.keyARN)})
		require.NoError(t, err, name)
		require.Len(t, out.Plaintext, 32)
		keys[name] = out.Plaintext
	}
	require.Equal(t, keys["active"], keys["version"], "the active item is a copy of its version")
	require.NotEqual(t, keys["active"], keys["beacon"])

	got, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	require.Equal(t, keys["active"], got.BranchKey)
	require.Equal(t, strings.TrimPrefix(version, "branch:version:"), got.BranchKeyVersion)
	require.Equal(t, map[string]string{"department": "admin"}, got.EncryptionContext)
	v, err := e.store.GetBranchKeyVersion(ctx, id, got.BranchKeyVersion)
	require.NoError(t, err)
	require.Equal(t, got, v)
	b, err := e.store.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	require.Equal(t, keys["beacon"], b.BeaconKey)
	require.Equal(t, map[string]string{"department": "admin"}, b.EncryptionContext)
}

func TestCreateKeyInputs(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	m, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	require.Empty(t, m.EncryptionContext)

	// A caller's own id needs an encryption context.
	_, err = e.store.CreateKey(ctx, keystore.WithBranchKeyID("mine", nil))
	require.ErrorContains(t, err, "needs an encryption context")
	_, err = e.store.CreateKey(ctx, keystore.WithBranchKeyID("mine", map[string]string{"\xff": "x"}))
	require.ErrorContains(t, err, "UTF-8")

	// An id that exists: the transaction's conditions refuse it and
	// nothing is overwritten.
	_, err = e.store.CreateKey(ctx, keystore.WithBranchKeyID("mine", map[string]string{"a": "b"}))
	require.NoError(t, err)
	before := e.item(t, "mine", "branch:ACTIVE")
	_, err = e.store.CreateKey(ctx, keystore.WithBranchKeyID("mine", map[string]string{"a": "c"}))
	require.ErrorIs(t, err, keystore.ErrBranchKeyExists)
	require.ErrorAs(t, err, new(*ddbtypes.TransactionCanceledException))
	require.Equal(t, before, e.item(t, "mine", "branch:ACTIVE"))
}

// TestCreateKeyConcurrent: of many CreateKey calls with one id, one wins.
func TestCreateKeyConcurrent(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.store.CreateKey(ctx, keystore.WithBranchKeyID("contested", map[string]string{"n": "x"}))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, keystore.ErrBranchKeyExists)
	}
	require.Equal(t, 1, won)
}

func TestVersionKey(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx, keystore.WithEncryptionContext(map[string]string{"tenant": "acme"}))
	require.NoError(t, err)
	first, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	oldActive := e.item(t, id, "branch:ACTIVE")

	e.kms.ResetCalls()
	require.NoError(t, e.store.VersionKey(ctx, id))
	var ops []string
	for _, c := range e.kms.Calls() {
		ops = append(ops, c.Operation)
	}
	require.Equal(t, []string{"ReEncrypt", "GenerateDataKeyWithoutPlaintext", "ReEncrypt"}, ops)

	second, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	require.NotEqual(t, first.BranchKeyVersion, second.BranchKeyVersion)
	require.NotEqual(t, first.BranchKey, second.BranchKey)
	require.Equal(t, first.EncryptionContext, second.EncryptionContext)
	newActive := e.item(t, id, "branch:ACTIVE")
	require.Equal(t, oldActive["kms-arn"], newActive["kms-arn"])

	// The old version stays readable, and so does the new one.
	old, err := e.store.GetBranchKeyVersion(ctx, id, first.BranchKeyVersion)
	require.NoError(t, err)
	require.Equal(t, first.BranchKey, old.BranchKey)
	cur, err := e.store.GetBranchKeyVersion(ctx, id, second.BranchKeyVersion)
	require.NoError(t, err)
	require.Equal(t, second.BranchKey, cur.BranchKey)

	err = e.store.VersionKey(ctx, "no-such-key")
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)
}

// racingDynamoDB runs hook once, before the first TransactWriteItems.
type racingDynamoDB struct {
	keystore.DynamoDBAPI
	once sync.Once
	hook func()
}

func (d *racingDynamoDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	d.once.Do(d.hook)
	return d.DynamoDBAPI.TransactWriteItems(ctx, in, optFns...)
}

// TestVersionKeyConflict: another VersionKey between this one's read and
// its write makes this one fail, and writes nothing of it.
func TestVersionKeyConflict(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	racing := &racingDynamoDB{DynamoDBAPI: e.ddbc}
	slow := e.newStore(t, keystore.KMSConfiguration{KeyARN: e.keyARN}, func(o *keystore.StoreOptions) { o.DynamoDB = racing })
	racing.hook = func() { require.NoError(t, e.store.VersionKey(ctx, id)) }
	err = slow.VersionKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrVersionConflict)
	require.ErrorAs(t, err, new(*ddbtypes.TransactionCanceledException))

	// Only the winner's version was written: two version items in all.
	out, err := e.ddbc.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    aws.String("#id = :id AND begins_with(#t, :v)"),
		ExpressionAttributeNames:  map[string]string{"#id": "branch-key-id", "#t": "type"},
		ExpressionAttributeValues: map[string]dynamodbAttr{":id": str(id), ":v": str("branch:version:")},
	})
	require.NoError(t, err)
	require.Len(t, out.Items, 2)
	active, err := e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	_, err = e.store.GetBranchKeyVersion(ctx, id, active.BranchKeyVersion)
	require.NoError(t, err)
}

func TestVersionKeyConcurrent(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = e.store.VersionKey(ctx, id) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, keystore.ErrVersionConflict)
		}
	}
	_, err = e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
}

func TestMissing(t *testing.T) {
	e := newEnv(t)
	_, err := e.store.GetActiveBranchKey(ctx, "nobody")
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)
	var se *keystore.Error
	require.ErrorAs(t, err, &se)
	require.Equal(t, "GetActiveBranchKey", se.Op)
	require.Equal(t, "nobody", se.BranchKeyID)

	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	_, err = e.store.GetBranchKeyVersion(ctx, id, "00000000-0000-4000-8000-000000000000")
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)
	_, err = e.store.GetBranchKeyVersion(ctx, id, "not-a-uuid")
	require.ErrorContains(t, err, "UUID")
	_, err = e.store.GetBeaconKey(ctx, "nobody")
	require.ErrorIs(t, err, keystore.ErrBranchKeyNotFound)

	noTable := e.newStore(t, keystore.KMSConfiguration{KeyARN: e.keyARN}, func(o *keystore.StoreOptions) { o.TableName = "NoSuchTable" })
	_, err = noTable.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrTableNotFound)
	require.ErrorAs(t, err, new(*ddbtypes.ResourceNotFoundException))
	_, err = noTable.CreateKey(ctx)
	require.ErrorIs(t, err, keystore.ErrTableNotFound)
}

func TestThrottled(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)

	// Within the client's retries: answered.
	e.ddb.ThrottleNext(2)
	_, err = e.store.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	// Past them: the throttling error, reachable.
	e.ddb.ThrottleNext(3)
	_, err = e.store.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrDynamoDB)
	require.ErrorAs(t, err, new(*ddbtypes.ProvisionedThroughputExceededException))

	e.kms.ThrottleNext(3)
	_, err = e.store.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrKMS)
	require.ErrorContains(t, err, "ThrottlingException")

	e.ddb.ThrottleNext(3)
	err = e.store.VersionKey(ctx, id)
	require.ErrorAs(t, err, new(*ddbtypes.ProvisionedThroughputExceededException))
}

func TestKMSFailures(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx)
	require.NoError(t, err)
	e.kms.FailKey(e.keyARN, "DisabledException")
	_, err = e.store.GetActiveBranchKey(ctx, id)
	require.ErrorIs(t, err, keystore.ErrKMS)
	require.ErrorAs(t, err, new(*kmstypes.DisabledException))
	_, err = e.store.CreateKey(ctx)
	require.ErrorAs(t, err, new(*kmstypes.DisabledException))
	err = e.store.VersionKey(ctx, id)
	require.ErrorAs(t, err, new(*kmstypes.DisabledException))
	e.kms.FailKey(e.keyARN, "")

	// A context that ends during a call ends it.
	e.ddb.SetLatency(10 * time.Second)
	c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = e.store.GetActiveBranchKey(c, id)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	e.ddb.SetLatency(0)
}

// TestHandEditedItems edits the active item in ways the specification
// rules out, and in ways only KMS can tell: every one is an error.
func TestHandEditedItems(t *testing.T) {
	e := newEnv(t)
	id, err := e.store.CreateKey(ctx, keystore.WithEncryptionContext(map[string]string{"tenant": "acme"}))
	require.NoError(t, err)
	good := e.item(t, id, "branch:ACTIVE")
	version := strings.TrimPrefix(sOf(good["version"]), "branch:version:")
	other, err := e.kmsc.CreateKey(ctx, &kms.CreateKeyInput{})
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		edit func(map[string]dynamodbAttr)
		kind error
	}{
		"no enc":                     {func(m map[string]dynamodbAttr) { delete(m, "enc") }, keystore.ErrInvalidItem},
		"enc a string":               {func(m map[string]dynamodbAttr) { m["enc"] = str("abc") }, keystore.ErrInvalidItem},
		"enc empty":                  {func(m map[string]dynamodbAttr) { m["enc"] = bin([]byte{}) }, keystore.ErrInvalidItem},
		"no kms-arn":                 {func(m map[string]dynamodbAttr) { delete(m, "kms-arn") }, keystore.ErrInvalidItem},
		"kms-arn an alias":           {func(m map[string]dynamodbAttr) { m["kms-arn"] = str("arn:aws:kms:us-west-2:111122223333:alias/x") }, keystore.ErrInvalidItem},
		"kms-arn not an ARN":         {func(m map[string]dynamodbAttr) { m["kms-arn"] = str("key") }, keystore.ErrInvalidItem},
		"kms-arn another key":        {func(m map[string]dynamodbAttr) { m["kms-arn"] = str(*other.KeyMetadata.Arn) }, keystore.ErrKMSARNMismatch},
		"kms-arn a number":           {func(m map[string]dynamodbAttr) { m["kms-arn"] = num("1") }, keystore.ErrInvalidItem},
		"no create-time":             {func(m map[string]dynamodbAttr) { delete(m, "create-time") }, keystore.ErrInvalidItem},
		"create-time edited":         {func(m map[string]dynamodbAttr) { m["create-time"] = str("2000-01-01T00:00:00.000000Z") }, keystore.ErrKMS},
		"no hierarchy-version":       {func(m map[string]dynamodbAttr) { delete(m, "hierarchy-version") }, keystore.ErrInvalidItem},
		"hierarchy-version a string": {func(m map[string]dynamodbAttr) { m["hierarchy-version"] = str("1") }, keystore.ErrInvalidItem},
		"hierarchy-version 2":        {func(m map[string]dynamodbAttr) { m["hierarchy-version"] = num("2") }, keystore.ErrInvalidItem},
		"a tablename attribute":      {func(m map[string]dynamodbAttr) { m["tablename"] = str(logical) }, keystore.ErrInvalidItem},
		"no version":                 {func(m map[string]dynamodbAttr) { delete(m, "version") }, keystore.ErrInvalidItem},
		"version unprefixed":         {func(m map[string]dynamodbAttr) { m["version"] = str(version) }, keystore.ErrInvalidItem},
		"version upper case":         {func(m map[string]dynamodbAttr) { m["version"] = str("branch:version:" + strings.ToUpper(version)) }, keystore.ErrInvalidItem},
		"version not a UUID":         {func(m map[string]dynamodbAttr) { m["version"] = str("branch:version:1") }, keystore.ErrInvalidItem},
		"version another UUID": {func(m map[string]dynamodbAttr) {
			m["version"] = str("branch:version:00000000-0000-4000-8000-000000000000")
		}, keystore.ErrKMS},
		"custom context edited":   {func(m map[string]dynamodbAttr) { m["aws-crypto-ec:tenant"] = str("evil") }, keystore.ErrKMS},
		"custom context added":    {func(m map[string]dynamodbAttr) { m["aws-crypto-ec:extra"] = str("x") }, keystore.ErrKMS},
		"custom context a number": {func(m map[string]dynamodbAttr) { m["aws-crypto-ec:tenant"] = num("7") }, keystore.ErrInvalidItem},
		"enc of another item":     {func(m map[string]dynamodbAttr) { m["enc"] = e.item(t, id, "beacon:ACTIVE")["enc"] }, keystore.ErrKMS},
	} {
		t.Run(name, func(t *testing.T) {
			edited := maps.Clone(good)
			tc.edit(edited)
			e.put(t, edited)
			defer e.put(t, good)
			m, err := e.store.GetActiveBranchKey(ctx, id)
			require.ErrorIs(t, err, tc.kind)
			require.Nil(t, m)
			if tc.kind == keystore.ErrKMS {
				require.ErrorAs(t, err, new(*kmstypes.InvalidCiphertextException))
			}
			err = e.store.VersionKey(ctx, id)
			require.Error(t, err)
		})
	}
	// The version item is checked as well: its type must be the one asked for.
	vItem := e.item(t, id, "branch:version:"+version)
	edited := maps.Clone(vItem)
	edited["version"] = str("branch:version:" + version)
	e.put(t, edited)
	_, err = e.store.GetBranchKeyVersion(ctx, id, version)
	require.ErrorIs(t, err, keystore.ErrInvalidItem)
	e.put(t, vItem)
	_, err = e.store.GetBranchKeyVersion(ctx, id, version)
	require.NoError(t, err)
}

// TestKMSConfigurations reads one branch key, made under a multi-Region
// key, through stores of each KMS configuration.
func TestKMSConfigurations(t *testing.T) {
	e := newEnv(t)
	mrk, err := e.kmsc.CreateKey(ctx, &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	require.NoError(t, err)
	westARN := aws.ToString(mrk.KeyMetadata.Arn)
	rep, err := e.kmsc.ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: aws.String(westARN), ReplicaRegion: aws.String(east)})
	require.NoError(t, err)
	eastARN := aws.ToString(rep.ReplicaKeyMetadata.Arn)
	eastKMS := e.kms.Client(east, account)

	writer := e.newStore(t, keystore.KMSConfiguration{MRKKeyARN: westARN})
	id, err := writer.CreateKey(ctx)
	require.NoError(t, err)
	want, err := writer.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	inEast := func(c keystore.KMSConfiguration) *keystore.Store {
		return e.newStore(t, c, func(o *keystore.StoreOptions) { o.KMSClient = eastKMS })
	}
	for name, tc := range map[string]struct {
		store *keystore.Store
		kind  error
	}{
		"strict, same ARN":        {e.newStore(t, keystore.KMSConfiguration{KeyARN: westARN}), nil},
		"MRK, replica":            {inEast(keystore.KMSConfiguration{MRKKeyARN: eastARN}), nil},
		"strict, replica":         {inEast(keystore.KMSConfiguration{KeyARN: eastARN}), keystore.ErrKMSARNMismatch},
		"strict, another key":     {e.newStore(t, keystore.KMSConfiguration{KeyARN: e.keyARN}), keystore.ErrKMSARNMismatch},
		"MRK, another key":        {e.newStore(t, keystore.KMSConfiguration{MRKKeyARN: e.keyARN}), keystore.ErrKMSARNMismatch},
		"discovery":               {e.newStore(t, keystore.KMSConfiguration{Discovery: true}), nil},
		"MR discovery, east":      {inEast(keystore.KMSConfiguration{MRDiscoveryRegion: east}), nil},
		"discovery, wrong region": {inEast(keystore.KMSConfiguration{Discovery: true}), keystore.ErrKMS},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.store.GetActiveBranchKey(ctx, id)
			if tc.kind != nil {
				require.ErrorIs(t, err, tc.kind)
				return
			}
			require.NoError(t, err)
			require.Equal(t, want.BranchKey, got.BranchKey)
		})
	}
	// The MRK store in the east versions the key; kms-arn stays the west's.
	require.NoError(t, inEast(keystore.KMSConfiguration{MRKKeyARN: eastARN}).VersionKey(ctx, id))
	require.Equal(t, westARN, sOf(e.item(t, id, "branch:ACTIVE")["kms-arn"]))
	_, err = writer.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)

	// Discovery stores cannot write.
	for _, c := range []keystore.KMSConfiguration{{Discovery: true}, {MRDiscoveryRegion: east}} {
		s := e.newStore(t, c)
		_, err := s.CreateKey(ctx)
		require.ErrorIs(t, err, keystore.ErrReadOnly)
		require.ErrorIs(t, s.VersionKey(ctx, id), keystore.ErrReadOnly)
	}
}

func TestErrorStrings(t *testing.T) {
	err := &keystore.Error{Op: "GetActiveBranchKey", BranchKeyID: "b", Kind: keystore.ErrBranchKeyNotFound, Detail: "d", Err: errors.New("cause")}
	require.Equal(t, "esdk/keystore: GetActiveBranchKey branch key b: no such branch key: d: cause", err.Error())
}

// TestGrantTokens: every KMS call carries the store's grant tokens.
func TestGrantTokens(t *testing.T) {
	e := newEnv(t)
	tokens := []string{"grant-1", "grant-2"}
	s := e.newStore(t, keystore.KMSConfiguration{KeyARN: e.keyARN}, func(o *keystore.StoreOptions) { o.GrantTokens = tokens })
	tokens[0] = "changed" // the store keeps its own copy
	e.kms.ResetCalls()
	id, err := s.CreateKey(ctx)
	require.NoError(t, err)
	require.NoError(t, s.VersionKey(ctx, id))
	_, err = s.GetActiveBranchKey(ctx, id)
	require.NoError(t, err)
	_, err = s.GetBeaconKey(ctx, id)
	require.NoError(t, err)
	ops := map[string]int{}
	for _, c := range e.kms.Calls() {
		ops[c.Operation]++
		require.Equal(t, []string{"grant-1", "grant-2"}, c.GrantTokens, c.Operation)
		require.Equal(t, id, c.EncryptionContext["branch-key-id"], c.Operation)
	}
	for _, op := range []string{"Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncrypt"} {
		require.NotZero(t, ops[op], op)
	}
	require.Equal(t, []string{"grant-1", "grant-2"}, s.Info().GrantTokens)
}
