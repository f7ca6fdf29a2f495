package ddbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DefaultAccount is the account of requests whose access key id is not a
// 12-digit account id.
const DefaultAccount = "111122223333"

// maxBody bounds a request body: a transaction's items add up to 4 MB at
// most, which base64 and JSON framing make at most about 6 MB.
const maxBody = 8 << 20

// maxJSONDepth bounds how deeply the JSON of a request nests: a request's
// own structure plus two levels for each of the 32 levels an attribute
// value may have.
const maxJSONDepth = 2*maxDepth + 12

// Options configure a [Server].
type Options struct {
	// TLS serves HTTPS (with httptest's self-signed certificate) instead of
	// HTTP; [Server.Config] gives clients an HTTP client that trusts it.
	TLS bool

	// Now is the clock for table creation times and the lifetime of
	// transaction idempotency tokens. The default is time.Now.
	Now func() time.Time
}

// A Server is an in-process DynamoDB endpoint. Its methods are safe for
// concurrent use, also while requests are served.
type Server struct {
	// URL is the endpoint's base URL (http://127.0.0.1:port), for a client's
	// BaseEndpoint.
	URL string

	opts   Options
	ts     *httptest.Server
	closed chan struct{} // closed by Close, ends injected latency
	once   sync.Once

	mu     sync.Mutex
	tables map[tableRef]*table
	tokens map[string]tokenUse // transaction idempotency tokens
	calls  []Call

	throttleNext int
	latency      time.Duration
	tableFaults  map[string]string // table name → error type
}

// A Call is one request the server answered, in the order received.
type Call struct {
	Operation string // DynamoDB operation, e.g. "GetItem"
	Region    string // region of the request's credential scope
	Account   string // account of the request's access key
	// Table is the table the request names; for TransactWriteItems, the
	// tables of its actions in request order without repeats, joined by
	// commas.
	Table string
	// Error is the DynamoDB error type of the response
	// ("ConditionalCheckFailedException", "TransactionCanceledException",
	// ...), "RequestCanceled" when the client went away (or the server
	// closed) during injected latency, and empty on success.
	Error string
	// CancellationReasons are, for a TransactionCanceledException, the
	// reason codes of the actions in request order ("None",
	// "ConditionalCheckFailed").
	CancellationReasons []string
}

// NewServer starts a Server on a loopback port. Close it when done.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{
		opts:        o,
		tables:      make(map[tableRef]*table),
		tokens:      make(map[string]tokenUse),
		tableFaults: make(map[string]string),
		closed:      make(chan struct{}),
	}
	h := http.HandlerFunc(s.serveHTTP)
	if o.TLS {
		s.ts = httptest.NewTLSServer(h)
	} else {
		s.ts = httptest.NewServer(h)
	}
	s.URL = s.ts.URL
	return s
}

// Close shuts the server down. Requests waiting in injected latency end at
// once; Close waits for the others in flight.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.ts.Close()
}

// Config returns an aws.Config for a client acting in region as account (a
// 12-digit id; "" means DefaultAccount): BaseEndpoint at the server, static
// dummy credentials whose access key id is the account, the server's HTTP
// client, and the SDK's standard retryer with its backoff capped at 10ms so
// that retried throttling keeps tests fast. Change any of it as needed.
func (s *Server) Config(region, account string) aws.Config {
	if account == "" {
		account = DefaultAccount
	}
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.ts.Client(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: account, SecretAccessKey: "ddbtest", Source: "ddbtest"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}
}

// Client returns a DynamoDB client for region and account built from
// [Server.Config].
func (s *Server) Client(region, account string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(s.Config(region, account), optFns...)
}

// ThrottleNext answers the next n requests, whatever they are, with
// ProvisionedThroughputExceededException, which the SDK's retryer retries.
// n <= 0 cancels what is left of an earlier call.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleNext = max(n, 0)
}

