package ddbtest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/go-esdk/esdk/kmsprovider/ddbtest/dynalite"
)

// The conformance tests run the same requests against ddbtest and against
// dynalite, a third-party DynamoDB implementation, and compare what each
// answers: error codes, and the items it gives back with their types. Each
// case states what Amazon DynamoDB documents (want); where dynalite answers
// otherwise, the case says so and why (dynalite), and ddbtest follows
// DynamoDB.
//
// dynalite has no TransactWriteItems (TestDynaliteHasNoTransactions checks
// that it still answers UnknownOperationException), so the transaction tests
// (transact_test.go) run against ddbtest only.

// env is one case's view of one implementation: a client and a fresh table
// with the branch key store's key schema.
type env struct {
	t      *testing.T
	ctx    context.Context
	c      *dynamodb.Client
	table  string
	target string
}

type conformanceCase struct {
	name string
	run  func(e *env) []string
	want []string
	// dynalite, when set, is what dynalite answers instead of want, and
	// why says why that is not DynamoDB's behaviour.
	dynalite []string
	why      string
}

type target struct {
	name   string
	client func(t *testing.T) *dynamodb.Client
}

func targets(t *testing.T) []target {
	return []target{
		{"ddbtest", func(t *testing.T) *dynamodb.Client { return newServer(t).Client(west, account) }},
		{"dynalite", func(t *testing.T) *dynamodb.Client { return dynalite.NewServer(t).Client(west, account) }},
	}
}

func TestConformance(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.client(t)
			for i, cc := range conformanceCases {
				t.Run(cc.name, func(t *testing.T) {
					e := &env{t: t, ctx: context.Background(), c: c, table: fmt.Sprintf("conformance-%d", i), target: tg.name}
					createTable(t, c, e.table)
					got := cc.run(e)
					want := cc.want
					if tg.name == "dynalite" && cc.dynalite != nil {
						want = cc.dynalite
						t.Logf("dynalite differs from DynamoDB here: %s", cc.why)
					}
					require.Equal(t, want, got)
				})
			}
		})
	}
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	return code(err)
}

func (e *env) put(it map[string]types.AttributeValue, optFns ...func(*dynamodb.PutItemInput)) string {
	in := &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}
	for _, fn := range optFns {
		fn(in)
	}
	_, err := e.c.PutItem(e.ctx, in)
	if err != nil {
		e.t.Logf("PutItem: %v", err)
	}
	return result(err)
}

func (e *env) get(k map[string]types.AttributeValue, optFns ...func(*dynamodb.GetItemInput)) string {
	in := &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: k}
	for _, fn := range optFns {
		fn(in)
	}
	out, err := e.c.GetItem(e.ctx, in)
	if err != nil {
		e.t.Logf("GetItem: %v", err)
		return code(err)
	}
	return render(out.Item)
}

// cond sets a ConditionExpression with its names and values.
func withCond(expr string, names map[string]string, values map[string]types.AttributeValue) func(*dynamodb.PutItemInput) {
	return func(in *dynamodb.PutItemInput) {
		in.ConditionExpression = aws.String(expr)
		in.ExpressionAttributeNames = names
		in.ExpressionAttributeValues = values
	}
}

var idName = map[string]string{"#id": pkName}

