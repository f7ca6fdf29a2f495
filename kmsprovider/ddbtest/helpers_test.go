package ddbtest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"
)

const (
	west    = "us-west-2"
	account = "123456789012"
)

func newServer(t *testing.T, optFns ...func(*Options)) *Server {
	t.Helper()
	s := NewServer(optFns...)
	t.Cleanup(s.Close)
	return s
}

// The names of the branch key store's table: partition key branch-key-id,
// sort key type (a reserved word, so expressions name it through #type).
const (
	pkName = "branch-key-id"
	skName = "type"
)

// createTable makes a table with the branch key store's key schema.
func createTable(t *testing.T, c *dynamodb.Client, name string) *types.TableDescription {
	t.Helper()
	out, err := c.CreateTable(context.Background(), keyStoreTable(name))
	require.NoError(t, err)
	// ddbtest's tables are ACTIVE at once; dynalite's, like DynamoDB's, a
	// moment after CreateTable answers.
	err = dynamodb.NewTableExistsWaiter(c, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
	}).Wait(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 10*time.Second)
	require.NoError(t, err)
	return out.TableDescription
}

func keyStoreTable(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(pkName), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(skName), KeyType: types.KeyTypeRange},
		},
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(pkName), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(skName), AttributeType: types.ScalarAttributeTypeS},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
}

func s(v string) types.AttributeValue     { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: v} }
func b(v []byte) types.AttributeValue     { return &types.AttributeValueMemberB{Value: v} }
func boolean(v bool) types.AttributeValue { return &types.AttributeValueMemberBOOL{Value: v} }

func key(id, typ string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{pkName: s(id), skName: s(typ)}
}

// branchKeyItem is an item shaped as the branch key store writes them.
func branchKeyItem(id, typ string, enc []byte) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		pkName:                     s(id),
		skName:                     s(typ),
		"enc":                      b(enc),
		"kms-arn":                  s("arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
		"create-time":              s("2024-05-20T10:11:12.123456Z"),
		"hierarchy-version":        n("1"),
		"aws-crypto-ec:department": s("admin"),
	}
}

// code is the error code of an SDK error, "" for nil.
func code(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "not an API error: " + err.Error()
	}
	return ae.ErrorCode()
}

func requireCode(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, code(err), "%v", err)
}

// render writes an item deterministically, with each value's type, so that
// two implementations' answers compare as strings.
func render(it map[string]types.AttributeValue) string {
	if it == nil {
		return "<none>"
	}
	names := make([]string, 0, len(it))
	for k := range it {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, k+"="+renderValue(it[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func renderValue(v types.AttributeValue) string {
	sorted := func(l []string) string {
		l = append([]string(nil), l...)
		sort.Strings(l)
		return strings.Join(l, ",")
	}
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + fmt.Sprintf("%q", v.Value)
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return "B:" + hex.EncodeToString(v.Value)
	case *types.AttributeValueMemberSS:
		return "SS:[" + sorted(v.Value) + "]"
	case *types.AttributeValueMemberNS:
		return "NS:[" + sorted(v.Value) + "]"
	case *types.AttributeValueMemberBS:
		var h []string
		for _, e := range v.Value {
			h = append(h, hex.EncodeToString(e))
		}
		return "BS:[" + sorted(h) + "]"
	case *types.AttributeValueMemberM:
		return "M:" + render(v.Value)
	case *types.AttributeValueMemberL:
		var l []string
		for _, e := range v.Value {
			l = append(l, renderValue(e))
		}
		return "L:[" + strings.Join(l, ",") + "]"
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint("BOOL:", v.Value)
	case *types.AttributeValueMemberNULL:
		return fmt.Sprint("NULL:", v.Value)
	case nil:
		return "<nil>"
	}
	return fmt.Sprintf("%T", v)
}
