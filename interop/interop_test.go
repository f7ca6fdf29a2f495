package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

const (
	frameLength  = 512
	keyNamespace = "esdk-go-interop"

	// requireEnv, when set, turns the skips for a missing Node or missing
	// node_modules into failures, so that CI cannot pass without running
	// the test.
	requireEnv = "ESDK_INTEROP_REQUIRE"
	// dumpEnv names a folder to write failing messages and the run's
	// test keys into.
	dumpEnv = "ESDK_INTEROP_DUMP"

	// pkcs1RevertFlag re-enables RSA PKCS#1 v1.5 private decryption on
	// Node versions that disabled it.
	pkcs1RevertFlag = "--security-revert=CVE-2023-46809"

	publicKeyContextKey = "aws-crypto-public-key"

	goToJS = "go-to-js" // Go encrypts, JavaScript decrypts
	jsToGo = "js-to-go" // JavaScript encrypts, Go decrypts
)

var suiteIDs = []format.SuiteID{
	format.AES128GCMIV12Tag16NoKDF,
	format.AES192GCMIV12Tag16NoKDF,
	format.AES256GCMIV12Tag16NoKDF,
	format.AES128GCMIV12Tag16HKDFSHA256,
	format.AES192GCMIV12Tag16HKDFSHA256,
	format.AES256GCMIV12Tag16HKDFSHA256,
	format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256,
	format.AES192GCMIV12Tag16HKDFSHA384ECDSAP384,
	format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384,
	format.AES256GCMHKDFSHA512CommitKey,
	format.AES256GCMHKDFSHA512CommitKeyECDSAP384,
}

var sizes = []int{0, 1, frameLength, 3*frameLength + 7}

// jsKeyring describes a keyring to batch.js.
type jsKeyring struct {
	Type          string `json:"type"` // "aes", "rsa" or "kms"
	KeyNamespace  string `json:"keyNamespace"`
	KeyName       string `json:"keyName"`
	Key           []byte `json:"key,omitempty"`
	Padding       string `json:"padding,omitempty"`
	PublicKeyPEM  string `json:"publicKeyPem,omitempty"`
	PrivateKeyPEM string `json:"privateKeyPem,omitempty"`
	// Type "kms": a strict KMS keyring for the key ARN, whose KMS
	// clients call the endpoint as the account.
	KMSKeyID       string `json:"kmsKeyId,omitempty"`
	KMSEndpoint    string `json:"kmsEndpoint,omitempty"`
	KMSAccessKeyID string `json:"kmsAccessKeyId,omitempty"`
	// Type "hierarchy": a hierarchical keyring for BranchKeyID, over a
	// branch key store of the table on the DynamoDB endpoint, under the
	// KMS key KMSKeyID of the KMS endpoint, both in Region.
	BranchKeyID         string `json:"branchKeyId,omitempty"`
	DDBTableName        string `json:"ddbTableName,omitempty"`
	LogicalKeyStoreName string `json:"logicalKeyStoreName,omitempty"`
	Region              string `json:"region,omitempty"`
	DDBEndpoint         string `json:"ddbEndpoint,omitempty"`
}

type jsJob struct {
	ID                string            `json:"id"`
	Op                string            `json:"op"` // "encrypt", "decrypt", "createKey" or "versionKey"
	Keyring           string            `json:"keyring"`
	CommitmentPolicy  string            `json:"commitmentPolicy"`
	SuiteID           uint16            `json:"suiteId,omitempty"`
	FrameLength       int               `json:"frameLength,omitempty"`
	EncryptionContext map[string]string `json:"encryptionContext,omitempty"`
	Input             []byte            `json:"input"`
	BranchKeyID       string            `json:"branchKeyId,omitempty"` // createKey and versionKey
}

type jsRequest struct {
	Keyrings map[string]jsKeyring `json:"keyrings"`
	Jobs     []jsJob              `json:"jobs"`
}

type jsResult struct {
	ID                string            `json:"id"`
	OK                bool              `json:"ok"`
	Error             string            `json:"error"`
	Unsupported       bool              `json:"unsupported"`
	Output            []byte            `json:"output"`
	SuiteID           uint16            `json:"suiteId"`
	FrameLength       int               `json:"frameLength"`
	MessageVersion    int               `json:"messageVersion"`
	EncryptionContext map[string]string `json:"encryptionContext"`
}

