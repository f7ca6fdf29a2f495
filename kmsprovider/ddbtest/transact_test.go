package ddbtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"
)

// The transaction tests run against ddbtest only: dynalite has no
// TransactWriteItems (TestDynaliteHasNoTransactions).

const version1 = "branch:version:11111111-1111-4111-8111-111111111111"
const version2 = "branch:version:22222222-2222-4222-8222-222222222222"

func put(table string, it map[string]types.AttributeValue, condition string, values map[string]types.AttributeValue) types.TransactWriteItem {
	p := &types.Put{TableName: aws.String(table), Item: it, ExpressionAttributeValues: values}
	if condition != "" {
		p.ConditionExpression = aws.String(condition)
		p.ExpressionAttributeNames = idName
	}
	return types.TransactWriteItem{Put: p}
}

// createKeyItems is CreateKey's transaction: the version, the active and the
// beacon item, each only if no item has its key.
func createKeyItems(table, id string) []types.TransactWriteItem {
	active := branchKeyItem(id, "branch:ACTIVE", []byte("active-1"))
	active["version"] = s(version1)
	return []types.TransactWriteItem{
		put(table, branchKeyItem(id, version1, []byte("version-1")), "attribute_not_exists(#id)", nil),
		put(table, active, "attribute_not_exists(#id)", nil),
		put(table, branchKeyItem(id, "beacon:ACTIVE", []byte("beacon")), "attribute_not_exists(#id)", nil),
	}
}

// versionKeyItems is VersionKey's transaction: a new version item, and the
// active item replaced only if its enc is still oldEnc.
func versionKeyItems(table, id, version string, oldEnc []byte) []types.TransactWriteItem {
	active := branchKeyItem(id, "branch:ACTIVE", []byte("active-"+version))
	active["version"] = s(version)
	return []types.TransactWriteItem{
		put(table, branchKeyItem(id, version, []byte("version-"+version)), "attribute_not_exists(#id)", nil),
		put(table, active, "attribute_exists(#id) AND enc = :encOld", map[string]types.AttributeValue{":encOld": b(oldEnc)}),
	}
}