// SetLatency delays every request by d before it is handled. A request whose
// client cancels it (its context is done) ends at once; it is logged with
// Error "RequestCanceled" and changes nothing.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailTable makes every request that names the table (in any region and
// account, or in any action of a transaction) answer the DynamoDB error type
// errorType instead: "InternalServerError" (HTTP 500, retried by the SDK),
// "ResourceNotFoundException", "RequestLimitExceeded", "AccessDeniedException"
// or any other. The request changes nothing. An empty errorType removes the
// fault.
func (s *Server) FailTable(name, errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errorType == "" {
		delete(s.tableFaults, name)
		return
	}
	s.tableFaults[name] = errorType
}

// Calls returns a copy of the request log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many requests for an operation (e.g. "GetItem") the
// server answered, failed ones included; "" counts all.
func (s *Server) Count(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if operation == "" {
		return len(s.calls)
	}
	n := 0
	for _, c := range s.calls {
		if c.Operation == operation {
			n++
		}
	}
	return n
}

// ResetCalls empties the request log, so that assertions see only what
// follows (for example after setting tables up).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// apiError is a DynamoDB error response.
type apiError struct {
	typ, msg string
	item     map[string]*value // ConditionalCheckFailedException with ALL_OLD
	reasons  []cancellationReason
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

type cancellationReason struct {
	Code    string
	Message string `json:",omitempty"`
	Item    item   `json:",omitempty"`
}

// namespace is the prefix of an error's __type, as DynamoDB writes it.
func (e *apiError) namespace() string {
	switch e.typ {
	case "ValidationException":
		return "com.amazon.coral.validate#"
	case "SerializationException", "UnknownOperationException", "MissingAuthenticationTokenException", "IncompleteSignatureException":
		return "com.amazon.coral.service#"
	}
	return "com.amazonaws.dynamodb.v20120810#"
}

func (e *apiError) status() int {
	switch e.typ {
	case "InternalServerError", "InternalFailure":
		return http.StatusInternalServerError
	case "RequestEntityTooLarge":
		return http.StatusRequestEntityTooLarge
	case "ServiceUnavailable":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func validation(msg string) *apiError {
	return &apiError{typ: "ValidationException", msg: msg}
}

func serialization(msg string) *apiError {
	return &apiError{typ: "SerializationException", msg: msg}
}

func notFound() *apiError {
	return &apiError{typ: "ResourceNotFoundException", msg: "Requested resource not found"}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{}
	var out any
	aerr := s.handle(r, &call, &out)
	if aerr != nil {
		call.Error = aerr.typ
		for _, rs := range aerr.reasons {
			call.CancellationReasons = append(call.CancellationReasons, rs.Code)
		}
	}
	s.log(call)
	if aerr != nil && aerr.typ == "RequestCanceled" {
		// Drop the connection without a response (net/http's way to abort
		// a handler): the client left, or must see the server going away.
		panic(http.ErrAbortHandler)
	}

	var body []byte
	status := http.StatusOK
	if aerr != nil {
		status = aerr.status()
		e := map[string]any{"__type": aerr.namespace() + aerr.typ, "message": aerr.msg}
		if aerr.reasons != nil {
			e["CancellationReasons"] = aerr.reasons
			e["Message"] = aerr.msg
			delete(e, "message")
		}
		if aerr.item != nil {
			e["Item"] = item(aerr.item)
		}
		body, _ = json.Marshal(e)
	} else {
		if out == nil {
			out = struct{}{}
		}
		var err error
		if body, err = json.Marshal(out); err != nil {
			status = http.StatusInternalServerError
			body, _ = json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "esdk/ddbtest: " + err.Error()})
		}
	}
	var id [16]byte
	rand.Read(id[:])
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", strings.ToUpper(hex.EncodeToString(id[:])))
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	w.Write(body)
}

func (s *Server) log(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// named lists the tables a request names, for the log and for FailTable.
type named struct {
	TableName     string
	TransactItems []struct {
		ConditionCheck, Put, Delete, Update *struct{ TableName string }
	}
}

func (n *named) tables() []string {
	if n.TableName != "" {
		return []string{n.TableName}
	}
	var out []string
	for _, ti := range n.TransactItems {
		for _, a := range []*struct{ TableName string }{ti.ConditionCheck, ti.Put, ti.Delete, ti.Update} {
			if a != nil && a.TableName != "" && !contains(out, a.TableName) {
				out = append(out, a.TableName)
			}
		}
	}
	return out
}

// handle checks the protocol and the faults, then runs the operation.
func (s *Server) handle(r *http.Request, call *Call, out *any) *apiError {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	call.Operation = op
	if r.Method != http.MethodPost {
		return &apiError{typ: "UnknownOperationException", msg: "esdk/ddbtest: method " + r.Method + " is not POST"}
	}
	if !ok {
		return &apiError{typ: "UnknownOperationException", msg: "esdk/ddbtest: X-Amz-Target " + quote(target) + " is not DynamoDB_20120810.<Operation>"}
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/x-amz-json-1.0" {
		return serialization("esdk/ddbtest: Content-Type " + quote(ct) + " is not application/x-amz-json-1.0")
	}
	sc, aerr := credentialScope(r.Header.Get("Authorization"))
	if aerr != nil {
		return aerr
	}
	call.Region, call.Account = sc.region, sc.account
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return serialization("esdk/ddbtest: reading the request: " + err.Error())
	}
	if len(body) > maxBody {
		return &apiError{typ: "RequestEntityTooLarge", msg: "Request size exceeded " + strconv.Itoa(maxBody) + " bytes"}
	}
	var n named
	json.Unmarshal(body, &n) // for the log only; bad JSON is reported below
	tables := n.tables()
	call.Table = strings.Join(tables, ",")

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return &apiError{typ: "RequestCanceled"}
		case <-s.closed:
			t.Stop()
			return &apiError{typ: "RequestCanceled"}
		}
	}
	if aerr := s.fault(tables); aerr != nil {
		return aerr
	}

	return s.dispatch(sc, op, body, out)
}