type jsResponse struct {
	Node         string     `json:"node"`
	ESDK         string     `json:"esdk"`
	PKCS1Decrypt bool       `json:"pkcs1Decrypt"`
	Results      []jsResult `json:"results"`
}

// testKeyring is one keyring, built the same way on both sides.
type testKeyring struct {
	name string // subtest name and batch.js keyring reference
	js   jsKeyring
	mm   envelope.MaterialsManager
}

// testCase is one message: its suite, keyring and plaintext. Each case is
// run in both directions.
type testCase struct {
	suite     *format.Suite
	kr        *testKeyring
	plaintext []byte
}

func (c *testCase) path() string {
	return fmt.Sprintf("%s/%s/%s", suiteName(c.suite.ID()), c.kr.name, sizeName(len(c.plaintext)))
}

func (c *testCase) id(direction string) string { return direction + "/" + c.path() }

// encryptionContext is the context each case encrypts with. It has more
// than one pair, a non-ASCII key and value, and the case's name.
func (c *testCase) encryptionContext(direction string) map[string]string {
	return map[string]string{
		"purpose":   "interop",
		"case":      c.id(direction),
		"schlüssel": "wert ✓ 🔑",
	}
}

func suiteName(id format.SuiteID) string { return fmt.Sprintf("0x%04X", uint16(id)) }
func sizeName(n int) string              { return fmt.Sprintf("%d-bytes", n) }

func commitmentPolicies(s *format.Suite) (envelope.CommitmentPolicy, string) {
	if s.Committing() {
		return envelope.RequireEncryptRequireDecrypt, "REQUIRE_ENCRYPT_REQUIRE_DECRYPT"
	}
	return envelope.ForbidEncryptAllowDecrypt, "FORBID_ENCRYPT_ALLOW_DECRYPT"
}

