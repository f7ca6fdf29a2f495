package ddbtest

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzRequest feeds arbitrary request bodies to every operation: no body
// makes the server panic, every refusal has an error type, and every answer
// marshals.
func FuzzRequest(f *testing.F) {
	srv := NewServer()
	f.Cleanup(srv.Close)
	sc := scope{west, account}
	var out any
	create := `{"TableName":"keys","KeySchema":[{"AttributeName":"branch-key-id","KeyType":"HASH"},{"AttributeName":"type","KeyType":"RANGE"}],` +
		`"AttributeDefinitions":[{"AttributeName":"branch-key-id","AttributeType":"S"},{"AttributeName":"type","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}`
	require.Nil(f, srv.dispatch(sc, "CreateTable", []byte(create), &out))

	ops := make([]string, 0, len(operations))
	for op := range operations {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	index := func(name string) uint8 {
		for i, op := range ops {
			if op == name {
				return uint8(i)
			}
		}
		panic(name)
	}
	item := `{"branch-key-id":{"S":"a"},"type":{"S":"branch:ACTIVE"},"enc":{"B":"AAE="},"n":{"N":"1.50"},"m":{"M":{"l":{"L":[{"BOOL":true},{"NULL":true},{"SS":["x"]}]}}}}`
	f.Add(index("CreateTable"), []byte(create))
	f.Add(index("DescribeTable"), []byte(`{"TableName":"keys"}`))
	f.Add(index("PutItem"), []byte(`{"TableName":"keys","Item":`+item+`,"ConditionExpression":"attribute_not_exists(#id) OR (enc = :e AND NOT size(m.l) > :n)","ExpressionAttributeNames":{"#id":"branch-key-id"},"ExpressionAttributeValues":{":e":{"B":"AAE="},":n":{"N":"2"}}}`))
	f.Add(index("GetItem"), []byte(`{"TableName":"keys","Key":{"branch-key-id":{"S":"a"},"type":{"S":"branch:ACTIVE"}},"ProjectionExpression":"enc, m.l[1], #t","ExpressionAttributeNames":{"#t":"type"}}`))
	f.Add(index("DeleteItem"), []byte(`{"TableName":"keys","Key":{"branch-key-id":{"S":"a"},"type":{"S":"b"}},"ConditionExpression":"n BETWEEN :a AND :b","ExpressionAttributeValues":{":a":{"N":"1"},":b":{"N":"2"}},"ReturnValues":"ALL_OLD"}`))
	f.Add(index("Query"), []byte(`{"TableName":"keys","KeyConditionExpression":"#id = :id AND begins_with(#t, :p)","FilterExpression":"contains(m.l, :x)","ExpressionAttributeNames":{"#id":"branch-key-id","#t":"type"},"ExpressionAttributeValues":{":id":{"S":"a"},":p":{"S":"branch:"},":x":{"BOOL":true}},"Limit":1,"ScanIndexForward":false}`))
	f.Add(index("Scan"), []byte(`{"TableName":"keys","FilterExpression":"attribute_type(n, :t) AND n IN (:a, :b)","ExpressionAttributeValues":{":t":{"S":"N"},":a":{"N":"1.5"},":b":{"N":"2"}},"Select":"COUNT"}`))
	f.Add(index("TransactWriteItems"), []byte(`{"TransactItems":[{"Put":{"TableName":"keys","Item":`+item+`,"ConditionExpression":"attribute_not_exists(#id)","ExpressionAttributeNames":{"#id":"branch-key-id"}}},`+
		`{"ConditionCheck":{"TableName":"keys","Key":{"branch-key-id":{"S":"b"},"type":{"S":"c"}},"ConditionExpression":"attribute_exists(enc)"}},`+
		`{"Delete":{"TableName":"keys","Key":{"branch-key-id":{"S":"c"},"type":{"S":"c"}}}}],"ClientRequestToken":"t"}`))
	f.Add(index("ListTables"), []byte(`{"Limit":1}`))
	f.Add(index("DeleteTable"), []byte(`{"TableName":"other"}`))
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := ops[int(op)%len(ops)]
		if name == "DeleteTable" || name == "CreateTable" {
			return // keep the table the other operations use
		}
		var out any
		if err := srv.dispatch(sc, name, body, &out); err != nil {
			require.NotEmpty(t, err.typ)
			require.NotEmpty(t, err.msg)
			_, merr := json.Marshal(map[string]any{"Item": item2(err.item), "CancellationReasons": err.reasons})
			require.NoError(t, merr)
			return
		}
		_, merr := json.Marshal(out)
		require.NoError(t, merr)
	})
}

func item2(m map[string]*value) any {
	if m == nil {
		return nil
	}
	return item(m)
}

// FuzzExpression parses arbitrary condition and projection expressions: no
// expression panics, and one that parses evaluates against an item.
func FuzzExpression(f *testing.F) {
	names := map[string]string{"#id": "branch-key-id", "#t": "type", "#m": "m"}
	values := map[string]*value{
		":s": {t: "S", s: "branch:"}, ":n": {t: "N", s: "2"}, ":b": {t: "B", s: "\x00\x01"},
		":l": {t: "L", l: []*value{{t: "N", s: "1"}}}, ":t": {t: "S", s: "SS"},
	}
	it := map[string]*value{
		"branch-key-id": {t: "S", s: "a"}, "type": {t: "S", s: "branch:ACTIVE"}, "enc": {t: "B", s: "\x00\x01\x02"},
		"m": {t: "M", m: map[string]*value{"l": {t: "L", l: []*value{{t: "N", s: "1"}, {t: "SS", set: []string{"x"}}}}}},
	}
	for _, seed := range []string{
		"attribute_not_exists(#id)", "attribute_exists(#id) AND enc = :b", "NOT (#t = :s OR begins_with(#t, :s))",
		"size(#m.l) BETWEEN :n AND :n", "#m.l[1] IN (:l, :s)", "contains(#m.l[1], :s) and attribute_type(#m, :t)",
		"((enc = :b))", "enc <> enc", "a.b[0].c[12] >= :n", "#id, #t, #m.l[0], enc",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if c, err := parseCondition("ConditionExpression", expr, names, values, newUsage()); err == nil {
			c.eval(it)
			c.eval(nil)
		} else {
			require.IsType(t, &apiError{}, err)
		}
		if paths, err := parseProjection(expr, names, newUsage()); err == nil {
			if pr, perr := newProjection(paths); perr == nil {
				pr.apply(it)
			}
		}
	})
}
