package kmstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// DefaultAccount is the account of requests whose access key id is not a
// 12-digit account id.
const DefaultAccount = "111122223333"

// maxBody bounds a request body; the largest valid request (a 6,144-byte
// ciphertext with its context and grant tokens) is far smaller.
const maxBody = 1 << 20

// A Server is an in-process KMS endpoint. Its methods are safe for
// concurrent use, also while requests are served.
type Server struct {
	// URL is the endpoint's base URL (http://127.0.0.1:port), for a client's
	// BaseEndpoint.
	URL string

	ts     *httptest.Server
	closed chan struct{} // closed by Close, ends injected latency
	once   sync.Once

	mu      sync.Mutex
	keys    map[keyRef]*key
	aliases map[keyRef]string   // alias name → key id, per region and account
	mrks    map[keyRef][]string // (account, id) → regions holding the multi-Region key
	calls   []Call

	throttleNext int
	throttleRate float64
	rng          *mrand.Rand
	latency      time.Duration
	keyFaults    map[string]string // key ARN or key id → error type
}

// A Call is one request the server answered, in the order received.
type Call struct {
	Operation string // KMS operation, e.g. "Decrypt"
	Region    string // region of the request's credential scope
	Account   string // account of the request's access key
	// KeyID is the ARN of the key the call used (for ReEncrypt the
	// destination key, or the source key when decrypting failed); when the
	// key did not resolve, the identifier as sent.
	KeyID string
	// Error is the KMS error type of the response ("ThrottlingException",
	// "NotFoundException", ...), "RequestCanceled" when the client went away
	// (or the server closed) during injected latency, and empty on success.
	Error string
}

// NewServer starts a Server on a loopback port. Close it when done.
func NewServer() *Server {
	s := &Server{
		keys:      make(map[keyRef]*key),
		aliases:   make(map[keyRef]string),
		mrks:      make(map[keyRef][]string),
		keyFaults: make(map[string]string),
		closed:    make(chan struct{}),
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
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
			return aws.Credentials{AccessKeyID: account, SecretAccessKey: "kmstest", Source: "kmstest"}, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}
}

// Client returns a KMS client for region and account built from
// [Server.Config].
func (s *Server) Client(region, account string, optFns ...func(*kms.Options)) *kms.Client {
	return kms.NewFromConfig(s.Config(region, account), optFns...)
}

// ThrottleNext answers the next n requests, whatever they are, with
// ThrottlingException. n <= 0 cancels what is left of an earlier call.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleNext = max(n, 0)
}