func TestInterop(t *testing.T) {
	node, jsDir := requireJS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	keyrings := newKeyrings(t)
	jsKeyrings := make(map[string]jsKeyring, len(keyrings))
	for _, kr := range keyrings {
		jsKeyrings[kr.name] = kr.js
	}
	dump := &dumper{dir: os.Getenv(dumpEnv), keyrings: jsKeyrings}

	clients := make(map[format.SuiteID]*envelope.Client, len(suiteIDs))
	var cases []*testCase // suite by suite, then keyring by keyring, then size by size
	for _, id := range suiteIDs {
		suite := format.MustSuite(id)
		policy, _ := commitmentPolicies(suite)
		client, err := envelope.New(func(o *envelope.Options) {
			o.CommitmentPolicy = policy
			o.Suite = id
			o.FrameLength = frameLength
		})
		if err != nil {
			t.Fatalf("envelope.New for suite %s: %v", suiteName(id), err)
		}
		clients[id] = client
		for _, kr := range keyrings {
			for _, n := range sizes {
				pt := make([]byte, n)
				if _, err := rand.Read(pt); err != nil {
					t.Fatal(err)
				}
				cases = append(cases, &testCase{suite: suite, kr: kr, plaintext: pt})
			}
		}
	}

	// Go encrypts everything first, so that one Node process can do all
	// the JavaScript work.
	goCiphertexts := make(map[string][]byte, len(cases))
	goErrors := make(map[string]error)
	var jobs []jsJob
	for _, c := range cases {
		_, policy := commitmentPolicies(c.suite)
		jobs = append(jobs, jsJob{
			ID:                c.id(jsToGo),
			Op:                "encrypt",
			Keyring:           c.kr.name,
			CommitmentPolicy:  policy,
			SuiteID:           uint16(c.suite.ID()),
			FrameLength:       frameLength,
			EncryptionContext: c.encryptionContext(jsToGo),
			Input:             c.plaintext,
		})
		id := c.id(goToJS)
		ct, err := clients[c.suite.ID()].EncryptBytes(ctx, c.plaintext, c.kr.mm, c.encryptionContext(goToJS))
		if err != nil {
			goErrors[id] = err
			continue
		}
		goCiphertexts[id] = ct
		jobs = append(jobs, jsJob{
			ID:               id,
			Op:               "decrypt",
			Keyring:          c.kr.name,
			CommitmentPolicy: policy,
			Input:            ct,
		})
	}

	start := time.Now()
	resp, err := runBatch(ctx, t, node, jsDir, nil, jsRequest{Keyrings: jsKeyrings, Jobs: jobs})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s, @aws-crypto/client-node %s: %d jobs in %v", resp.Node, resp.ESDK, len(jobs), time.Since(start).Round(time.Millisecond))
	results := make(map[string]*jsResult, len(resp.Results))
	for i := range resp.Results {
		results[resp.Results[i].ID] = &resp.Results[i]
	}
	unsupportedNote := rerunUnsupported(ctx, t, node, jsDir, jsKeyrings, jobs, results)

	t.Run(goToJS, func(t *testing.T) {
		var tally tally
		runCases(t, cases, &tally, func(t *testing.T, c *testCase) {
			id := c.id(goToJS)
			if err := goErrors[id]; err != nil {
				t.Fatalf("Go EncryptBytes: %v", err)
			}
			ct := goCiphertexts[id]
			if desc, err := checkFraming(ct, c.suite, len(c.plaintext)); err != nil {
				dump.message(t, id, ct)
				t.Errorf("Go-encrypted message layout: %v\nheader: %s", err, headerHex(ct))
			} else {
				t.Log(desc)
			}
			r := results[id]
			if r == nil {
				t.Fatal("batch.js returned no result for this case")
			}
			if r.Unsupported {
				t.Skipf("%s%s", r.Error, unsupportedNote)
			}
			if !r.OK {
				dump.message(t, id, ct)
				t.Fatalf("JavaScript decrypt failed: %s\nmessage: %d bytes, header: %s", r.Error, len(ct), headerHex(ct))
			}
			checkPlaintext(t, "JavaScript", r.Output, c.plaintext)
			if got := format.SuiteID(r.SuiteID); got != c.suite.ID() {
				t.Errorf("JavaScript reports suite %s, want %s", suiteName(got), suiteName(c.suite.ID()))
			}
			if r.FrameLength != frameLength {
				t.Errorf("JavaScript reports frame length %d, want %d", r.FrameLength, frameLength)
			}
			checkContext(t, "JavaScript", r.EncryptionContext, c.encryptionContext(goToJS), c.suite)
		})
		tally.log(t)
	})

	t.Run(jsToGo, func(t *testing.T) {
		var tally tally
		runCases(t, cases, &tally, func(t *testing.T, c *testCase) {
			id := c.id(jsToGo)
			r := results[id]
			if r == nil {
				t.Fatal("batch.js returned no result for this case")
			}
			if !r.OK {
				t.Fatalf("JavaScript encrypt failed: %s", r.Error)
			}
			ct := r.Output
			if got := format.SuiteID(r.SuiteID); got != c.suite.ID() {
				t.Errorf("JavaScript reports suite %s, want %s", suiteName(got), suiteName(c.suite.ID()))
			}
			if r.FrameLength != frameLength {
				t.Errorf("JavaScript reports frame length %d, want %d", r.FrameLength, frameLength)
			}
			if desc, err := checkFraming(ct, c.suite, len(c.plaintext)); err != nil {
				dump.message(t, id, ct)
				t.Errorf("JavaScript-encrypted message layout: %v\nheader: %s", err, headerHex(ct))
			} else {
				t.Log(desc)
			}
			pt, hdr, err := clients[c.suite.ID()].DecryptBytes(ctx, ct, c.kr.mm, nil)
			if err != nil {
				dump.message(t, id, ct)
				t.Fatalf("Go DecryptBytes: %v\nmessage: %d bytes, header: %s", err, len(ct), headerHex(ct))
			}
			checkPlaintext(t, "Go", pt, c.plaintext)
			if hdr == nil {
				t.Fatal("Go DecryptBytes returned a nil header")
			}
			if hdr.Suite == nil || hdr.Suite.ID() != c.suite.ID() {
				t.Errorf("Go header suite = %v, want %s", hdr.Suite, suiteName(c.suite.ID()))
			}
			if hdr.FrameLength != frameLength {
				t.Errorf("Go header frame length = %d, want %d", hdr.FrameLength, frameLength)
			}
			checkContext(t, "Go", hdr.EncryptionContext, c.encryptionContext(jsToGo), c.suite)
		})
		tally.log(t)
	})
}