// dispatch runs an operation on a request body.
func (s *Server) dispatch(sc scope, op string, body []byte, out *any) *apiError {
	fn, ok := operations[op]
	if !ok {
		return &apiError{typ: "UnknownOperationException", msg: "esdk/ddbtest: operation " + quote(op) + " is not implemented"}
	}
	if jsonDepth(body) > maxJSONDepth {
		return validation("Nesting Levels have exceeded supported limits")
	}
	return fn(s, sc, body, out)
}

// fault returns the throttling or table error injected for a request.
func (s *Server) fault(tables []string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttleNext > 0 {
		s.throttleNext--
		return &apiError{typ: "ProvisionedThroughputExceededException", msg: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}
	}
	for _, t := range tables {
		if typ, ok := s.tableFaults[t]; ok {
			return &apiError{typ: typ, msg: "esdk/ddbtest: injected fault for table " + t}
		}
	}
	return nil
}

// jsonDepth is how deeply arrays and objects nest in a JSON text (which need
// not be valid).
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

type scope struct {
	region, account string
}

// credentialScope reads region and account from a SigV4 Authorization
// header: "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/dynamodb/aws4_request, ...".
func credentialScope(auth string) (scope, *apiError) {
	missing := &apiError{typ: "MissingAuthenticationTokenException", msg: "esdk/ddbtest: the request has no SigV4 Authorization header (use credentials, not anonymous ones)"}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return scope{}, missing
	}
	for _, part := range strings.Split(rest, ",") {
		cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential=")
		if !ok {
			continue
		}
		f := strings.Split(cred, "/")
		if len(f) != 5 || f[2] == "" || f[3] != "dynamodb" {
			return scope{}, &apiError{typ: "IncompleteSignatureException", msg: "esdk/ddbtest: malformed credential scope " + quote(cred)}
		}
		account := f[0]
		if !isAccount(account) {
			account = DefaultAccount
		}
		return scope{region: f[2], account: account}, nil
	}
	return scope{}, missing
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

func sortStrings(s []string) { sort.Strings(s) }
