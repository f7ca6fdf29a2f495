package ddbtest

import (
	"context"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

func TestThrottleThenSuccess(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	srv.ResetCalls()

	srv.ThrottleNext(2)
	it := getItem(t, c, "keys", "a", "branch:ACTIVE")
	require.Nil(t, it)
	require.Equal(t, []Call{
		{Operation: "GetItem", Region: west, Account: account, Table: "keys", Error: "ProvisionedThroughputExceededException"},
		{Operation: "GetItem", Region: west, Account: account, Table: "keys", Error: "ProvisionedThroughputExceededException"},
		{Operation: "GetItem", Region: west, Account: account, Table: "keys"},
	}, srv.Calls())
	require.Equal(t, 3, srv.Count("GetItem"))
	require.Equal(t, 3, srv.Count(""))
	require.Zero(t, srv.Count("PutItem"))

	// A transaction is throttled and retried the same way.
	srv.ResetCalls()
	srv.ThrottleNext(1)
	require.NoError(t, transact(c, createKeyItems("keys", "bk")))
	require.Equal(t, 2, srv.Count("TransactWriteItems"))
	require.NotNil(t, getItem(t, c, "keys", "bk", "beacon:ACTIVE"))
}

func TestThrottlePastRetryBudget(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	srv.ResetCalls()

	srv.ThrottleNext(3)
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("keys"), Item: key("a", "b")})
	requireCode(t, err, "ProvisionedThroughputExceededException")
	var pte *types.ProvisionedThroughputExceededException
	require.ErrorAs(t, err, &pte)
	var maxAttempts *retry.MaxAttemptsError
	require.ErrorAs(t, err, &maxAttempts)
	require.Equal(t, 3, maxAttempts.Attempt)
	require.Equal(t, 3, srv.Count("PutItem"))
	require.Nil(t, getItem(t, c, "keys", "a", "b"), "a throttled write changes nothing")

	// Fewer attempts configured on the client: fewer calls.
	srv.ResetCalls()
	srv.ThrottleNext(5)
	c1 := srv.Client(west, account, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	_, err = c1.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("keys"), Key: key("a", "b")})
	requireCode(t, err, "ProvisionedThroughputExceededException")
	require.Equal(t, 1, srv.Count("GetItem"))
	srv.ThrottleNext(0)
	_, err = c1.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("keys"), Key: key("a", "b")})
	require.NoError(t, err)
}

func TestLatencyCancelled(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	srv.ResetCalls()
	srv.SetLatency(time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: createKeyItems("keys", "bk")})
	require.Error(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return srv.Count("TransactWriteItems") == 1 }, 10*time.Second, time.Millisecond,
		"the server sees the request end")
	require.Equal(t, "RequestCanceled", srv.Calls()[0].Error)

	srv.SetLatency(0)
	require.Nil(t, getItem(t, c, "keys", "bk", "beacon:ACTIVE"), "a cancelled request changes nothing")

	// Close ends requests waiting in latency.
	srv.SetLatency(time.Hour)
	done := make(chan error)
	go func() {
		_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("keys"), Key: key("a", "b")})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the request reach the server
	srv.Close()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end a request waiting in latency")
	}
}

func TestFailTable(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	createTable(t, c, "other")
	srv.ResetCalls()

	srv.FailTable("keys", "InternalServerError")
	_, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("keys"), Key: key("a", "b")})
	requireCode(t, err, "InternalServerError")
	var ise *types.InternalServerError
	require.ErrorAs(t, err, &ise)
	require.Equal(t, 3, srv.Count("GetItem"), "the SDK retries a 500")

	srv.FailTable("keys", "AccessDeniedException")
	err = transact(c, []types.TransactWriteItem{put("other", key("a", "b"), "", nil), put("keys", key("a", "b"), "", nil)})
	requireCode(t, err, "AccessDeniedException")
	require.Nil(t, getItem(t, c, "other", "a", "b"), "a failed transaction writes nothing")
	_, err = c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("keys")})
	requireCode(t, err, "AccessDeniedException")

	srv.FailTable("keys", "ResourceNotFoundException")
	_, err = c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("keys"), Item: key("a", "b")})
	var rnf *types.ResourceNotFoundException
	require.ErrorAs(t, err, &rnf)

	srv.FailTable("keys", "")
	require.Nil(t, getItem(t, c, "keys", "a", "b"))
}