// runCases runs f on each case as the subtest suite/keyring/size of t
// and counts the outcomes. cases must be grouped by suite, then keyring.
func runCases(t *testing.T, cases []*testCase, tl *tally, f func(t *testing.T, c *testCase)) {
	t.Helper()
	for len(cases) > 0 {
		suite := cases[0].suite
		n := 0
		for n < len(cases) && cases[n].suite == suite {
			n++
		}
		group := cases[:n]
		cases = cases[n:]
		t.Run(suiteName(suite.ID()), func(t *testing.T) {
			for len(group) > 0 {
				kr := group[0].kr
				m := 0
				for m < len(group) && group[m].kr == kr {
					m++
				}
				sub := group[:m]
				group = group[m:]
				t.Run(kr.name, func(t *testing.T) {
					for _, c := range sub {
						t.Run(sizeName(len(c.plaintext)), func(t *testing.T) {
							defer tl.count(t)
							f(t, c)
						})
					}
				})
			}
		})
	}
}

type tally struct{ passed, failed, skipped int }

func (tl *tally) count(t *testing.T) {
	switch {
	case t.Failed():
		tl.failed++
	case t.Skipped():
		tl.skipped++
	default:
		tl.passed++
	}
}

func (tl *tally) log(t *testing.T) {
	t.Logf("%s: %d passed, %d failed, %d skipped", t.Name(), tl.passed, tl.failed, tl.skipped)
}

func checkPlaintext(t *testing.T, who string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Errorf("%s decrypted %d bytes, want %d; first difference at byte %d", who, len(got), len(want), i)
}

// checkContext checks that the context a decryptor reports holds every
// pair the message was encrypted with, and the signature public key
// exactly when the suite is signed.
func checkContext(t *testing.T, who string, got, want map[string]string, suite *format.Suite) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s encryption context lacks %q (got %v)", who, k, got)
		} else if g != v {
			t.Errorf("%s encryption context[%q] = %q, want %q", who, k, g, v)
		}
	}
	_, hasKey := got[publicKeyContextKey]
	if hasKey != suite.Signed() {
		t.Errorf("%s encryption context has %s: %v, want %v (suite signed: %v)", who, publicKeyContextKey, hasKey, suite.Signed(), suite.Signed())
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != publicKeyContextKey {
			t.Errorf("%s encryption context has unexpected key %q", who, k)
		}
	}
}

// requireJS returns the node binary and the js folder, or skips the test
// when they cannot be used.
func requireJS(t *testing.T) (node, jsDir string) {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(requireEnv) != "" {
			t.Fatalf(format+" (and %s is set)", append(args, requireEnv)...)
		}
		t.Skipf(format, args...)
	}
	if testing.Short() {
		skip("JavaScript interop test skipped in -short mode")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node not found on PATH: install Node.js 20 or later to run the JavaScript interop test")
	}
	jsDir, err = filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@aws-crypto", "client-node", "package.json")); err != nil {
		skip("interop/js/node_modules missing: run npm ci --prefix interop/js")
	}
	return node, jsDir
}

func newKeyrings(t *testing.T) []*testKeyring {
	t.Helper()
	var out []*testKeyring
	for _, bits := range []int{128, 192, 256} {
		name := fmt.Sprintf("aes-%d", bits)
		key := make([]byte, bits/8)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: keyNamespace, Name: name, WrappingKey: key})
		if err != nil {
			t.Fatalf("keyring.NewRawAES(%d-bit key): %v", bits, err)
		}
		out = append(out, &testKeyring{
			name: name,
			js:   jsKeyring{Type: "aes", KeyNamespace: keyNamespace, KeyName: name, Key: key},
			mm:   mustManager(t, kr),
		})
	}

	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	const rsaKeyName = "rsa-2048"
	for _, p := range []struct {
		name    string
		js      string
		padding keyring.RSAPadding
	}{
		{"rsa-pkcs1", "PKCS1", keyring.PKCS1},
		{"rsa-oaep-sha1", "OAEP-SHA1", keyring.OAEPSHA1},
		{"rsa-oaep-sha256", "OAEP-SHA256", keyring.OAEPSHA256},
		{"rsa-oaep-sha384", "OAEP-SHA384", keyring.OAEPSHA384},
		{"rsa-oaep-sha512", "OAEP-SHA512", keyring.OAEPSHA512},
	} {
		kr, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: keyNamespace, Name: rsaKeyName, Padding: p.padding, PublicKey: &priv.PublicKey, PrivateKey: priv})
		if err != nil {
			t.Fatalf("keyring.NewRawRSA(%s): %v", p.js, err)
		}
		out = append(out, &testKeyring{
			name: p.name,
			js: jsKeyring{
				Type: "rsa", KeyNamespace: keyNamespace, KeyName: rsaKeyName, Padding: p.js,
				PublicKeyPEM: pubPEM, PrivateKeyPEM: privPEM,
			},
			mm: mustManager(t, kr),
		})
	}
	return out
}