func transact(c *dynamodb.Client, items []types.TransactWriteItem) error {
	_, err := c.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// reasons returns the cancellation reason codes of a
// TransactionCanceledException.
func reasons(t *testing.T, err error) []string {
	t.Helper()
	var tce *types.TransactionCanceledException
	require.ErrorAs(t, err, &tce)
	var codes []string
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	return codes
}

func getItem(t *testing.T, c *dynamodb.Client, table, id, typ string) map[string]types.AttributeValue {
	t.Helper()
	out, err := c.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(id, typ), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	return out.Item
}

func TestTransactCreateKeyAndVersionKey(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")

	require.NoError(t, transact(c, createKeyItems("keys", "bk")))
	for _, typ := range []string{version1, "branch:ACTIVE", "beacon:ACTIVE"} {
		require.NotNil(t, getItem(t, c, "keys", "bk", typ), typ)
	}

	// CreateKey again: every action's condition fails, nothing changes.
	err := transact(c, createKeyItems("keys", "bk"))
	requireCode(t, err, "TransactionCanceledException")
	require.Equal(t, []string{"ConditionalCheckFailed", "ConditionalCheckFailed", "ConditionalCheckFailed"}, reasons(t, err))
	require.Contains(t, err.Error(), "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, ConditionalCheckFailed, ConditionalCheckFailed]")

	// VersionKey with the active item's enc as read: both items written.
	require.NoError(t, transact(c, versionKeyItems("keys", "bk", version2, []byte("active-1"))))
	require.Equal(t, s(version2), getItem(t, c, "keys", "bk", "branch:ACTIVE")["version"])
	require.NotNil(t, getItem(t, c, "keys", "bk", version2))

	// A racing VersionKey that read the old active item: the reasons name
	// the active item's action only, and its new version item is not
	// written either (all or nothing).
	version3 := "branch:version:33333333-3333-4333-8333-333333333333"
	err = transact(c, versionKeyItems("keys", "bk", version3, []byte("active-1")))
	require.Equal(t, []string{"None", "ConditionalCheckFailed"}, reasons(t, err))
	require.Nil(t, getItem(t, c, "keys", "bk", version3))
	require.Equal(t, s(version2), getItem(t, c, "keys", "bk", "branch:ACTIVE")["version"])

	// VersionKey of a branch key that does not exist.
	err = transact(c, versionKeyItems("keys", "none", version3, []byte("x")))
	require.Equal(t, []string{"None", "ConditionalCheckFailed"}, reasons(t, err))
	require.Nil(t, getItem(t, c, "keys", "none", version3))

	calls := srv.Calls()
	last := calls[len(calls)-2]
	require.Equal(t, "TransactWriteItems", last.Operation)
	require.Equal(t, "TransactionCanceledException", last.Error)
	require.Equal(t, []string{"None", "ConditionalCheckFailed"}, last.CancellationReasons)
}

func TestTransactActions(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "tbl1")
	createTable(t, c, "tbl2")
	require.NoError(t, transact(c, []types.TransactWriteItem{
		put("tbl1", branchKeyItem("a", "branch:ACTIVE", []byte{1}), "", nil),
		put("tbl2", branchKeyItem("a", "branch:ACTIVE", []byte{2}), "", nil),
	}))
	require.Equal(t, "tbl1,tbl2", srv.Calls()[len(srv.Calls())-1].Table)

	check := func(table string, enc byte) types.TransactWriteItem {
		return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table), Key: key("a", "branch:ACTIVE"),
			ConditionExpression: aws.String("enc = :e"), ExpressionAttributeValues: map[string]types.AttributeValue{":e": b([]byte{enc})},
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}}
	}
	del := types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String("tbl2"), Key: key("a", "branch:ACTIVE")}}

	// A failed ConditionCheck cancels the Delete; ALL_OLD gives the item.
	err := transact(c, []types.TransactWriteItem{check("tbl1", 9), del})
	require.Equal(t, []string{"ConditionalCheckFailed", "None"}, reasons(t, err))
	var tce *types.TransactionCanceledException
	require.ErrorAs(t, err, &tce)
	require.Equal(t, b([]byte{1}), tce.CancellationReasons[0].Item["enc"])
	require.Nil(t, tce.CancellationReasons[1].Item)
	require.NotNil(t, getItem(t, c, "tbl2", "a", "branch:ACTIVE"))

	// A ConditionCheck that holds lets the Delete through.
	require.NoError(t, transact(c, []types.TransactWriteItem{check("tbl1", 1), del}))
	require.Nil(t, getItem(t, c, "tbl2", "a", "branch:ACTIVE"))
	require.NotNil(t, getItem(t, c, "tbl1", "a", "branch:ACTIVE"), "a ConditionCheck changes nothing")

	// A conditional Delete of an item that is not there.
	err = transact(c, []types.TransactWriteItem{{Delete: &types.Delete{TableName: aws.String("tbl2"), Key: key("a", "branch:ACTIVE"),
		ConditionExpression: aws.String("attribute_exists(#id)"), ExpressionAttributeNames: idName}}})
	require.Equal(t, []string{"ConditionalCheckFailed"}, reasons(t, err))
}

