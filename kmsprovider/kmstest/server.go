package kmstest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
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

// Options are the settings of a Server. The zero value serves plain HTTP
// and takes each request's identity from its access key without checking
// its signature.
type Options struct {
	// TLS serves HTTPS (httptest.NewTLSServer) under a self-signed
	// certificate for 127.0.0.1. The HTTP client of Config and Client
	// trusts it; [Server.Certificate] returns it for clients made another
	// way.
	TLS bool

	// VerifySignatures checks every request's SigV4 signature as KMS does,
	// against the credentials the server hands out ([Server.Credentials],
	// and through it Config and Client): a request whose access key the
	// server did not hand out, or that carries a session token, gets
	// UnrecognizedClientException; one whose signature does not match, or
	// was made more than five minutes from now, InvalidSignatureException;
	// one without SignedHeaders, Signature or X-Amz-Date,
	// IncompleteSignatureException. The account of a request is then
	// proven by its signature.
	VerifySignatures bool
}

// A Server is an in-process KMS endpoint. Its methods are safe for
// concurrent use, also while requests are served.
type Server struct {
	// URL is the endpoint's base URL (http://127.0.0.1:port, or https://
	// with Options.TLS), for a client's BaseEndpoint.
	URL string

	opts   Options
	secret [32]byte // derives the secret access keys the server hands out
	ts     *httptest.Server
	closed chan struct{} // closed by Close, ends injected latency
	once   sync.Once

	mu         sync.Mutex
	keys       map[keyRef]*key
	aliases    map[keyRef]string          // alias name → key id, per region and account
	mrks       map[keyRef][]string        // (account, id) → regions holding the multi-Region key
	principals map[string]identity        // access key id → IAM principal, for keys handed out
	allowed    map[string]map[string]bool // key ARN or key id → principals AllowKey allowed
	calls      []Call

	throttleNext int
	throttleRate float64
	rng          *mrand.Rand
	latency      time.Duration
	keyFaults    map[string]string // key ARN or key id → error type
}

// A Call is one request the server answered, in the order received. A
// request refused before it was authenticated (a bad signature, say) has
// no Region, Account, Principal or KeyID.
type Call struct {
	Operation string // KMS operation, e.g. "Decrypt"
	Region    string // region of the request's credential scope
	Account   string // account of the request's access key
	// Principal is the IAM principal of the request's access key: the
	// account's root (arn:aws:iam::ACCOUNT:root) for an account id, or the
	// user or role that Credentials was given.
	Principal string
	// KeyID is the ARN of the key the call used (for ReEncrypt the
	// destination key, or the source key when decrypting failed); when the
	// key did not resolve, the identifier as sent.
	KeyID string
	// GrantTokens are the request's grant tokens, as sent.
	GrantTokens []string
	// EncryptionContext is the request's encryption context, as sent (for
	// ReEncrypt its DestinationEncryptionContext); nil when it had none.
	EncryptionContext map[string]string
	// Error is the KMS error type of the response ("ThrottlingException",
	// "NotFoundException", ...), "RequestCanceled" when the client went away
	// (or the server closed) during injected latency, and empty on success.
	Error string
}

// NewServer starts a Server on a loopback port with the options that
// optFns set, applied in order to a zero Options. Close it when done.
func NewServer(optFns ...func(*Options)) *Server {
	var o Options
	for _, fn := range optFns {
		fn(&o)
	}
	s := &Server{
		opts:       o,
		keys:       make(map[keyRef]*key),
		aliases:    make(map[keyRef]string),
		mrks:       make(map[keyRef][]string),
		principals: make(map[string]identity),
		allowed:    make(map[string]map[string]bool),
		keyFaults:  make(map[string]string),
		closed:     make(chan struct{}),
	}
	rand.Read(s.secret[:])
	if o.TLS {
		s.ts = httptest.NewTLSServer(http.HandlerFunc(s.serveHTTP))
	} else {
		s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	}
	s.URL = s.ts.URL
	return s
}

// Options returns the options the server was started with.
func (s *Server) Options() Options {
	return s.opts
}

// Certificate returns the certificate of a server started with
// Options.TLS, for clients that build their own TLS configuration (add it
// to the RootCAs of a tls.Config); nil without TLS.
func (s *Server) Certificate() *x509.Certificate {
	if !s.opts.TLS {
		return nil
	}
	return s.ts.Certificate()
}

