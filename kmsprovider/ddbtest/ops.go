package ddbtest

import (
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// opFunc runs one operation: it decodes body and stores the response in out.
type opFunc func(s *Server, sc scope, body []byte, out *any) *apiError

var operations = map[string]opFunc{
	"CreateTable":        (*Server).opCreateTable,
	"DescribeTable":      (*Server).opDescribeTable,
	"DeleteTable":        (*Server).opDeleteTable,
	"ListTables":         (*Server).opListTables,
	"GetItem":            (*Server).opGetItem,
	"PutItem":            (*Server).opPutItem,
	"DeleteItem":         (*Server).opDeleteItem,
	"Query":              (*Server).opQuery,
	"Scan":               (*Server).opScan,
	"TransactWriteItems": (*Server).opTransactWriteItems,
}

// maxTables bounds the tables of one region and account, as DynamoDB's
// default quota does.
const maxTables = 2500

func (s *Server) opCreateTable(sc scope, body []byte, out *any) *apiError {
	var in struct {
		TableName             string
		KeySchema             []keySchemaElem
		AttributeDefinitions  []attrDef
		BillingMode           string
		ProvisionedThroughput *struct {
			ReadCapacityUnits, WriteCapacityUnits *int64
		}
		GlobalSecondaryIndexes    []any
		LocalSecondaryIndexes     []any
		DeletionProtectionEnabled bool
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if strings.HasPrefix(in.TableName, "arn:") {
		return validation("1 validation error detected: Value '" + in.TableName + "' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
	name, _, err := tableName(sc, in.TableName)
	if err != nil {
		return err
	}
	if len(in.KeySchema) < 1 || len(in.KeySchema) > 2 {
		return validation("1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1")
	}
	if len(in.GlobalSecondaryIndexes) > 0 || len(in.LocalSecondaryIndexes) > 0 {
		return validation("esdk/ddbtest: secondary indexes are not supported")
	}
	t := &table{
		ref:                tableRef{sc.region, sc.account, name},
		id:                 newTableID(),
		created:            s.opts.Now(),
		items:              make(map[string]map[string]*value),
		deletionProtection: in.DeletionProtectionEnabled,
	}
	t.arn = "arn:" + partition(sc.region) + ":dynamodb:" + sc.region + ":" + sc.account + ":table/" + name
	defs := make(map[string]string)
	for _, d := range in.AttributeDefinitions {
		if d.AttributeType != "S" && d.AttributeType != "N" && d.AttributeType != "B" {
			return validation("1 validation error detected: Value '" + d.AttributeType + "' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]")
		}
		if d.AttributeName == "" || len(d.AttributeName) > 255 {
			return validation("1 validation error detected: Value at 'attributeDefinitions.member.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255 and greater than or equal to 1")
		}
		if _, dup := defs[d.AttributeName]; dup {
			return validation("Cannot have two attributes with the same name. Attribute name: " + d.AttributeName)
		}
		defs[d.AttributeName] = d.AttributeType
	}
	for i, k := range in.KeySchema {
		switch {
		case k.KeyType != "HASH" && k.KeyType != "RANGE":
			return validation("1 validation error detected: Value '" + k.KeyType + "' at 'keySchema." + strconv.Itoa(i+1) + ".member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]")
		case i == 0 && k.KeyType != "HASH":
			return validation("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
		case i == 1 && k.KeyType != "RANGE":
			return validation("Too many hash keys specified.  All Dynamo DB tables must have exactly one hash key")
		case i == 1 && k.AttributeName == in.KeySchema[0].AttributeName:
			return validation("Both the Hash Key and the Range Key element in the KeySchema have the same name")
		}
		typ, ok := defs[k.AttributeName]
		if !ok {
			return validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [" + k.AttributeName + "], AttributeDefinitions: [" + strings.Join(defNames(in.AttributeDefinitions), ", ") + "]")
		}
		if i == 0 {
			t.hash = keyAttr{k.AttributeName, typ}
		} else {
			t.rng = keyAttr{k.AttributeName, typ}
		}
	}
	if len(defs) != len(in.KeySchema) {
		return validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	t.defs = in.AttributeDefinitions
	switch in.BillingMode {
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
		t.payPerRequest = true
	case "", "PROVISIONED":
		pt := in.ProvisionedThroughput
		if pt == nil || pt.ReadCapacityUnits == nil || pt.WriteCapacityUnits == nil {
			return validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits < 1 || *pt.WriteCapacityUnits < 1 {
			return validation("1 validation error detected: Value at 'provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
		}
		t.rcu, t.wcu = *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
	default:
		return validation("1 validation error detected: Value '" + in.BillingMode + "' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[t.ref]; ok {
		return &apiError{typ: "ResourceInUseException", msg: "Table already exists: " + name}
	}
	n := 0
	for ref := range s.tables {
		if ref.region == sc.region && ref.account == sc.account {
			n++
		}
	}
	if n >= maxTables {
		return &apiError{typ: "LimitExceededException", msg: "esdk/ddbtest: at most " + strconv.Itoa(maxTables) + " tables per region and account"}
	}
	s.tables[t.ref] = t
	// The table is ACTIVE at once; the response, as DynamoDB's, says
	// CREATING.
	*out = struct{ TableDescription *tableDescription }{t.describe("CREATING")}
	return nil
}

func defNames(defs []attrDef) []string {
	var out []string
	for _, d := range defs {
		out = append(out, d.AttributeName)
	}
	return out
}

func (s *Server) opDescribeTable(sc scope, body []byte, out *any) *apiError {
	var in struct{ TableName string }
	if err := decode(body, &in); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	*out = struct{ Table *tableDescription }{t.describe("ACTIVE")}
	return nil
}

func (s *Server) opDeleteTable(sc scope, body []byte, out *any) *apiError {
	var in struct{ TableName string }
	if err := decode(body, &in); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if t.deletionProtection {
		return validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	}
	delete(s.tables, t.ref)
	*out = struct{ TableDescription *tableDescription }{t.describe("DELETING")}
	return nil
}

func (s *Server) opListTables(sc scope, body []byte, out *any) *apiError {
	var in struct {
		ExclusiveStartTableName string
		Limit                   *int
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return validation("1 validation error detected: Value '" + strconv.Itoa(*in.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 1")
		}
		limit = *in.Limit
	}
	s.mu.Lock()
	var names []string
	for ref := range s.tables {
		if ref.region == sc.region && ref.account == sc.account && ref.name > in.ExclusiveStartTableName {
			names = append(names, ref.name)
		}
	}
	s.mu.Unlock()
	sortStrings(names)
	res := struct {
		TableNames             []string
		LastEvaluatedTableName string `json:",omitempty"`
	}{TableNames: names}
	if len(names) > limit {
		res.TableNames = names[:limit]
		res.LastEvaluatedTableName = names[limit-1]
	}
	if res.TableNames == nil {
		res.TableNames = []string{}
	}
	*out = res
	return nil
}

func (s *Server) opGetItem(sc scope, body []byte, out *any) *apiError {
	var in struct {
		TableName            string
		Key                  map[string]*value
		ConsistentRead       bool
		ProjectionExpression *string
		AttributesToGet      []string
		exprParams
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if err := in.check(in.ProjectionExpression != nil); err != nil {
		return err
	}
	used := newUsage()
	proj, err := in.projection(in.ProjectionExpression, in.AttributesToGet, used)
	if err != nil {
		return err
	}
	if err := in.finish(used); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if err := t.checkKey(in.Key); err != nil {
		return err
	}
	res := struct {
		Item item `json:",omitempty"`
	}{}
	if it := t.items[t.encodeKey(in.Key)]; it != nil {
		if proj != nil {
			it = proj.apply(it)
		}
		res.Item = item(it)
	}
	*out = res
	return nil
}

// returnValues checks a ReturnValues parameter of PutItem or DeleteItem.
func returnValues(rv string) (allOld bool, err *apiError) {
	switch rv {
	case "", "NONE":
		return false, nil
	case "ALL_OLD":
		return true, nil
	}
	return false, validation("Return values set to invalid value")
}

func returnValuesOnFailure(rv string) (allOld bool, err *apiError) {
	switch rv {
	case "", "NONE":
		return false, nil
	case "ALL_OLD":
		return true, nil
	}
	return false, validation("1 validation error detected: Value '" + rv + "' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]")
}

// legacy refuses the parameters that expressions replaced.
func legacy(expected map[string]any, conditionalOperator *string) *apiError {
	if expected != nil || conditionalOperator != nil {
		return validation("esdk/ddbtest: the legacy parameters Expected and ConditionalOperator are not supported; use ConditionExpression")
	}
	return nil
}

type writeParams struct {
	TableName                           string
	ConditionExpression                 *string
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	Expected                            map[string]any
	ConditionalOperator                 *string
	exprParams
}

// compile checks the parameters of a conditional write and parses its
// condition.
func (w *writeParams) compile() (c *cond, allOld, oldOnFailure bool, err *apiError) {
	if err := legacy(w.Expected, w.ConditionalOperator); err != nil {
		return nil, false, false, err
	}
	if allOld, err = returnValues(w.ReturnValues); err != nil {
		return nil, false, false, err
	}
	if oldOnFailure, err = returnValuesOnFailure(w.ReturnValuesOnConditionCheckFailure); err != nil {
		return nil, false, false, err
	}
	if err := w.check(w.ConditionExpression != nil); err != nil {
		return nil, false, false, err
	}
	used := newUsage()
	if c, err = w.condition(w.ConditionExpression, used); err != nil {
		return nil, false, false, err
	}
	return c, allOld, oldOnFailure, w.finish(used)
}

func conditionFailed(old map[string]*value, withOld bool) *apiError {
	e := &apiError{typ: "ConditionalCheckFailedException", msg: "The conditional request failed"}
	if withOld && old != nil {
		e.item = old
	}
	return e
}

func (s *Server) opPutItem(sc scope, body []byte, out *any) *apiError {
	var in struct {
		Item map[string]*value
		writeParams
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	c, allOld, oldOnFailure, err := in.compile()
	if err != nil {
		return err
	}
	if in.Item == nil {
		return validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
	}
	if err := checkItem(in.Item); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if err := t.checkItemKey(in.Item); err != nil {
		return err
	}
	k := t.encodeKey(in.Item)
	old := t.items[k]
	if c != nil && !c.eval(old) {
		return conditionFailed(old, oldOnFailure)
	}
	t.items[k] = in.Item
	res := struct {
		Attributes item `json:",omitempty"`
	}{}
	if allOld && old != nil {
		res.Attributes = item(old)
	}
	*out = res
	return nil
}

func (s *Server) opDeleteItem(sc scope, body []byte, out *any) *apiError {
	var in struct {
		Key map[string]*value
		writeParams
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	c, allOld, oldOnFailure, err := in.compile()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if err := t.checkKey(in.Key); err != nil {
		return err
	}
	k := t.encodeKey(in.Key)
	old := t.items[k]
	if c != nil && !c.eval(old) {
		return conditionFailed(old, oldOnFailure)
	}
	delete(t.items, k)
	res := struct {
		Attributes item `json:",omitempty"`
	}{}
	if allOld && old != nil {
		res.Attributes = item(old)
	}
	*out = res
	return nil
}

// maxPage is the most data one Query or Scan page returns, as DynamoDB's.
const maxPage = 1 << 20

type readParams struct {
	TableName            string
	IndexName            *string
	FilterExpression     *string
	ProjectionExpression *string
	AttributesToGet      []string
	Select               string
	Limit                *int
	ExclusiveStartKey    map[string]*value
	ConsistentRead       bool
	ScanFilter           map[string]any
	QueryFilter          map[string]any
	ConditionalOperator  *string
	exprParams
}

func (r *readParams) compile(keyCond *string, used *usage) (filter *cond, proj *projection, err *apiError) {
	if r.ScanFilter != nil || r.QueryFilter != nil || r.ConditionalOperator != nil {
		return nil, nil, validation("esdk/ddbtest: the legacy parameters ScanFilter, QueryFilter and ConditionalOperator are not supported; use FilterExpression")
	}
	if err := r.check(keyCond != nil || r.FilterExpression != nil || r.ProjectionExpression != nil); err != nil {
		return nil, nil, err
	}
	if r.Limit != nil && *r.Limit < 1 {
		return nil, nil, validation("1 validation error detected: Value '" + strconv.Itoa(*r.Limit) + "' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
	}
	switch r.Select {
	case "", "ALL_ATTRIBUTES", "COUNT":
	case "SPECIFIC_ATTRIBUTES":
		if r.ProjectionExpression == nil && r.AttributesToGet == nil {
			return nil, nil, validation("1 validation error detected: ProjectionExpression or AttributesToGet must be given with Select SPECIFIC_ATTRIBUTES")
		}
	case "ALL_PROJECTED_ATTRIBUTES":
		return nil, nil, validation("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
	default:
		return nil, nil, validation("1 validation error detected: Value '" + r.Select + "' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]")
	}
	if r.FilterExpression != nil {
		c, perr := parseCondition("FilterExpression", *r.FilterExpression, r.ExpressionAttributeNames, r.ExpressionAttributeValues, used)
		if perr != nil {
			return nil, nil, perr.(*apiError)
		}
		filter = c
	}
	if proj, err = r.projection(r.ProjectionExpression, r.AttributesToGet, used); err != nil {
		return nil, nil, err
	}
	if proj != nil && r.Select != "" && r.Select != "SPECIFIC_ATTRIBUTES" {
		return nil, nil, validation("Cannot specify the AttributesToGet or ProjectionExpression when choosing to get " + r.Select)
	}
	return filter, proj, nil
}

type page struct {
	Items            []item `json:",omitempty"`
	Count            int
	ScannedCount     int
	LastEvaluatedKey item `json:",omitempty"`
}

// page reads one page of candidate items (already in order) after the
// exclusive start key: up to Limit items evaluated, or 1 MB.
func (r *readParams) page(t *table, candidates []map[string]*value, start string, filter *cond, proj *projection) any {
	res := page{}
	if start != "" {
		for i, it := range candidates {
			if t.encodeKey(it) == start {
				candidates = candidates[i+1:]
				break
			}
		}
	}
	size := 0
	for i, it := range candidates {
		res.ScannedCount++
		size += itemSize(it)
		if filter == nil || filter.eval(it) {
			res.Count++
			if r.Select != "COUNT" {
				kept := it
				if proj != nil {
					kept = proj.apply(it)
				}
				res.Items = append(res.Items, item(kept))
			}
		}
		if (r.Limit != nil && res.ScannedCount == *r.Limit || size >= maxPage) && i < len(candidates)-1 {
			res.LastEvaluatedKey = item(t.keyOf(it))
			break
		}
	}
	if r.Select != "COUNT" && res.Items == nil {
		res.Items = []item{}
	}
	if r.Select == "COUNT" {
		return struct {
			Count            int
			ScannedCount     int
			LastEvaluatedKey item `json:",omitempty"`
		}{res.Count, res.ScannedCount, res.LastEvaluatedKey}
	}
	return res
}

func (r *readParams) startKey(t *table) (string, *apiError) {
	if r.ExclusiveStartKey == nil {
		return "", nil
	}
	if err := t.checkKey(r.ExclusiveStartKey); err != nil {
		return "", validation("The provided starting key is invalid: " + err.msg)
	}
	return t.encodeKey(r.ExclusiveStartKey), nil
}

func (s *Server) opQuery(sc scope, body []byte, out *any) *apiError {
	var in struct {
		KeyConditionExpression *string
		KeyConditions          map[string]any
		ScanIndexForward       *bool
		readParams
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.KeyConditions != nil {
		return validation("esdk/ddbtest: the legacy parameter KeyConditions is not supported; use KeyConditionExpression")
	}
	if in.KeyConditionExpression == nil {
		return validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	used := newUsage()
	kc, perr := parseCondition("KeyConditionExpression", *in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, used)
	if perr != nil {
		return perr.(*apiError)
	}
	filter, proj, err := in.compile(in.KeyConditionExpression, used)
	if err != nil {
		return err
	}
	if err := in.finish(used); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if in.IndexName != nil {
		return validation("The table does not have the specified index: " + *in.IndexName)
	}
	hashVal, rangeCond, err := t.keyCondition(kc)
	if err != nil {
		return err
	}
	if filter != nil {
		var keyAttr string
		filter.walkPaths(func(p path) {
			if keyAttr == "" && (p[0].name == t.hash.name || p[0].name == t.rng.name) {
				keyAttr = p[0].name
			}
		})
		if keyAttr != "" {
			return validation("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + keyAttr)
		}
	}
	start, err := in.startKey(t)
	if err != nil {
		return err
	}
	var candidates []map[string]*value
	for _, it := range t.sortedItems(hashVal) {
		if rangeCond == nil || rangeCond.eval(it) {
			candidates = append(candidates, it)
		}
	}
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		for i, j := 0, len(candidates)-1; i < j; i, j = i+1, j-1 {
			candidates[i], candidates[j] = candidates[j], candidates[i]
		}
	}
	*out = in.page(t, candidates, start, filter, proj)
	return nil
}

// keyCondition checks that a KeyConditionExpression is an equality on the
// partition key, optionally AND one condition on the sort key, and returns
// the partition key value and the sort key condition.
func (t *table) keyCondition(c *cond) (*value, *cond, *apiError) {
	var parts []*cond
	switch c.op {
	case "AND":
		if c.kids[0].op == "AND" || c.kids[1].op == "AND" {
			return nil, nil, validation("Invalid KeyConditionExpression: The expression has too many conditions; a key condition is an equality on the partition key and at most one condition on the sort key")
		}
		parts = c.kids
	default:
		parts = []*cond{c}
	}
	var hashVal *value
	var rangeCond *cond
	for _, p := range parts {
		switch p.op {
		case "OR", "NOT", "<>", "IN", "attribute_exists", "attribute_not_exists", "attribute_type", "contains", "size":
			return nil, nil, validation("Invalid operator used in KeyConditionExpression: " + p.op)
		}
		a := p.args[0]
		if a.path == nil || a.size || len(a.path) != 1 {
			return nil, nil, validation("Invalid KeyConditionExpression: the left operand of each condition must be a key attribute")
		}
		for _, o := range p.args[1:] {
			if o.val == nil {
				return nil, nil, validation("Invalid KeyConditionExpression: the right operands of a key condition must be expression attribute values")
			}
		}
		name := a.path[0].name
		switch {
		case name == t.hash.name && p.op == "=" && hashVal == nil:
			hashVal = p.args[1].val
			if hashVal.t != t.hash.typ {
				return nil, nil, validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
			}
		case name == t.hash.name:
			return nil, nil, validation("Query key condition not supported")
		case name == t.rng.name && t.rng.name != "" && rangeCond == nil:
			for _, o := range p.args[1:] {
				if o.val.t != t.rng.typ {
					return nil, nil, validation("One or more parameter values were invalid: Condition parameter type does not match schema type")
				}
			}
			if p.op == "begins_with" && t.rng.typ == "N" {
				return nil, nil, validation("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
			}
			rangeCond = p
		default:
			return nil, nil, validation("Query condition missed key schema element: " + t.hash.name)
		}
	}
	if hashVal == nil {
		return nil, nil, validation("Query condition missed key schema element: " + t.hash.name)
	}
	return hashVal, rangeCond, nil
}

func (s *Server) opScan(sc scope, body []byte, out *any) *apiError {
	var in struct {
		Segment, TotalSegments *int
		readParams
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	if in.Segment != nil || in.TotalSegments != nil {
		return validation("esdk/ddbtest: parallel scans (Segment, TotalSegments) are not supported")
	}
	used := newUsage()
	filter, proj, err := in.compile(nil, used)
	if err != nil {
		return err
	}
	if err := in.finish(used); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.lookupTableLocked(sc, in.TableName)
	if err != nil {
		return err
	}
	if in.IndexName != nil {
		return validation("The table does not have the specified index: " + *in.IndexName)
	}
	start, err := in.startKey(t)
	if err != nil {
		return err
	}
	*out = in.page(t, t.sortedItems(nil), start, filter, proj)
	return nil
}

// Transactions.

const (
	maxTransactItems = 100
	maxTransactSize  = 4 << 20 // bytes of a transaction's items
	tokenLifetime    = 10 * time.Minute
)

type tokenUse struct {
	request [32]byte // hash of the request body
	at      time.Time
}

type transactAction struct {
	TableName                           string
	Key                                 map[string]*value
	Item                                map[string]*value
	ConditionExpression                 *string
	UpdateExpression                    *string
	ReturnValuesOnConditionCheckFailure string
	exprParams
}

// A prepared action of a transaction.
type prepared struct {
	kind   string // "ConditionCheck", "Put", "Delete"
	t      *table
	key    string
	item   map[string]*value // Put
	cond   *cond
	oldOut bool // ReturnValuesOnConditionCheckFailure ALL_OLD
}

func (s *Server) opTransactWriteItems(sc scope, body []byte, out *any) *apiError {
	var in struct {
		TransactItems []struct {
			ConditionCheck, Put, Delete, Update *transactAction
		}
		ClientRequestToken *string
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	switch n := len(in.TransactItems); {
	case n == 0:
		return validation("1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	case n > maxTransactItems:
		return validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	if tok := in.ClientRequestToken; tok != nil && (len(*tok) < 1 || len(*tok) > 36) {
		return validation("1 validation error detected: Value at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36 and greater than or equal to 1")
	}

	// Everything that does not depend on the tables is checked first.
	type parsed struct {
		kind string
		a    *transactAction
		cond *cond
	}
	var actions []parsed
	size := 0
	for _, ti := range in.TransactItems {
		var p parsed
		n := 0
		for kind, a := range map[string]*transactAction{"ConditionCheck": ti.ConditionCheck, "Put": ti.Put, "Delete": ti.Delete, "Update": ti.Update} {
			if a != nil {
				p.kind, p.a = kind, a
				n++
			}
		}
		if n != 1 {
			return validation("TransactItems can only contain one of Check, Put, Update or Delete")
		}
		a := p.a
		switch p.kind {
		case "Update":
			return validation("esdk/ddbtest: Update actions in TransactWriteItems are not supported; use Put")
		case "ConditionCheck":
			if a.ConditionExpression == nil {
				return validation("The ConditionExpression is required for a ConditionCheck")
			}
		}
		if p.kind == "Put" {
			if a.Item == nil {
				return validation("1 validation error detected: Value null at 'transactItems.member.put.item' failed to satisfy constraint: Member must not be null")
			}
			if err := checkItem(a.Item); err != nil {
				return err
			}
			size += itemSize(a.Item)
		} else if a.Key == nil {
			return validation("1 validation error detected: Value null at 'transactItems.member." + strings.ToLower(p.kind[:1]) + p.kind[1:] + ".key' failed to satisfy constraint: Member must not be null")
		}
		if _, err := returnValuesOnFailure(a.ReturnValuesOnConditionCheckFailure); err != nil {
			return err
		}
		if err := a.check(a.ConditionExpression != nil); err != nil {
			return err
		}
		used := newUsage()
		c, err := a.condition(a.ConditionExpression, used)
		if err != nil {
			return err
		}
		if err := a.finish(used); err != nil {
			return err
		}
		p.cond = c
		actions = append(actions, p)
	}
	if size > maxTransactSize {
		return validation("Transaction request cannot be larger than 4 MB")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var tokenKey string
	// The request as parsed, marshalled with sorted names: the SDK writes
	// maps in random order, so the same request has many bodies.
	canonical, _ := json.Marshal(in.TransactItems)
	reqHash := sha256.Sum256(canonical)
	if in.ClientRequestToken != nil {
		tokenKey = sc.region + "/" + sc.account + "/" + *in.ClientRequestToken
		now := s.opts.Now()
		for k, u := range s.tokens {
			if now.Sub(u.at) > tokenLifetime {
				delete(s.tokens, k)
			}
		}
		if u, ok := s.tokens[tokenKey]; ok {
			if u.request != reqHash {
				return &apiError{typ: "IdempotentParameterMismatchException", msg: "esdk/ddbtest: the ClientRequestToken was used for a different transaction in the last 10 minutes"}
			}
			*out = struct{}{} // the same transaction again: it succeeded already
			return nil
		}
	}
	var preps []prepared
	seen := map[string]bool{}
	for _, p := range actions {
		t, err := s.lookupTableLocked(sc, p.a.TableName)
		if err != nil {
			return err
		}
		pr := prepared{kind: p.kind, t: t, cond: p.cond, oldOut: p.a.ReturnValuesOnConditionCheckFailure == "ALL_OLD"}
		if p.kind == "Put" {
			if err := t.checkItemKey(p.a.Item); err != nil {
				return err
			}
			pr.item, pr.key = p.a.Item, t.encodeKey(p.a.Item)
		} else {
			if err := t.checkKey(p.a.Key); err != nil {
				return err
			}
			pr.key = t.encodeKey(p.a.Key)
		}
		id := t.arn + "\x00" + pr.key
		if seen[id] {
			return validation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		preps = append(preps, pr)
	}

	reasons := make([]cancellationReason, len(preps))
	failed := false
	for i, pr := range preps {
		reasons[i].Code = "None"
		old := pr.t.items[pr.key]
		if pr.cond != nil && !pr.cond.eval(old) {
			failed = true
			reasons[i] = cancellationReason{Code: "ConditionalCheckFailed", Message: "The conditional request failed"}
			if pr.oldOut && old != nil {
				reasons[i].Item = item(old)
			}
		}
	}
	if failed {
		codes := make([]string, len(reasons))
		for i, r := range reasons {
			codes[i] = r.Code
		}
		return &apiError{
			typ:     "TransactionCanceledException",
			msg:     "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
			reasons: reasons,
		}
	}
	for _, pr := range preps {
		switch pr.kind {
		case "Put":
			pr.t.items[pr.key] = pr.item
		case "Delete":
			delete(pr.t.items, pr.key)
		}
	}
	if tokenKey != "" {
		s.tokens[tokenKey] = tokenUse{request: reqHash, at: s.opts.Now()}
	}
	*out = struct{}{}
	return nil
}