func TestDescribeTable(t *testing.T) {
	created := time.Date(2024, 5, 20, 10, 11, 12, 0, time.UTC)
	srv := newServer(t, func(o *Options) { o.Now = func() time.Time { return created } })
	c := srv.Client("cn-north-1", account)
	out := createTable(t, c, "keys")
	require.Equal(t, types.TableStatusCreating, out.TableStatus)
	d, err := c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("keys")})
	require.NoError(t, err)
	require.Equal(t, "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/keys", *d.Table.TableArn)
	require.Equal(t, types.TableStatusActive, d.Table.TableStatus)
	require.Equal(t, created, *d.Table.CreationDateTime)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, *d.Table.TableId)

	// A table ARN names the table; one of another account or region does
	// not.
	_, err = c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: d.Table.TableArn})
	require.NoError(t, err)
	_, err = c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: d.Table.TableArn, Item: key("a", "b")})
	require.NoError(t, err)
	for _, arn := range []string{"arn:aws-cn:dynamodb:cn-north-1:210987654321:table/keys", "arn:aws-cn:dynamodb:cn-northwest-1:123456789012:table/keys"} {
		_, err = c.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(arn)})
		requireCode(t, err, "ResourceNotFoundException")
	}
	// Tables are per region and account.
	_, err = srv.Client("cn-north-1", "210987654321").DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("keys")})
	requireCode(t, err, "ResourceNotFoundException")
	_, err = srv.Client(west, account).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("keys")})
	requireCode(t, err, "ResourceNotFoundException")

	// Provisioned tables, and a table with a partition key only.
	out2, err := c.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:             aws.String("hash-only"),
		KeySchema:             []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions:  []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeB}},
		ProvisionedThroughput: &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(5), WriteCapacityUnits: aws.Int64(7)},
	})
	require.NoError(t, err)
	require.Nil(t, out2.TableDescription.BillingModeSummary)
	require.Equal(t, int64(7), *out2.TableDescription.ProvisionedThroughput.WriteCapacityUnits)
	_, err = c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("hash-only"), Item: map[string]types.AttributeValue{"id": b([]byte{0})}})
	require.NoError(t, err)
	_, err = c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("hash-only"), Key: key("a", "b")})
	requireCode(t, err, "ValidationException")
}

func TestTLS(t *testing.T) {
	srv := newServer(t, func(o *Options) { o.TLS = true })
	require.True(t, strings.HasPrefix(srv.URL, "https://"))
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	require.Nil(t, getItem(t, c, "keys", "a", "b"))
}

// raw sends a request body to the server as the SDK would, without the SDK.
func raw(t *testing.T, srv *Server, op, body string, edit func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+account+"/20240101/"+west+"/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	if edit != nil {
		edit(req)
	}
	resp, err := srv.ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m), "%s", out)
	return resp.StatusCode, m
}