// runBatch runs batch.js once over req.
func runBatch(ctx context.Context, t *testing.T, node, jsDir string, nodeArgs []string, req jsRequest) (*jsResponse, error) {
	t.Helper()
	tmp := t.TempDir()
	in := filepath.Join(tmp, "request.json")
	out := filepath.Join(tmp, "response.json")
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		return nil, err
	}
	args := append(append([]string{}, nodeArgs...), filepath.Join(jsDir, "batch.js"), "--in", in, "--out", out)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = jsDir
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node %s: %v\n%s", strings.Join(args, " "), err, output.Bytes())
	}
	b, err = os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("node %s wrote no response: %v\n%s", strings.Join(args, " "), err, output.Bytes())
	}
	var resp jsResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		return nil, fmt.Errorf("batch.js response: %v", err)
	}
	if len(resp.Results) != len(req.Jobs) {
		return nil, fmt.Errorf("batch.js returned %d results for %d jobs", len(resp.Results), len(req.Jobs))
	}
	return &resp, nil
}

// rerunUnsupported runs again, in a Node process that re-enables RSA
// PKCS#1 v1.5 private decryption, the jobs the first process refused, and
// puts their results in results. It returns a note to add to the skip
// message of the jobs still refused.
func rerunUnsupported(ctx context.Context, t *testing.T, node, jsDir string, keyrings map[string]jsKeyring, jobs []jsJob, results map[string]*jsResult) string {
	t.Helper()
	var again []jsJob
	for _, j := range jobs {
		if r := results[j.ID]; r != nil && r.Unsupported {
			again = append(again, j)
		}
	}
	if len(again) == 0 {
		return ""
	}
	resp, err := runBatch(ctx, t, node, jsDir, []string{pkcs1RevertFlag}, jsRequest{Keyrings: keyrings, Jobs: again})
	if err != nil {
		t.Logf("rerunning %d jobs with node %s failed: %v", len(again), pkcs1RevertFlag, err)
		return fmt.Sprintf("; node %s failed too", pkcs1RevertFlag)
	}
	t.Logf("reran %d jobs with node %s", len(again), pkcs1RevertFlag)
	for i := range resp.Results {
		results[resp.Results[i].ID] = &resp.Results[i]
	}
	return fmt.Sprintf("; node %s did not help", pkcs1RevertFlag)
}

// rawHeader holds the header fields the layout check needs. It is parsed
// here, independently of package format, so that the check does not rely
// on the parser under test.
type rawHeader struct {
	version     byte
	suite       format.SuiteID
	contentType byte
	frameLength uint32
	length      int // header bytes, authentication fields included
}