// ThrottleRate answers a fraction rate (0 to 1) of requests with
// ThrottlingException, chosen by a pseudo-random sequence seeded with seed:
// the same seed throttles the same requests of a sequential run. A rate of 0
// turns it off. Requests counted by ThrottleNext are not drawn.
func (s *Server) ThrottleRate(rate float64, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleRate = min(max(rate, 0), 1)
	s.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// SetLatency delays every request by d before it is handled. A request whose
// client cancels it (its context is done) ends at once; it is logged with
// Error "RequestCanceled" and changes nothing.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// FailKey makes every request that uses a key answer the KMS error type
// errorType (for example "AccessDeniedException", "KMSInternalException",
// "DisabledException") instead. key is a key ARN, which fails that key in its
// region only, or a key id, which fails the key in every region and account
// (all replicas of a multi-Region key). An empty errorType removes the fault.
// The error comes after the key is found, before its state is checked.
func (s *Server) FailKey(key, errorType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errorType == "" {
		delete(s.keyFaults, key)
		return
	}
	s.keyFaults[key] = errorType
}

// keyFaultLocked returns the error injected for k, if any. s.mu must be held.
func (s *Server) keyFaultLocked(k *key) *apiError {
	typ, ok := s.keyFaults[k.arn]
	if !ok {
		typ, ok = s.keyFaults[k.ref.id]
	}
	if !ok {
		return nil
	}
	msg := "kmstest: injected fault for " + k.arn
	if typ == "AccessDeniedException" {
		msg = "User is not authorized to perform this operation on " + k.arn + " (injected by kmstest)"
	}
	return &apiError{typ: typ, msg: msg}
}

// Calls returns a copy of the request log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Count returns how many requests for an operation (e.g. "GenerateDataKey")
// the server answered, failed ones included; "" counts all.
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
// follows (for example after setting keys up).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// apiError is a KMS error response.
type apiError struct {
	typ, msg string
}

// status is the HTTP status KMS uses for an error type.
func (e *apiError) status() int {
	switch e.typ {
	case "KMSInternalException", "KeyUnavailableException":
		return http.StatusInternalServerError
	case "DependencyTimeoutException":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func validation(field, constraint string) *apiError {
	return &apiError{typ: "ValidationException", msg: "1 validation error detected: Value at '" + field + "' failed to satisfy constraint: " + constraint}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	call := Call{}
	out, err := s.handle(r, &call)
	if err != nil {
		call.Error = err.typ
	}
	s.log(call)
	if err != nil && err.typ == "RequestCanceled" {
		// Drop the connection without a response (net/http's way to abort
		// a handler): the client left, or must see the server going away.
		panic(http.ErrAbortHandler)
	}

	var id [16]byte
	rand.Read(id[:])
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", hex.EncodeToString(id[:]))
	if err != nil {
		w.WriteHeader(err.status())
		json.NewEncoder(w).Encode(struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{err.typ, err.msg})
		return
	}
	if out == nil {
		out = struct{}{}
	}
	json.NewEncoder(w).Encode(out)
}

func (s *Server) log(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

// handle checks the protocol and the faults, then runs the operation.
func (s *Server) handle(r *http.Request, call *Call) (any, *apiError) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "TrentService.")
	call.Operation = op
	if r.Method != http.MethodPost {
		return nil, &apiError{typ: "UnknownOperationException", msg: "kmstest: method " + r.Method + " is not POST"}
	}
	if !ok {
		return nil, &apiError{typ: "UnknownOperationException", msg: "kmstest: X-Amz-Target " + target + " is not TrentService.<Operation>"}
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/x-amz-json-1.1" {
		return nil, &apiError{typ: "SerializationException", msg: "kmstest: Content-Type " + ct + " is not application/x-amz-json-1.1"}
	}
	sc, err := credentialScope(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	call.Region, call.Account = sc.region, sc.account
	body, rerr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if rerr != nil {
		return nil, &apiError{typ: "SerializationException", msg: "kmstest: reading the request: " + rerr.Error()}
	}
	if len(body) > maxBody {
		return nil, &apiError{typ: "SerializationException", msg: "kmstest: request body is larger than 1 MiB"}
	}
	var named struct{ KeyId, DestinationKeyId string }
	json.Unmarshal(body, &named) // for the log only; bad JSON is reported below
	call.KeyID = named.KeyId
	if named.DestinationKeyId != "" {
		call.KeyID = named.DestinationKeyId
	}

	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil, &apiError{typ: "RequestCanceled"}
		case <-s.closed:
			t.Stop()
			return nil, &apiError{typ: "RequestCanceled"}
		}
	}
	if s.throttled() {
		return nil, &apiError{typ: "ThrottlingException", msg: "Rate exceeded"}
	}

	fn, ok := operations[op]
	if !ok {
		return nil, &apiError{typ: "UnknownOperationException", msg: "kmstest: operation " + op + " is not implemented"}
	}
	return fn(&request{s: s, sc: sc, body: body, call: call})
}

func (s *Server) throttled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttleNext > 0 {
		s.throttleNext--
		return true
	}
	return s.throttleRate > 0 && s.rng.Float64() < s.throttleRate
}

// credentialScope reads region and account from a SigV4 Authorization
// header: "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/kms/aws4_request, ...".
func credentialScope(auth string) (scope, *apiError) {
	missing := &apiError{typ: "MissingAuthenticationTokenException", msg: "kmstest: the request has no SigV4 Authorization header (use credentials, not anonymous ones)"}
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
		if len(f) != 5 || f[2] == "" || f[3] != "kms" {
			return scope{}, &apiError{typ: "IncompleteSignatureException", msg: "kmstest: malformed credential scope " + cred}
		}
		account := f[0]
		if !isAccount(account) {
			account = DefaultAccount
		}
		return scope{region: f[2], account: account}, nil
	}
	return scope{}, missing
}