// Close shuts the server down. Requests waiting in injected latency end at
// once; Close waits for the others in flight.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.ts.Close()
}

// Credentials returns the credentials the server hands out to an identity:
// "" for DefaultAccount, a 12-digit account id (its root), or an IAM user or
// role ARN of an account (arn:aws:iam::ACCOUNT:role/NAME), whose requests
// run as that principal of that account. The access key id is the account
// id, or for a user or role an AKIA id the server remembers; the secret is
// derived from the access key id under a key of this server's, so with
// Options.VerifySignatures only these credentials sign valid requests.
// Give them to clients the server's helpers do not build (another SDK, a
// command under test). Credentials panics on an identity of none of these
// forms.
func (s *Server) Credentials(identity string) aws.Credentials {
	id, ok := parseIdentity(identity)
	if !ok {
		panic("esdk/kmstest: identity " + identity + " is not an account id or an IAM user or role ARN")
	}
	akid := id.accessKeyID()
	if id.principal != "" {
		s.mu.Lock()
		s.principals[akid] = id
		s.mu.Unlock()
	}
	return aws.Credentials{AccessKeyID: akid, SecretAccessKey: s.secretFor(akid), Source: "kmstest"}
}

// Config returns an aws.Config for a client acting in region as identity
// (as for [Server.Credentials]: "" for DefaultAccount, an account id, or an
// IAM user or role ARN): BaseEndpoint at the server, the identity's static
// credentials, the server's HTTP client (which trusts its certificate with
// Options.TLS), and the SDK's standard retryer with its backoff capped at
// 10ms so that retried throttling keeps tests fast. Change any of it as
// needed.
func (s *Server) Config(region, identity string) aws.Config {
	creds := s.Credentials(identity)
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.ts.Client(),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = 10 * time.Millisecond })
		},
	}
}

// Client returns a KMS client for region and identity built from
// [Server.Config].
func (s *Server) Client(region, identity string, optFns ...func(*kms.Options)) *kms.Client {
	return kms.NewFromConfig(s.Config(region, identity), optFns...)
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
	msg := "esdk/kmstest: injected fault for " + k.arn
	if typ == "AccessDeniedException" {
		msg = "User is not authorized to perform this operation on " + k.arn + " (injected by kmstest)"
	}
	return &apiError{typ: typ, msg: msg}
}

// Calls returns a copy of the request log.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.GrantTokens = slices.Clone(c.GrantTokens)
		c.EncryptionContext = maps.Clone(c.EncryptionContext)
		out[i] = c
	}
	return out
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
		return nil, &apiError{typ: "UnknownOperationException", msg: "esdk/kmstest: method " + r.Method + " is not POST"}
	}
	if !ok {
		return nil, &apiError{typ: "UnknownOperationException", msg: "esdk/kmstest: X-Amz-Target " + target + " is not TrentService.<Operation>"}
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != "application/x-amz-json-1.1" {
		return nil, &apiError{typ: "SerializationException", msg: "esdk/kmstest: Content-Type " + ct + " is not application/x-amz-json-1.1"}
	}
	body, rerr := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if rerr != nil {
		return nil, &apiError{typ: "SerializationException", msg: "esdk/kmstest: reading the request: " + rerr.Error()}
	}
	if len(body) > maxBody {
		return nil, &apiError{typ: "SerializationException", msg: "esdk/kmstest: request body is larger than 1 MiB"}
	}
	sc, err := s.authenticate(r, body)
	if err != nil {
		return nil, err
	}
	sc.action = "kms:" + op
	call.Region, call.Account, call.Principal = sc.region, sc.account, sc.principal
	var named struct {
		KeyId, DestinationKeyId                         string
		GrantTokens                                     []string
		EncryptionContext, DestinationEncryptionContext map[string]string
	}
	json.Unmarshal(body, &named) // for the log only; bad JSON is reported below
	call.KeyID = named.KeyId
	if named.DestinationKeyId != "" {
		call.KeyID = named.DestinationKeyId
	}
	call.GrantTokens, call.EncryptionContext = named.GrantTokens, named.EncryptionContext
	if op == "ReEncrypt" {
		call.EncryptionContext = named.DestinationEncryptionContext
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
		return nil, &apiError{typ: "UnknownOperationException", msg: "esdk/kmstest: operation " + op + " is not implemented"}
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