func TestTransactValidation(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	it := branchKeyItem("a", "branch:ACTIVE", []byte{1})

	for name, items := range map[string][]types.TransactWriteItem{
		"two actions on one item": {put("keys", it, "", nil), put("keys", it, "", nil)},
		"put and check of one item": {put("keys", it, "", nil), {ConditionCheck: &types.ConditionCheck{TableName: aws.String("keys"),
			Key: key("a", "branch:ACTIVE"), ConditionExpression: aws.String("attribute_exists(enc)")}}},
		"101 actions": func() []types.TransactWriteItem {
			var l []types.TransactWriteItem
			for i := range 101 {
				l = append(l, put("keys", branchKeyItem(fmt.Sprint(i), "branch:ACTIVE", []byte{1}), "", nil))
			}
			return l
		}(),
		"bad condition":  {put("keys", it, "attribute_not_exists(branch-key-id)", nil)},
		"reserved word":  {{Put: &types.Put{TableName: aws.String("keys"), Item: it, ConditionExpression: aws.String("attribute_not_exists(type)")}}},
		"wrong key type": {put("keys", map[string]types.AttributeValue{pkName: n("1"), skName: s("x")}, "", nil)},
		"missing key":    {{Delete: &types.Delete{TableName: aws.String("keys"), Key: map[string]types.AttributeValue{pkName: s("a")}}}},
		"update":         {{Update: &types.Update{TableName: aws.String("keys"), Key: key("a", "b"), UpdateExpression: aws.String("SET x = :x"), ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("1")}}}},
		"too large":      {put("keys", map[string]types.AttributeValue{pkName: s("a"), skName: s("b"), "x": s(strings.Repeat("x", 400*1024))}, "", nil)},
	} {
		t.Run(name, func(t *testing.T) {
			requireCode(t, transact(c, items), "ValidationException")
		})
	}
	var c1 int
	for _, call := range srv.Calls() {
		if call.Operation == "TransactWriteItems" && call.Error == "ValidationException" {
			c1++
		}
	}
	require.Equal(t, 9, c1)
	require.Nil(t, getItem(t, c, "keys", "a", "branch:ACTIVE"), "no refused transaction wrote")

	// 100 actions is the limit.
	var l []types.TransactWriteItem
	for i := range 100 {
		l = append(l, put("keys", branchKeyItem(fmt.Sprint(i), "branch:ACTIVE", []byte{1}), "attribute_not_exists(#id)", nil))
	}
	require.NoError(t, transact(c, l))

	err := transact(c, []types.TransactWriteItem{put("keys", it, "", nil), put("missing", it, "", nil)})
	requireCode(t, err, "ResourceNotFoundException")
	var rnf *types.ResourceNotFoundException
	require.ErrorAs(t, err, &rnf)
	require.Nil(t, getItem(t, c, "keys", "a", "branch:ACTIVE"))
}

func TestTransactIdempotency(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	in := &dynamodb.TransactWriteItemsInput{TransactItems: createKeyItems("keys", "bk"), ClientRequestToken: aws.String("token-1")}
	_, err := c.TransactWriteItems(context.Background(), in)
	require.NoError(t, err)
	// The same request with the same token succeeds again without being
	// applied again (its conditions would fail now).
	_, err = c.TransactWriteItems(context.Background(), in)
	require.NoError(t, err)
	// Another request with that token.
	_, err = c.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{TransactItems: createKeyItems("keys", "other"), ClientRequestToken: aws.String("token-1")})
	requireCode(t, err, "IdempotentParameterMismatchException")
	var ipm *types.IdempotentParameterMismatchException
	require.ErrorAs(t, err, &ipm)
	// Without a token the SDK makes one per call: CreateKey again fails.
	err = transact(c, createKeyItems("keys", "bk"))
	requireCode(t, err, "TransactionCanceledException")
}

// TestTransactRace runs CreateKey and VersionKey for one branch key from
// many goroutines: exactly one of each wins, the others see
// TransactionCanceledException with ConditionalCheckFailed.
func TestTransactRace(t *testing.T) {
	srv := newServer(t)
	c := srv.Client(west, account)
	createTable(t, c, "keys")
	const n = 16

	race := func(items func(i int) []types.TransactWriteItem) (won []int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := transact(c, items(i))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					won = append(won, i)
					return
				}
				var tce *types.TransactionCanceledException
				if !errors.As(err, &tce) {
					t.Errorf("goroutine %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		return won
	}

	won := race(func(int) []types.TransactWriteItem { return createKeyItems("keys", "bk") })
	require.Len(t, won, 1)

	// Each racer read the same active item and writes its own version.
	won = race(func(i int) []types.TransactWriteItem {
		return versionKeyItems("keys", "bk", fmt.Sprintf("branch:version:%d", i), []byte("active-1"))
	})
	require.Len(t, won, 1)
	active := getItem(t, c, "keys", "bk", "branch:ACTIVE")
	require.Equal(t, s(fmt.Sprintf("branch:version:%d", won[0])), active["version"])
	out, err := c.Query(context.Background(), &dynamodb.QueryInput{TableName: aws.String("keys"),
		KeyConditionExpression: aws.String("#id = :id AND begins_with(#t, :v)"), ExpressionAttributeNames: map[string]string{"#id": pkName, "#t": skName},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": s("bk"), ":v": s("branch:version:")}})
	require.NoError(t, err)
	require.Equal(t, int32(2), out.Count, "the first version and the winner's")
	require.Equal(t, 2*n, srv.Count("TransactWriteItems"))
}