func TestProtocol(t *testing.T) {
	srv := newServer(t)
	createTable(t, srv.Client(west, account), "keys")
	const getItem = `{"TableName":"keys","Key":{"branch-key-id":{"S":"a"},"type":{"S":"b"}}}`
	for name, tc := range map[string]struct {
		op, body string
		edit     func(*http.Request)
		typ      string
	}{
		"unknown operation": {op: "TransactGetItems", body: `{}`, typ: "com.amazon.coral.service#UnknownOperationException"},
		"not POST":          {op: "GetItem", body: getItem, edit: func(r *http.Request) { r.Method = http.MethodPut }, typ: "com.amazon.coral.service#UnknownOperationException"},
		"other target":      {op: "GetItem", body: getItem, edit: func(r *http.Request) { r.Header.Set("X-Amz-Target", "TrentService.Decrypt") }, typ: "com.amazon.coral.service#UnknownOperationException"},
		"content type":      {op: "GetItem", body: getItem, edit: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-amz-json-1.1") }, typ: "com.amazon.coral.service#SerializationException"},
		"no signature":      {op: "GetItem", body: getItem, edit: func(r *http.Request) { r.Header.Del("Authorization") }, typ: "com.amazon.coral.service#MissingAuthenticationTokenException"},
		"not JSON":          {op: "GetItem", body: `{"TableName":`, typ: "com.amazon.coral.service#SerializationException"},
		"empty value":       {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":{}}}`, typ: "com.amazon.coral.validate#ValidationException"},
		"two types":         {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":{"S":"a","N":"1"}}}`, typ: "com.amazon.coral.validate#ValidationException"},
		"bad base64":        {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":{"B":"!!"}}}`, typ: "com.amazon.coral.service#SerializationException"},
		"unknown type":      {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":{"Q":"a"}}}`, typ: "com.amazon.coral.service#SerializationException"},
		"deep nesting":      {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":` + strings.Repeat(`{"L":[`, 40) + `{"S":"x"}` + strings.Repeat(`]}`, 40) + `}}`, typ: "com.amazon.coral.validate#ValidationException"},
		"legacy Expected":   {op: "PutItem", body: `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"}},"Expected":{"x":{"Exists":false}}}`, typ: "com.amazon.coral.validate#ValidationException"},
		"missing table":     {op: "GetItem", body: `{"TableName":"nope","Key":{"branch-key-id":{"S":"a"},"type":{"S":"b"}}}`, typ: "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"},
	} {
		t.Run(name, func(t *testing.T) {
			status, out := raw(t, srv, tc.op, tc.body, tc.edit)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, tc.typ, out["__type"], "%v", out)
			require.NotEmpty(t, out["message"])
		})
	}

	// 32 levels of nesting are allowed; 33 are not.
	nested := func(levels int) string {
		return `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"x":` + strings.Repeat(`{"L":[`, levels-1) + `{"S":"x"}` + strings.Repeat(`]}`, levels-1) + `}}`
	}
	status, out := raw(t, srv, "PutItem", nested(32), nil)
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, _ = raw(t, srv, "PutItem", nested(33), nil)
	require.Equal(t, http.StatusBadRequest, status)

	// A body over the bound is refused without being read whole.
	status, out = raw(t, srv, "PutItem", `{"TableName":"keys","x":"`+strings.Repeat("x", maxBody)+`"}`, nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "%v", out)

	// Responses carry the CRC32 header that the SDK checks.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(getItem))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-west-2/dynamodb/aws4_request")
	resp, err := srv.ts.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), "ResourceNotFoundException", "the table is in another account")
	require.Equal(t, strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10), resp.Header.Get("X-Amz-Crc32"))
	require.Equal(t, DefaultAccount, srv.Calls()[len(srv.Calls())-1].Account)
}

func TestBinaryJSON(t *testing.T) {
	srv := newServer(t)
	createTable(t, srv.Client(west, account), "keys")
	status, _ := raw(t, srv, "PutItem", `{"TableName":"keys","Item":{"branch-key-id":{"S":"a"},"type":{"S":"b"},"enc":{"B":"AAH+/w=="},"bs":{"BS":["AA==","AQ=="]}}}`, nil)
	require.Equal(t, http.StatusOK, status)
	status, out := raw(t, srv, "GetItem", `{"TableName":"keys","Key":{"branch-key-id":{"S":"a"},"type":{"S":"b"}}}`, nil)
	require.Equal(t, http.StatusOK, status)
	it := out["Item"].(map[string]any)
	require.Equal(t, map[string]any{"B": "AAH+/w=="}, it["enc"])
	require.Equal(t, map[string]any{"BS": []any{"AA==", "AQ=="}}, it["bs"])
}

func TestPutItemSDKTypes(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	ctx := context.Background()
	in := &dynamodb.PutItemInput{TableName: aws.String("keys"), Item: branchKeyItem("a", "branch:ACTIVE", []byte{1}),
		ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: idName}
	_, err := c.PutItem(ctx, in)
	require.NoError(t, err)
	_, err = c.PutItem(ctx, in)
	var ccf *types.ConditionalCheckFailedException
	require.ErrorAs(t, err, &ccf)
	require.Equal(t, "The conditional request failed", ccf.ErrorMessage())
	require.Nil(t, ccf.Item)

	var tce *types.TransactionCanceledException
	require.False(t, errors.As(err, &tce))
}

func TestConcurrentClients(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				id := string(rune('a'+i)) + string(rune('a'+j))
				_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("keys"), Item: branchKeyItem(id, "branch:ACTIVE", []byte{1})})
				if err != nil {
					t.Error(err)
					return
				}
				srv.Calls()
				srv.Count("PutItem")
			}
		}()
	}
	wg.Wait()
	out, err := c.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String("keys"), Select: types.SelectCount})
	require.NoError(t, err)
	require.Equal(t, int32(160), out.Count)
}