type cursor struct {
	b   []byte
	off int
	err error
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || len(c.b)-c.off < n {
		c.err = fmt.Errorf("truncated at byte %d: need %d bytes, %d left", c.off, n, len(c.b)-c.off)
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) u8() byte {
	if s := c.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if s := c.take(2); s != nil {
		return binary.BigEndian.Uint16(s)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if s := c.take(4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (c *cursor) vec16() []byte { return c.take(int(c.u16())) }

func parseRawHeader(b []byte) (rawHeader, error) {
	c := &cursor{b: b}
	var h rawHeader
	h.version = c.u8()
	switch h.version {
	case 1:
		if typ := c.u8(); c.err == nil && typ != 0x80 {
			return h, fmt.Errorf("message type 0x%02X, want 0x80", typ)
		}
		h.suite = format.SuiteID(c.u16())
		c.take(16) // message id
	case 2:
		h.suite = format.SuiteID(c.u16())
		c.take(32) // message id
	default:
		if c.err == nil {
			return h, fmt.Errorf("version byte 0x%02X", h.version)
		}
	}
	c.vec16() // encryption context
	for n := c.u16(); n > 0 && c.err == nil; n-- {
		c.vec16() // provider id
		c.vec16() // provider info
		c.vec16() // encrypted data key
	}
	h.contentType = c.u8()
	ivLength := 0
	if h.version == 1 {
		c.take(4) // reserved
		ivLength = int(c.u8())
	}
	h.frameLength = c.u32()
	if h.version == 2 {
		c.take(format.CommitmentLength) // suite data
	}
	c.take(ivLength) // header auth IV (version 1 only)
	c.take(format.TagLength)
	h.length = c.off
	return h, c.err
}

// checkFraming walks a framed message and checks that every regular frame
// holds exactly frameLength bytes, the final frame at most that many,
// sequence numbers count up from 1, the content adds up to ptLen, and the
// message ends after the footer (signed suites) or the final frame.
func checkFraming(msg []byte, suite *format.Suite, ptLen int) (string, error) {
	h, err := parseRawHeader(msg)
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	if h.suite != suite.ID() {
		return "", fmt.Errorf("header suite %s, want %s", suiteName(h.suite), suiteName(suite.ID()))
	}
	if h.contentType != 2 {
		return "", fmt.Errorf("content type %d, want 2 (framed)", h.contentType)
	}
	if h.frameLength != frameLength {
		return "", fmt.Errorf("header frame length %d, want %d", h.frameLength, frameLength)
	}
	c := &cursor{b: msg, off: h.length}
	total, regular, finalLen := 0, 0, 0
	for seq := uint32(1); ; seq++ {
		s := c.u32()
		if c.err != nil {
			return "", fmt.Errorf("frame %d: %w", seq, c.err)
		}
		if s == 0xFFFFFFFF /* the final-frame marker */ {
			if fs := c.u32(); c.err == nil && fs != seq {
				return "", fmt.Errorf("final frame has sequence number %d, want %d", fs, seq)
			}
			c.take(format.IVLength)
			n := c.u32()
			if c.err == nil && n > frameLength {
				return "", fmt.Errorf("final frame holds %d bytes, more than the frame length %d", n, frameLength)
			}
			c.take(int(n))
			c.take(format.TagLength)
			finalLen = int(n)
			total += finalLen
			break
		}
		if s != seq {
			return "", fmt.Errorf("regular frame %d has sequence number %d", seq, s)
		}
		c.take(format.IVLength)
		c.take(frameLength)
		c.take(format.TagLength)
		total += frameLength
		regular++
	}
	if c.err != nil {
		return "", fmt.Errorf("body: %w", c.err)
	}
	if total != ptLen {
		return "", fmt.Errorf("frames hold %d bytes, want %d", total, ptLen)
	}
	footer := ""
	if suite.Signed() {
		sig := c.vec16()
		if c.err != nil {
			return "", fmt.Errorf("footer: %w", c.err)
		}
		if len(sig) == 0 {
			return "", errors.New("footer holds an empty signature")
		}
		footer = fmt.Sprintf(", %d-byte signature", len(sig))
	}
	if rest := len(msg) - c.off; rest != 0 {
		return "", fmt.Errorf("%d bytes after the end of the message", rest)
	}
	return fmt.Sprintf("%d-byte header, %d regular frames of %d bytes, final frame of %d bytes%s",
		h.length, regular, frameLength, finalLen, footer), nil
}

// headerHex returns the message header in hex, or the first bytes of the
// message when the header does not parse.
func headerHex(msg []byte) string {
	if h, err := parseRawHeader(msg); err == nil {
		return fmt.Sprintf("(%d bytes) %x", h.length, msg[:h.length])
	}
	n := min(len(msg), 512)
	return fmt.Sprintf("(unparsable; first %d bytes) %x", n, msg[:n])
}

// dumper writes failing messages, and once the test keys, to a folder.
type dumper struct {
	dir      string
	keyrings map[string]jsKeyring
	once     sync.Once
	mu       sync.Mutex
}

func (d *dumper) message(t *testing.T, id string, msg []byte) {
	t.Helper()
	if d.dir == "" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.once.Do(func() {
		if err := os.MkdirAll(d.dir, 0o755); err != nil {
			t.Logf("dump: %v", err)
			return
		}
		b, err := json.MarshalIndent(d.keyrings, "", "  ")
		if err == nil {
			err = os.WriteFile(filepath.Join(d.dir, "keyrings.json"), b, 0o600)
		}
		if err != nil {
			t.Logf("dump: %v", err)
		}
	})
	file := filepath.Join(d.dir, strings.ReplaceAll(id, "/", "_")+".esdk")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Logf("dump: %v", err)
		return
	}
	t.Logf("message written to %s (keys in keyrings.json)", file)
}

func mustManager(t *testing.T, kr keyring.Keyring) *envelope.DefaultManager {
	t.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		t.Fatal(err)
	}
	return mm
}