var conformanceCases = []conformanceCase{
	{
		name: "DescribeTable",
		run: func(e *env) []string {
			out, err := e.c.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(e.table)})
			require.NoError(e.t, err)
			d := out.Table
			var ks, defs []string
			for _, k := range d.KeySchema {
				ks = append(ks, *k.AttributeName+" "+string(k.KeyType))
			}
			for _, a := range d.AttributeDefinitions {
				defs = append(defs, *a.AttributeName+" "+string(a.AttributeType))
			}
			arn := regexp.MustCompile(`^arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table/`).MatchString(*d.TableArn)
			return []string{fmt.Sprint(*d.TableName == e.table), string(d.TableStatus), strings.Join(ks, ", "), strings.Join(defs, ", "),
				string(d.BillingModeSummary.BillingMode), fmt.Sprint(*d.ItemCount), fmt.Sprint("arn ", arn, strings.HasSuffix(*d.TableArn, ":table/"+e.table))}
		},
		want: []string{"true", "ACTIVE", "branch-key-id HASH, type RANGE", "branch-key-id S, type S", "PAY_PER_REQUEST", "0", "arn true true"},
	},
	{
		name: "CreateTable",
		run: func(e *env) []string {
			var got []string
			_, err := e.c.CreateTable(e.ctx, keyStoreTable(e.table))
			got = append(got, "again: "+result(err))
			out, err := e.c.CreateTable(e.ctx, keyStoreTable(e.table+"-b"))
			require.NoError(e.t, err)
			got = append(got, "new: "+string(out.TableDescription.TableStatus))
			bad := func(name string, fn func(*dynamodb.CreateTableInput)) {
				in := keyStoreTable(e.table + "-bad")
				fn(in)
				_, err := e.c.CreateTable(e.ctx, in)
				got = append(got, name+": "+result(err))
			}
			bad("key not defined", func(in *dynamodb.CreateTableInput) { in.AttributeDefinitions = in.AttributeDefinitions[:1] })
			bad("extra definition", func(in *dynamodb.CreateTableInput) {
				in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String("x"), AttributeType: types.ScalarAttributeTypeS})
			})
			bad("range first", func(in *dynamodb.CreateTableInput) {
				in.KeySchema[0].KeyType, in.KeySchema[1].KeyType = types.KeyTypeRange, types.KeyTypeHash
			})
			bad("provisioned without throughput", func(in *dynamodb.CreateTableInput) { in.BillingMode = types.BillingModeProvisioned })
			bad("short name", func(in *dynamodb.CreateTableInput) { in.TableName = aws.String("ab") })
			bad("bad name", func(in *dynamodb.CreateTableInput) { in.TableName = aws.String("a b c") })
			_, err = e.c.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String("no-such-table")})
			got = append(got, "describe missing: "+result(err))
			return got
		},
		want: []string{"again: ResourceInUseException", "new: CREATING", "key not defined: ValidationException",
			"extra definition: ValidationException", "range first: ValidationException",
			"provisioned without throughput: ValidationException", "short name: ValidationException",
			"bad name: ValidationException", "describe missing: ResourceNotFoundException"},
	},
	{
		name: "every attribute type round trips",
		run: func(e *env) []string {
			it := key("id", "branch:ACTIVE")
			it["s"] = s("héllo \x00 \"quoted\"")
			it["empty-s"] = s("")
			it["n"] = n("001.500")
			it["n-exp"] = n("1e3")
			it["n-neg-zero"] = n("-0.0")
			it["n-small"] = n("-.25E-2")
			it["n-big"] = n("12345678901234567890123456789012345678")
			it["b"] = b([]byte{0, 1, 0xfe, 0xff})
			it["empty-b"] = b([]byte{})
			it["ss"] = &types.AttributeValueMemberSS{Value: []string{"b", "a"}}
			it["ns"] = &types.AttributeValueMemberNS{Value: []string{"2", "1.0"}}
			it["bs"] = &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}}
			it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"x": s("y"), "deep": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("1"), s("two")}}}}}}
			it["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{boolean(true), &types.AttributeValueMemberNULL{Value: true}, &types.AttributeValueMemberL{}}}
			it["bool"] = boolean(false)
			it["null"] = &types.AttributeValueMemberNULL{Value: true}
			it["empty-m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
			return []string{e.put(it), e.get(key("id", "branch:ACTIVE"), func(in *dynamodb.GetItemInput) { in.ConsistentRead = aws.Bool(true) })}
		},
		want: []string{"ok", `{b=B:0001feff bool=BOOL:false branch-key-id=S:"id" bs=BS:[01,0203] empty-b=B: empty-m=M:{} empty-s=S:"" l=L:[BOOL:true,NULL:true,L:[]] m=M:{deep=M:{l=L:[N:1,S:"two"]} x=S:"y"} n=N:1.5 n-big=N:12345678901234567890123456789012345678 n-exp=N:1000 n-neg-zero=N:0 n-small=N:-0.0025 ns=NS:[1,2] null=NULL:true s=S:"héllo \x00 \"quoted\"" ss=SS:[a,b] type=S:"branch:ACTIVE"}`},
	},
	{
		name: "branch key items by GetItem",
		run: func(e *env) []string {
			var got []string
			for _, typ := range []string{"branch:ACTIVE", "branch:version:5c1f1e4e-7a9f-4a3b-9a67-0e1d2c3b4a59", "beacon:ACTIVE"} {
				it := branchKeyItem("bk-1", typ, []byte("ciphertext of "+typ))
				if typ == "branch:ACTIVE" {
					it["version"] = s("branch:version:5c1f1e4e-7a9f-4a3b-9a67-0e1d2c3b4a59")
				}
				got = append(got, e.put(it))
			}
			got = append(got, e.get(key("bk-1", "branch:ACTIVE")), e.get(key("bk-1", "beacon:ACTIVE")),
				e.get(key("bk-1", "branch:version:5c1f1e4e-7a9f-4a3b-9a67-0e1d2c3b4a59")),
				e.get(key("bk-1", "branch:version:other")), e.get(key("bk-2", "branch:ACTIVE")))
			return got
		},
		want: []string{"ok", "ok", "ok",
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"bk-1" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:63697068657274657874206f66206272616e63683a414354495645 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"branch:ACTIVE" version=S:"branch:version:5c1f1e4e-7a9f-4a3b-9a67-0e1d2c3b4a59"}`,
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"bk-1" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:63697068657274657874206f6620626561636f6e3a414354495645 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"beacon:ACTIVE"}`,
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"bk-1" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:63697068657274657874206f66206272616e63683a76657273696f6e3a35633166316534652d376139662d346133622d396136372d306531643263336234613539 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"branch:version:5c1f1e4e-7a9f-4a3b-9a67-0e1d2c3b4a59"}`,
			"<none>", "<none>"},
	},
	{
		name: "ProjectionExpression",
		run: func(e *env) []string {
			it := branchKeyItem("p", "branch:ACTIVE", []byte{1})
			it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"a": n("1"), "b": n("2")}}
			it["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{n("0"), n("1"), n("2")}}
			e.put(it)
			proj := func(expr string, names map[string]string) func(*dynamodb.GetItemInput) {
				return func(in *dynamodb.GetItemInput) {
					in.ProjectionExpression, in.ExpressionAttributeNames = aws.String(expr), names
				}
			}
			k := key("p", "branch:ACTIVE")
			return []string{
				e.get(k, proj("enc, #t, #ca", map[string]string{"#t": "type", "#ca": "create-time"})),
				e.get(k, proj("m.b, l[2], l[0], gone", nil)),
				e.get(k, proj("#t", nil)),
				e.get(k, proj("enc, #t", map[string]string{"#t": "type", "#unused": "x"})),
				e.get(k, proj("m, m.a", nil)),
			}
		},
		want: []string{`{create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:01 type=S:"branch:ACTIVE"}`, `{l=L:[N:0,N:2] m=M:{b=N:2}}`,
			"ValidationException", "ValidationException", "ValidationException"},
	},
	{
		name: "key schema errors",
		run: func(e *env) []string {
			e.put(key("k", "t"))
			wrongType := map[string]types.AttributeValue{pkName: s("k"), skName: n("1")}
			goneSort := map[string]types.AttributeValue{pkName: s("k")}
			extra := key("k", "t")
			extra["x"] = s("y")
			emptyKey := key("", "t")
			return []string{
				"get wrong type: " + e.get(wrongType),
				"get gone sort key: " + e.get(goneSort),
				"get extra attribute: " + e.get(extra),
				"get empty key: " + e.get(emptyKey),
				"put wrong type: " + e.put(wrongType),
				"put gone sort key: " + e.put(goneSort),
				"put empty key: " + e.put(emptyKey),
				"put long partition key: " + e.put(key(strings.Repeat("k", 2049), "t")),
				"put long sort key: " + e.put(key("k", strings.Repeat("t", 1025))),
				"put max keys: " + e.put(key(strings.Repeat("k", 2048), strings.Repeat("t", 1024))),
			}
		},
		want: []string{"get wrong type: ValidationException", "get gone sort key: ValidationException",
			"get extra attribute: ValidationException", "get empty key: ValidationException",
			"put wrong type: ValidationException", "put gone sort key: ValidationException",
			"put empty key: ValidationException", "put long partition key: ValidationException",
			"put long sort key: ValidationException", "put max keys: ok"},
	},
	{
		name: "missing table",
		run: func(e *env) []string {
			gone := aws.String("no-such-table")
			_, gerr := e.c.GetItem(e.ctx, &dynamodb.GetItemInput{TableName: gone, Key: key("a", "b")})
			_, perr := e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: gone, Item: key("a", "b")})
			_, derr := e.c.DeleteItem(e.ctx, &dynamodb.DeleteItemInput{TableName: gone, Key: key("a", "b")})
			_, qerr := e.c.Query(e.ctx, &dynamodb.QueryInput{TableName: gone, KeyConditionExpression: aws.String("#id = :v"),
				ExpressionAttributeNames: idName, ExpressionAttributeValues: map[string]types.AttributeValue{":v": s("a")}})
			var rnf *types.ResourceNotFoundException
			return []string{result(gerr), result(perr), result(derr), result(qerr), fmt.Sprint(errors.As(gerr, &rnf))}
		},
		want: []string{"ResourceNotFoundException", "ResourceNotFoundException", "ResourceNotFoundException", "ResourceNotFoundException", "true"},
	},
	{
		name: "attribute value errors",
		run: func(e *env) []string {
			with := func(v types.AttributeValue) string {
				it := key("v", "t")
				it["a"] = v
				return e.put(it)
			}
			return []string{
				"bad number: " + with(n("1.2.3")),
				"number word: " + with(n("abc")),
				"39 digits: " + with(n("123456789012345678901234567890123456789")),
				"overflow: " + with(n("1e126")),
				"largest: " + with(n("9.9999999999999999999999999999999999999E+125")),
				"underflow: " + with(n("1e-131")),
				"smallest: " + with(n("1e-130")),
				"empty string set: " + with(&types.AttributeValueMemberSS{Value: []string{}}),
				"duplicate strings: " + with(&types.AttributeValueMemberSS{Value: []string{"a", "a"}}),
				"duplicate numbers: " + with(&types.AttributeValueMemberNS{Value: []string{"1", "1.0"}}),
				"NULL false: " + with(&types.AttributeValueMemberNULL{Value: false}),
				"item too large: " + with(s(strings.Repeat("x", 400*1024))),
				"item just fits: " + with(s(strings.Repeat("x", 400*1024-100))),
			}
		},
		want: []string{"bad number: ValidationException", "number word: ValidationException", "39 digits: ValidationException",
			"overflow: ValidationException", "largest: ok", "underflow: ValidationException", "smallest: ok",
			"empty string set: ValidationException", "duplicate strings: ValidationException",
			"duplicate numbers: ValidationException", "NULL false: ValidationException",
			"item too large: ValidationException", "item just fits: ok"},
	},
	{
		name: "CreateKey and VersionKey conditions on PutItem",
		run: func(e *env) []string {
			notExists := withCond("attribute_not_exists(#id)", idName, nil)
			optimistic := func(enc []byte) func(*dynamodb.PutItemInput) {
				return withCond("attribute_exists(#id) AND enc = :encOld", idName, map[string]types.AttributeValue{":encOld": b(enc)})
			}
			var ccf *types.ConditionalCheckFailedException
			_, err := e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: branchKeyItem("c", "branch:ACTIVE", []byte{1}),
				ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: idName})
			_, err2 := e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: branchKeyItem("c", "branch:ACTIVE", []byte{2}),
				ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: idName})
			return []string{
				"create: " + result(err),
				"create again: " + result(err2) + fmt.Sprint(" typed ", errors.As(err2, &ccf)),
				"beacon: " + e.put(branchKeyItem("c", "beacon:ACTIVE", []byte{1}), notExists),
				"version stale: " + e.put(branchKeyItem("c", "branch:ACTIVE", []byte{9}), optimistic([]byte{7})),
				"version: " + e.put(branchKeyItem("c", "branch:ACTIVE", []byte{3}), optimistic([]byte{1})),
				"version replayed: " + e.put(branchKeyItem("c", "branch:ACTIVE", []byte{4}), optimistic([]byte{1})),
				"version of gone key: " + e.put(branchKeyItem("none", "branch:ACTIVE", []byte{3}), optimistic([]byte{1})),
				e.get(key("c", "branch:ACTIVE"), func(in *dynamodb.GetItemInput) { in.ProjectionExpression = aws.String("enc") }),
			}
		},
		want: []string{"create: ok", "create again: ConditionalCheckFailedException typed true", "beacon: ok",
			"version stale: ConditionalCheckFailedException", "version: ok", "version replayed: ConditionalCheckFailedException",
			"version of gone key: ConditionalCheckFailedException", "{enc=B:03}"},
	},
	{
		name: "condition expression errors",
		run: func(e *env) []string {
			e.put(key("x", "t"))
			var got []string
			for _, tc := range []struct {
				expr   string
				names  map[string]string
				values map[string]types.AttributeValue
			}{
				{expr: "attribute_not_exists(branch-key-id)"}, // a bare name may not hold "-"
				{expr: "attribute_not_exists(type)"},          // TYPE is a reserved word
				{expr: "attribute_not_exists(#nope)"},
				{expr: "enc = :nope"},
				{expr: "attribute_exists(enc)", values: map[string]types.AttributeValue{":unused": s("x")}},
				{expr: "attribute_exists(enc)", names: map[string]string{"#unused": "x"}},
				{expr: "no_such_function(enc)"},
				{expr: "enc ="},
				{expr: "enc = :v AND", values: map[string]types.AttributeValue{":v": s("x")}},
				{expr: "(enc = :v", values: map[string]types.AttributeValue{":v": s("x")}},
				{expr: "enc == :v", values: map[string]types.AttributeValue{":v": s("x")}},
				{expr: "attribute_exists(enc, enc)"},
				{expr: "enc"},
				{expr: ""},
				{expr: "1enc = :v", values: map[string]types.AttributeValue{":v": s("x")}},
				{expr: "enc < :v", values: map[string]types.AttributeValue{":v": boolean(true)}},
				{expr: "attribute_type(enc, :t)", values: map[string]types.AttributeValue{":t": s("X")}},
				{expr: "attribute_exists(enc)"}, // valid; false on this item
				{expr: "attribute_not_exists(enc) AND attribute_exists(#id) AND NOT attribute_exists(a.b[1].c)", names: idName},
			} {
				got = append(got, tc.expr+" → "+e.put(key("x", "t"), withCond(tc.expr, tc.names, tc.values)))
			}
			return got
		},
		want: []string{
			"attribute_not_exists(branch-key-id) → ValidationException",
			"attribute_not_exists(type) → ValidationException",
			"attribute_not_exists(#nope) → ValidationException",
			"enc = :nope → ValidationException",
			"attribute_exists(enc) → ValidationException",
			"attribute_exists(enc) → ValidationException",
			"no_such_function(enc) → ValidationException",
			"enc = → ValidationException",
			"enc = :v AND → ValidationException",
			"(enc = :v → ValidationException",
			"enc == :v → ValidationException",
			"attribute_exists(enc, enc) → ValidationException",
			"enc → ValidationException",
			" → ValidationException",
			"1enc = :v → ValidationException",
			"enc < :v → ConditionalCheckFailedException",
			"attribute_type(enc, :t) → ValidationException",
			"attribute_exists(enc) → ConditionalCheckFailedException",
			"attribute_not_exists(enc) AND attribute_exists(#id) AND NOT attribute_exists(a.b[1].c) → ok",
		},
	},
	{
		name: "condition semantics",
		run: func(e *env) []string {
			it := key("sem", "t")
			it["n"] = n("10")
			it["s"] = s("branch:version:abc")
			it["b"] = b([]byte{1, 2, 3})
			it["ss"] = &types.AttributeValueMemberSS{Value: []string{"x", "y"}}
			it["l"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("2")}}
			it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"deep": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"v": n("5")}}}}
			it["t"] = boolean(true)
			require.Equal(e.t, "ok", e.put(it))
			vals := map[string]types.AttributeValue{
				":n10": n("10.0"), ":n9": n("9"), ":n11": n("11"), ":s10": s("10"), ":pre": s("branch:version:"),
				":b12": b([]byte{1, 2}), ":x": s("x"), ":z": s("z"), ":a": s("a"), ":two": n("2"), ":three": n("3"),
				":five": n("5"), ":true": boolean(true), ":ss": &types.AttributeValueMemberSS{Value: []string{"y", "x"}},
				":S": s("S"), ":SS": s("SS"), ":M": s("M"),
			}
			var got []string
			for _, expr := range []string{
				"n = :n10", "n <> :n10", "n = :s10", "n <> :s10", "n < :n11", "n <= :n10", "n > :n9", "n >= :n11",
				"n BETWEEN :n9 AND :n11", "n BETWEEN :n11 AND :n11", "n IN (:n9, :n10)", "n IN (:n9, :n11)",
				"gone = :n10", "gone <> :n10", "NOT gone = :n10", "gone < :n10",
				"begins_with(s, :pre)", "begins_with(b, :b12)", "begins_with(s, :x)", "begins_with(n, :s10)",
				"contains(ss, :x)", "contains(ss, :z)", "contains(s, :pre)", "contains(l, :a)", "contains(l, :two)", "contains(l, :three)",
				"size(s) = :n10", "size(ss) = :two", "size(l) = :two", "size(b) > :two", "size(gone) = :two",
				"attribute_type(s, :S)", "attribute_type(ss, :SS)", "attribute_type(m, :M)", "attribute_type(s, :M)",
				"m.deep.v = :five", "m.deep.w = :five", "l[1] = :two", "l[5] = :two", "m.deep = :five",
				"ss = :ss", "t = :true", "NOT t = :true", "n = :n10 AND NOT (s = :x OR b = :b12)",
				"n = :n9 OR n = :n10 AND s = :x", "(n = :n9 OR n = :n10) AND s = :x",
				"n = :n9 AND n = :n10 OR s = :pre", "not n = :n9 and n = :n10",
			} {
				used := map[string]types.AttributeValue{}
				for _, m := range regexp.MustCompile(`:\w+`).FindAllString(expr, -1) {
					used[m] = vals[m]
				}
				if len(used) == 0 {
					used = nil
				}
				got = append(got, fmt.Sprintf("%s → %s", expr, e.put(it, withCond(expr, nil, used))))
			}
			return got
		},
		want: []string{
			"n = :n10 → ok", "n <> :n10 → ConditionalCheckFailedException", "n = :s10 → ConditionalCheckFailedException",
			"n <> :s10 → ok", "n < :n11 → ok", "n <= :n10 → ok", "n > :n9 → ok", "n >= :n11 → ConditionalCheckFailedException",
			"n BETWEEN :n9 AND :n11 → ok", "n BETWEEN :n11 AND :n11 → ConditionalCheckFailedException",
			"n IN (:n9, :n10) → ok", "n IN (:n9, :n11) → ConditionalCheckFailedException",
			"gone = :n10 → ConditionalCheckFailedException", "gone <> :n10 → ok", "NOT gone = :n10 → ok",
			"gone < :n10 → ConditionalCheckFailedException",
			"begins_with(s, :pre) → ok", "begins_with(b, :b12) → ok", "begins_with(s, :x) → ConditionalCheckFailedException",
			"begins_with(n, :s10) → ConditionalCheckFailedException",
			"contains(ss, :x) → ok", "contains(ss, :z) → ConditionalCheckFailedException", "contains(s, :pre) → ok",
			"contains(l, :a) → ok", "contains(l, :two) → ok", "contains(l, :three) → ConditionalCheckFailedException",
			"size(s) = :n10 → ConditionalCheckFailedException", "size(ss) = :two → ok", "size(l) = :two → ok",
			"size(b) > :two → ok", "size(gone) = :two → ConditionalCheckFailedException",
			"attribute_type(s, :S) → ok", "attribute_type(ss, :SS) → ok", "attribute_type(m, :M) → ok",
			"attribute_type(s, :M) → ConditionalCheckFailedException",
			"m.deep.v = :five → ok", "m.deep.w = :five → ConditionalCheckFailedException", "l[1] = :two → ok",
			"l[5] = :two → ConditionalCheckFailedException", "m.deep = :five → ConditionalCheckFailedException",
			"ss = :ss → ok", "t = :true → ok", "NOT t = :true → ConditionalCheckFailedException",
			"n = :n10 AND NOT (s = :x OR b = :b12) → ok",
			"n = :n9 OR n = :n10 AND s = :x → ConditionalCheckFailedException",
			"(n = :n9 OR n = :n10) AND s = :x → ConditionalCheckFailedException",
			"n = :n9 AND n = :n10 OR s = :pre → ConditionalCheckFailedException",
			"not n = :n9 and n = :n10 → ok",
		},
	},
	{
		name: "NOT NOT",
		run: func(e *env) []string {
			it := key("nn", "t")
			it["n"] = n("1")
			e.put(it)
			return []string{e.put(it, withCond("NOT NOT n = :one", nil, map[string]types.AttributeValue{":one": n("1")}))}
		},
		want:     []string{"ok"},
		dynalite: []string{"ValidationException"},
		why:      "dynalite's grammar takes NOT only before a comparison, a function or parentheses, so NOT NOT x is a syntax error there; DynamoDB's documented grammar is NOT condition, which ddbtest follows",
	},
	{
		name: "ReturnValues",
		run: func(e *env) []string {
			e.put(branchKeyItem("r", "branch:ACTIVE", []byte{1}))
			out, err := e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: key("r", "branch:ACTIVE"), ReturnValues: types.ReturnValueAllOld})
			require.NoError(e.t, err)
			old := render(out.Attributes)
			_, err = e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: key("r", "branch:ACTIVE"),
				ConditionExpression: aws.String("attribute_not_exists(#id)"), ExpressionAttributeNames: idName,
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld})
			var ccf *types.ConditionalCheckFailedException
			onFailure := "not a ConditionalCheckFailedException"
			if errors.As(err, &ccf) {
				onFailure = render(ccf.Item)
			}
			_, err = e.c.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: key("r", "x"), ReturnValues: types.ReturnValueAllNew})
			return []string{old, onFailure, "ALL_NEW on PutItem: " + result(err)}
		},
		want: []string{
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"r" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:01 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"branch:ACTIVE"}`,
			`{branch-key-id=S:"r" type=S:"branch:ACTIVE"}`,
			"ALL_NEW on PutItem: ValidationException",
		},
		dynalite: []string{
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"r" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:01 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"branch:ACTIVE"}`,
			`<none>`,
			"ALL_NEW on PutItem: ValidationException",
		},
		why: "dynalite predates ReturnValuesOnConditionCheckFailure (2023) and never returns the item with ConditionalCheckFailedException",
	},
	{
		name: "DeleteItem",
		run: func(e *env) []string {
			e.put(branchKeyItem("d", "branch:ACTIVE", []byte{1}))
			del := func(k map[string]types.AttributeValue, expr string, values map[string]types.AttributeValue) string {
				in := &dynamodb.DeleteItemInput{TableName: aws.String(e.table), Key: k, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueAllOld}
				if expr != "" {
					in.ConditionExpression = aws.String(expr)
				}
				out, err := e.c.DeleteItem(e.ctx, in)
				if err != nil {
					return code(err)
				}
				return render(out.Attributes)
			}
			return []string{
				del(key("d", "branch:ACTIVE"), "enc = :e", map[string]types.AttributeValue{":e": b([]byte{2})}),
				del(key("d", "branch:ACTIVE"), "enc = :e", map[string]types.AttributeValue{":e": b([]byte{1})}),
				del(key("d", "branch:ACTIVE"), "", nil),
				e.get(key("d", "branch:ACTIVE")),
			}
		},
		want: []string{"ConditionalCheckFailedException",
			`{aws-crypto-ec:department=S:"admin" branch-key-id=S:"d" create-time=S:"2024-05-20T10:11:12.123456Z" enc=B:01 hierarchy-version=N:1 kms-arn=S:"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" type=S:"branch:ACTIVE"}`,
			"<none>", "<none>"},
	},
	{
		name: "Query",
		run: func(e *env) []string {
			for _, typ := range []string{"branch:version:b", "branch:ACTIVE", "branch:version:a", "beacon:ACTIVE", "branch:version:c"} {
				e.put(branchKeyItem("q", typ, []byte{1}))
			}
			e.put(branchKeyItem("other", "branch:version:a", []byte{1}))
			query := func(fn func(*dynamodb.QueryInput)) string {
				in := &dynamodb.QueryInput{TableName: aws.String(e.table), KeyConditionExpression: aws.String("#id = :id"),
					ExpressionAttributeNames: map[string]string{"#id": pkName}, ExpressionAttributeValues: map[string]types.AttributeValue{":id": s("q")},
					ProjectionExpression: aws.String("#t"), ConsistentRead: aws.Bool(true)}
				in.ExpressionAttributeNames["#t"] = skName
				fn(in)
				out, err := e.c.Query(e.ctx, in)
				if err != nil {
					return code(err)
				}
				var types []string
				for _, it := range out.Items {
					types = append(types, strings.Trim(strings.TrimPrefix(renderValue(it[skName]), "S:"), `"`))
				}
				last := ""
				if out.LastEvaluatedKey != nil {
					last = " last " + render(out.LastEvaluatedKey)
				}
				return fmt.Sprintf("%d/%d %s%s", out.Count, out.ScannedCount, strings.Join(types, " "), last)
			}
			prefix := func(in *dynamodb.QueryInput) {
				*in.KeyConditionExpression += " AND begins_with(#t, :p)"
				in.ExpressionAttributeValues[":p"] = s("branch:version:")
			}
			return []string{
				query(func(*dynamodb.QueryInput) {}),
				query(prefix),
				query(func(in *dynamodb.QueryInput) { prefix(in); in.ScanIndexForward = aws.Bool(false) }),
				query(func(in *dynamodb.QueryInput) { prefix(in); in.Limit = aws.Int32(2) }),
				query(func(in *dynamodb.QueryInput) {
					prefix(in)
					in.Limit = aws.Int32(2)
					in.ExclusiveStartKey = key("q", "branch:version:b")
				}),
				query(func(in *dynamodb.QueryInput) {
					*in.KeyConditionExpression += " AND #t BETWEEN :lo AND :hi"
					in.ExpressionAttributeValues[":lo"], in.ExpressionAttributeValues[":hi"] = s("branch:A"), s("branch:version:b")
				}),
				query(func(in *dynamodb.QueryInput) {
					in.FilterExpression = aws.String("attribute_exists(version)")
				}),
				query(func(in *dynamodb.QueryInput) { // a filter may not read a key attribute
					in.FilterExpression = aws.String("#t <> :active")
					in.ExpressionAttributeValues[":active"] = s("branch:ACTIVE")
				}),
				query(func(in *dynamodb.QueryInput) {
					*in.KeyConditionExpression = "#t = :id"
				}),
				query(func(in *dynamodb.QueryInput) {
					*in.KeyConditionExpression = "#id = :id OR #t = :id"
				}),
				query(func(in *dynamodb.QueryInput) {
					in.ExpressionAttributeValues[":id"] = n("1")
				}),
			}
		},
		want: []string{
			"5/5 beacon:ACTIVE branch:ACTIVE branch:version:a branch:version:b branch:version:c",
			"3/3 branch:version:a branch:version:b branch:version:c",
			"3/3 branch:version:c branch:version:b branch:version:a",
			`2/2 branch:version:a branch:version:b last {branch-key-id=S:"q" type=S:"branch:version:b"}`,
			"1/1 branch:version:c",
			"3/3 branch:ACTIVE branch:version:a branch:version:b",
			"0/5 ", "ValidationException",
			"ValidationException", "ValidationException", "ValidationException",
		},
	},
	{
		name: "Scan and DeleteTable",
		run: func(e *env) []string {
			for _, id := range []string{"a", "b", "c"} {
				e.put(branchKeyItem(id, "branch:ACTIVE", []byte{1}))
			}
			out, err := e.c.Scan(e.ctx, &dynamodb.ScanInput{TableName: aws.String(e.table), Select: types.SelectCount})
			require.NoError(e.t, err)
			tables, err := e.c.ListTables(e.ctx, &dynamodb.ListTablesInput{})
			require.NoError(e.t, err)
			listed := false
			for _, n := range tables.TableNames {
				listed = listed || n == e.table
			}
			_, derr := e.c.DeleteTable(e.ctx, &dynamodb.DeleteTableInput{TableName: aws.String(e.table)})
			_, gerr := e.c.GetItem(e.ctx, &dynamodb.GetItemInput{TableName: aws.String(e.table), Key: key("a", "branch:ACTIVE")})
			return []string{fmt.Sprint(out.Count, " ", out.ScannedCount, " ", out.Items == nil), fmt.Sprint("listed ", listed), result(derr), result(gerr)}
		},
		want: []string{"3 3 true", "listed true", "ok", "ResourceNotFoundException"},
	},
	{
		name: "reserved words",
		run: func(e *env) []string {
			e.put(key("w", "t"))
			words := make([]string, 0, len(reservedWords))
			for w := range reservedWords {
				words = append(words, w)
			}
			sort.Strings(words)
			var accepted []string
			for _, w := range words {
				if e.put(key("w", "t"), withCond("attribute_not_exists("+strings.ToLower(w)+")", nil, nil)) != "ValidationException" {
					accepted = append(accepted, w)
				}
			}
			var refused []string
			for _, w := range []string{"enc", "version", "kms_arn", "pk", "sk", "Enc2", "_x", "x_1"} {
				if r := e.put(key("w", "t"), withCond("attribute_not_exists("+w+")", nil, nil)); r != "ok" {
					refused = append(refused, w+" "+r)
				}
			}
			return []string{fmt.Sprint(len(words), " reserved words, accepted bare: ", accepted), fmt.Sprint("plain names refused: ", refused)}
		},
		want: []string{"573 reserved words, accepted bare: []", "plain names refused: []"},
	},
}

// TestDynaliteHasNoTransactions checks what the package comment says: that
// dynalite answers TransactWriteItems with UnknownOperationException, so
// the transaction tests cannot run against it.
func TestDynaliteHasNoTransactions(t *testing.T) {
	c := dynalite.NewServer(t).Client(west, account)
	createTable(t, c, "transactions")
	_, err := c.TransactWriteItems(context.Background(), &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{{Put: &types.Put{TableName: aws.String("transactions"), Item: key("a", "b")}}},
	})
	requireCode(t, err, "UnknownOperationException")
}
