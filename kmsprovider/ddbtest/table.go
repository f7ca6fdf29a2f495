package ddbtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

type tableRef struct {
	region, account, name string
}

type keyAttr struct {
	name, typ string // typ is S, N or B
}

type attrDef struct {
	AttributeName string
	AttributeType string
}

type keySchemaElem struct {
	AttributeName string
	KeyType       string
}

type table struct {
	ref                tableRef
	arn, id            string
	created            time.Time
	hash, rng          keyAttr // rng.name is "" without a sort key
	defs               []attrDef
	payPerRequest      bool
	rcu, wcu           int64
	deletionProtection bool
	items              map[string]map[string]*value // by encoded key
}

// partition returns the table's ARN partition for a region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func newTableID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var tableNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// tableName checks a TableName parameter (a name or a table ARN) and
// returns the name of the table it means in scope sc; ok is false for an ARN
// of another region or account, which names no table here.
func tableName(sc scope, name string) (string, bool, *apiError) {
	if rest, isARN := strings.CutPrefix(name, "arn:"); isARN {
		f := strings.SplitN(rest, ":", 5)
		if len(name) > 1024 || len(f) != 5 || f[1] != "dynamodb" || !strings.HasPrefix(f[4], "table/") {
			return "", false, validation("Invalid TableArn: " + quote(name))
		}
		n := strings.TrimPrefix(f[4], "table/")
		if len(n) < 3 || len(n) > 255 || !tableNameRE.MatchString(n) {
			return "", false, validation("Invalid TableArn: " + quote(name))
		}
		return n, f[0] == partition(sc.region) && f[2] == sc.region && f[3] == sc.account, nil
	}
	const prefix = "1 validation error detected: Value '"
	switch {
	case len(name) < 3:
		return "", false, validation(prefix + name + "' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3")
	case len(name) > 255:
		return "", false, validation(prefix + name[:255] + "...' at 'tableName' failed to satisfy constraint: Member must have length less than or equal to 255")
	case !tableNameRE.MatchString(name):
		return "", false, validation(prefix + strings.ToValidUTF8(name, "?") + "' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
	return name, true, nil
}

// lookupTableLocked finds the table a TableName parameter names. s.mu must
// be held.
func (s *Server) lookupTableLocked(sc scope, name string) (*table, *apiError) {
	n, here, err := tableName(sc, name)
	if err != nil {
		return nil, err
	}
	t := s.tables[tableRef{sc.region, sc.account, n}]
	if !here || t == nil {
		return nil, notFound()
	}
	return t, nil
}

// encodeKey is the map key of an item in its table.
func (t *table) encodeKey(key map[string]*value) string {
	k := strconv.Quote(key[t.hash.name].s)
	if t.rng.name != "" {
		k += "/" + strconv.Quote(key[t.rng.name].s)
	}
	return k
}

// keyOf returns the key attributes of an item.
func (t *table) keyOf(it map[string]*value) map[string]*value {
	k := map[string]*value{t.hash.name: it[t.hash.name]}
	if t.rng.name != "" {
		k[t.rng.name] = it[t.rng.name]
	}
	return k
}

// checkKey checks a Key parameter against the table's key schema.
func (t *table) checkKey(key map[string]*value) *apiError {
	mismatch := validation("The provided key element does not match the schema")
	want := 1
	if t.rng.name != "" {
		want = 2
	}
	if len(key) != want {
		return mismatch
	}
	for _, ka := range []keyAttr{t.hash, t.rng} {
		if ka.name == "" {
			continue
		}
		v, ok := key[ka.name]
		if !ok || v == nil || v.t != ka.typ {
			return mismatch
		}
	}
	return t.checkKeyValues(key)
}

// checkItemKey checks the key attributes of an Item parameter.
func (t *table) checkItemKey(it map[string]*value) *apiError {
	for _, ka := range []keyAttr{t.hash, t.rng} {
		if ka.name == "" {
			continue
		}
		v, ok := it[ka.name]
		if !ok || v == nil {
			return validation("One or more parameter values were invalid: Missing the key " + ka.name + " in the item")
		}
		if v.t != ka.typ {
			return validation("One or more parameter values were invalid: Type mismatch for key " + ka.name + " expected: " + ka.typ + " actual: " + v.t)
		}
	}
	return t.checkKeyValues(it)
}

func (t *table) checkKeyValues(it map[string]*value) *apiError {
	for _, ka := range []keyAttr{t.hash, t.rng} {
		if ka.name == "" {
			continue
		}
		v := it[ka.name]
		if v.s == "" {
			kind := "string"
			if ka.typ == "B" {
				kind = "binary"
			}
			return validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty " + kind + " value. Key: " + ka.name)
		}
		if ka == t.hash && len(v.s) > maxHashKeyLen {
			return validation("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
		}
		if ka == t.rng && len(v.s) > maxRangeKeyLen {
			return validation("One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
		}
	}
	return nil
}

// sortedItems returns the items of the table, or of one partition when
// hashKey is not nil, in sort-key order.
func (t *table) sortedItems(hashKey *value) []map[string]*value {
	var out []map[string]*value
	for _, it := range t.items {
		if hashKey == nil || it[t.hash.name].s == hashKey.s {
			out = append(out, it)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if hashKey == nil && a[t.hash.name].s != b[t.hash.name].s {
			return a[t.hash.name].s < b[t.hash.name].s
		}
		if t.rng.name == "" {
			return false
		}
		c, _ := a[t.rng.name].compare(b[t.rng.name])
		return c < 0
	})
	return out
}

type provisionedThroughput struct {
	ReadCapacityUnits      int64
	WriteCapacityUnits     int64
	NumberOfDecreasesToday int64
}

type billingModeSummary struct {
	BillingMode                       string
	LastUpdateToPayPerRequestDateTime float64 `json:",omitempty"`
}

type tableDescription struct {
	AttributeDefinitions      []attrDef
	KeySchema                 []keySchemaElem
	TableName                 string
	TableArn                  string
	TableId                   string
	TableStatus               string
	CreationDateTime          float64
	ItemCount                 int64
	TableSizeBytes            int64
	ProvisionedThroughput     provisionedThroughput
	BillingModeSummary        *billingModeSummary `json:",omitempty"`
	DeletionProtectionEnabled bool
}

func epoch(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func (t *table) describe(status string) *tableDescription {
	d := &tableDescription{
		AttributeDefinitions:      t.defs,
		KeySchema:                 []keySchemaElem{{t.hash.name, "HASH"}},
		TableName:                 t.ref.name,
		TableArn:                  t.arn,
		TableId:                   t.id,
		TableStatus:               status,
		CreationDateTime:          epoch(t.created),
		ItemCount:                 int64(len(t.items)),
		ProvisionedThroughput:     provisionedThroughput{ReadCapacityUnits: t.rcu, WriteCapacityUnits: t.wcu},
		DeletionProtectionEnabled: t.deletionProtection,
	}
	if t.rng.name != "" {
		d.KeySchema = append(d.KeySchema, keySchemaElem{t.rng.name, "RANGE"})
	}
	if t.payPerRequest {
		d.BillingModeSummary = &billingModeSummary{BillingMode: "PAY_PER_REQUEST", LastUpdateToPayPerRequestDateTime: epoch(t.created)}
	}
	for _, it := range t.items {
		d.TableSizeBytes += int64(itemSize(it))
	}
	return d
}

// The expression parameters every item operation may carry.
type exprParams struct {
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]*value
}

// check validates the expression attribute names and values themselves.
func (e *exprParams) check(hasExpr bool) *apiError {
	if e.ExpressionAttributeNames != nil {
		if !hasExpr {
			return validation("ExpressionAttributeNames can only be specified when using expressions")
		}
		if len(e.ExpressionAttributeNames) == 0 {
			return validation("ExpressionAttributeNames must not be empty")
		}
		for k, v := range e.ExpressionAttributeNames {
			if !placeholderRE.MatchString(k) || k[0] != '#' {
				return validation("ExpressionAttributeNames contains invalid key: Syntax error; key: " + quote(k))
			}
			if v == "" {
				return validation("ExpressionAttributeNames contains invalid value: Empty attribute name; key: " + quote(k))
			}
		}
	}
	if e.ExpressionAttributeValues != nil {
		if !hasExpr {
			return validation("ExpressionAttributeValues can only be specified when using expressions")
		}
		if len(e.ExpressionAttributeValues) == 0 {
			return validation("ExpressionAttributeValues must not be empty")
		}
		for k, v := range e.ExpressionAttributeValues {
			if !placeholderRE.MatchString(k) || k[0] != ':' {
				return validation("ExpressionAttributeValues contains invalid key: Syntax error; key: " + quote(k))
			}
			if v == nil {
				return validation("ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key " + k)
			}
			if err := checkItem(map[string]*value{k: v}); err != nil {
				return err
			}
		}
	}
	return nil
}

var placeholderRE = regexp.MustCompile(`^[#:][a-zA-Z0-9_]+$`)

// condition compiles an optional ConditionExpression with its parameters.
func (e *exprParams) condition(src *string, used *usage) (*cond, *apiError) {
	if src == nil {
		return nil, nil
	}
	c, err := parseCondition("ConditionExpression", *src, e.ExpressionAttributeNames, e.ExpressionAttributeValues, used)
	if err != nil {
		return nil, err.(*apiError)
	}
	return c, nil
}

func (e *exprParams) finish(used *usage) *apiError {
	if err := checkUsage(e.ExpressionAttributeNames, e.ExpressionAttributeValues, used); err != nil {
		return err.(*apiError)
	}
	return nil
}

// projection is a parsed ProjectionExpression as a tree of the paths kept.
type projection struct {
	leaf   bool
	fields map[string]*projection
	index  map[int]*projection
}

func newProjection(paths []path) (*projection, *apiError) {
	root := &projection{}
	for _, p := range paths {
		n := root
		for i, e := range p {
			if n.leaf {
				return nil, validation("Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [" + p[:i].String() + "], path two: [" + p.String() + "]")
			}
			var next *projection
			if e.name != "" {
				if n.index != nil {
					return nil, validation("Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path: [" + p.String() + "]")
				}
				if n.fields == nil {
					n.fields = map[string]*projection{}
				}
				if next = n.fields[e.name]; next == nil {
					next = &projection{}
					n.fields[e.name] = next
				}
			} else {
				if n.fields != nil && n != root {
					return nil, validation("Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path: [" + p.String() + "]")
				}
				if n.index == nil {
					n.index = map[int]*projection{}
				}
				if next = n.index[e.index]; next == nil {
					next = &projection{}
					n.index[e.index] = next
				}
			}
			n = next
		}
		if n.leaf || n.fields != nil || n.index != nil {
			return nil, validation("Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [" + p.String() + "], path two: [" + p.String() + "]")
		}
		n.leaf = true
	}
	return root, nil
}

// apply keeps the projected parts of an item.
func (pr *projection) apply(it map[string]*value) map[string]*value {
	out := map[string]*value{}
	for name, sub := range pr.fields {
		if v := sub.pick(it[name]); v != nil {
			out[name] = v
		}
	}
	return out
}

func (pr *projection) pick(v *value) *value {
	switch {
	case v == nil:
		return nil
	case pr.leaf:
		return v
	case pr.fields != nil && v.t == "M":
		m := map[string]*value{}
		for name, sub := range pr.fields {
			if e := sub.pick(v.m[name]); e != nil {
				m[name] = e
			}
		}
		if len(m) == 0 {
			return nil
		}
		return &value{t: "M", m: m}
	case pr.index != nil && v.t == "L":
		idx := make([]int, 0, len(pr.index))
		for i := range pr.index {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		var l []*value
		for _, i := range idx {
			if i < len(v.l) {
				if e := pr.index[i].pick(v.l[i]); e != nil {
					l = append(l, e)
				}
			}
		}
		if len(l) == 0 {
			return nil
		}
		return &value{t: "L", l: l}
	}
	return nil
}

// compileProjection handles ProjectionExpression or the older
// AttributesToGet.
func (e *exprParams) projection(src *string, attributesToGet []string, used *usage) (*projection, *apiError) {
	if src != nil && attributesToGet != nil {
		return nil, validation("Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}")
	}
	var paths []path
	switch {
	case src != nil:
		p, err := parseProjection(*src, e.ExpressionAttributeNames, used)
		if err != nil {
			return nil, err.(*apiError)
		}
		paths = p
	case attributesToGet != nil:
		if len(attributesToGet) == 0 {
			return nil, validation("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
		for _, a := range attributesToGet {
			paths = append(paths, path{{name: a}})
		}
	default:
		return nil, nil
	}
	return newProjection(paths)
}

func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return serialization("esdk/ddbtest: malformed request: " + err.Error())
	}
	return nil
}
