package kmstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

func TestThrottleThenSuccess(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	s.ResetCalls()

	s.ThrottleNext(2)
	out, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256})
	require.NoError(t, err, "the SDK's retryer retries ThrottlingException")
	require.Len(t, out.Plaintext, 32)

	require.Equal(t, []Call{
		{Operation: "GenerateDataKey", Region: west, Account: account, Principal: root, KeyID: *md.KeyId, Error: "ThrottlingException"},
		{Operation: "GenerateDataKey", Region: west, Account: account, Principal: root, KeyID: *md.KeyId, Error: "ThrottlingException"},
		{Operation: "GenerateDataKey", Region: west, Account: account, Principal: root, KeyID: *md.Arn},
	}, s.Calls())
	require.Equal(t, 3, s.Count("GenerateDataKey"))
	require.Equal(t, 3, s.Count(""))
	require.Zero(t, s.Count("Decrypt"))
}

func TestThrottlePastRetryBudget(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	ctx := context.Background()
	md := createKey(t, c, nil)
	s.ResetCalls()

	s.ThrottleNext(3)
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	requireCode(t, err, "ThrottlingException")
	var maxAttempts *retry.MaxAttemptsError
	require.ErrorAs(t, err, &maxAttempts)
	require.Equal(t, 3, maxAttempts.Attempt)
	require.Equal(t, 3, s.Count("Encrypt"))

	// Fewer attempts configured on the client: fewer calls.
	s.ResetCalls()
	s.ThrottleNext(5)
	c1 := s.Client(west, account, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	_, err = c1.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	requireCode(t, err, "ThrottlingException")
	require.Equal(t, 1, s.Count("Encrypt"))

	s.ThrottleNext(0)
	_, err = c1.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)
}

func TestThrottleRateDeterministic(t *testing.T) {
	run := func(seed uint64) []string {
		s := newServer(t)
		c := s.Client(west, account, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
		md := createKey(t, c, nil)
		s.ResetCalls()
		s.ThrottleRate(0.3, seed)
		for range 200 {
			c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
		}
		var errs []string
		for _, call := range s.Calls() {
			errs = append(errs, call.Error)
		}
		return errs
	}
	a, b, other := run(7), run(7), run(8)
	require.Equal(t, a, b)
	require.NotEqual(t, a, other)
	n := 0
	for _, e := range a {
		switch e {
		case "ThrottlingException":
			n++
		case "":
		default:
			t.Fatalf("unexpected error %q", e)
		}
	}
	require.InDelta(t, 60, n, 25, "about 30%% of 200 calls throttled")

	s := newServer(t)
	s.ThrottleRate(1, 1)
	c := s.Client(west, account, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	_, err := c.GenerateRandom(context.Background(), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1)})
	requireCode(t, err, "ThrottlingException")
	s.ThrottleRate(0, 1)
	_, err = c.GenerateRandom(context.Background(), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1)})
	require.NoError(t, err)
}

func TestLatencyCancelled(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	md := createKey(t, c, nil)
	s.ResetCalls()
	s.SetLatency(time.Hour)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), time.Minute, "returns promptly, not after the injected hour")

	// The handler ends too: the log records the cancelled call, and Close
	// (which waits for handlers) would hang otherwise.
	require.Eventually(t, func() bool { return s.Count("Encrypt") == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, "RequestCanceled", s.Calls()[0].Error)

	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: []byte("x")})
	require.ErrorIs(t, err, context.Canceled)

	s.SetLatency(time.Millisecond)
	_, err = c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)
}

func TestLatencyDelays(t *testing.T) {
	s := newServer(t)
	c := s.Client(west, account)
	s.SetLatency(30 * time.Millisecond)
	start := time.Now()
	_, err := c.GenerateRandom(context.Background(), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(8)})
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestFailKey(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := s.Client(west, account)
	a := createKey(t, c, nil)
	b := createKey(t, c, nil)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: a.KeyId})
	require.NoError(t, err)
	encA, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: a.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)

	s.FailKey(*a.Arn, "AccessDeniedException")
	for _, id := range []string{*a.KeyId, *a.Arn, "alias/a"} {
		_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(id), Plaintext: []byte("x")})
		requireCode(t, err, "AccessDeniedException")
	}
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: encA.CiphertextBlob})
	requireCode(t, err, "AccessDeniedException")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: a.KeyId})
	requireCode(t, err, "AccessDeniedException")
	// Other keys are not affected.
	_, err = c.Encrypt(ctx, &kms.EncryptInput{KeyId: b.KeyId, Plaintext: []byte("x")})
	require.NoError(t, err)

	// A modelled error type comes back as the SDK's type.
	s.FailKey(*a.Arn, "DisabledException")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: encA.CiphertextBlob})
	var disabled *types.DisabledException
	require.ErrorAs(t, err, &disabled)
	require.Contains(t, disabled.ErrorMessage(), *a.Arn)

	// A 500 (KMSInternalException) is retried by the SDK, and fails again.
	s.ResetCalls()
	s.FailKey(*a.Arn, "KMSInternalException")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: encA.CiphertextBlob})
	var internal *types.KMSInternalException
	require.ErrorAs(t, err, &internal)
	require.Equal(t, 3, s.Count("Decrypt"))

	s.FailKey(*a.Arn, "")
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: encA.CiphertextBlob})
	require.NoError(t, err)
}

func TestFailKeyByIDAcrossRegions(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	p := createKey(t, s.Client(east, account), &kms.CreateKeyInput{MultiRegion: aws.Bool(true)})
	_, err := s.Client(east, account).ReplicateKey(ctx, &kms.ReplicateKeyInput{KeyId: p.KeyId, ReplicaRegion: aws.String(west)})
	require.NoError(t, err)

	s.FailKey(*p.KeyId, "AccessDeniedException")
	for _, region := range []string{east, west} {
		_, err = s.Client(region, account).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: p.KeyId, NumberOfBytes: aws.Int32(16)})
		requireCode(t, err, "AccessDeniedException")
	}
	s.FailKey(*p.KeyId, "")
	s.FailKey(*p.Arn, "AccessDeniedException")
	_, err = s.Client(west, account).GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: p.KeyId, NumberOfBytes: aws.Int32(16)})
	require.NoError(t, err, "an ARN fails one region's key only")
}

func TestCallLogKeys(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := s.Client(west, account)
	a := createKey(t, c, nil)
	b := createKey(t, c, nil)
	_, err := c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: a.KeyId})
	require.NoError(t, err)
	s.ResetCalls()

	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/a"), Plaintext: []byte("x")})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)
	_, err = c.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: b.KeyId})
	require.NoError(t, err)
	_, err = c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, KeyId: b.KeyId})
	require.Error(t, err)
	_, err = s.Client(east, other).Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/missing"), Plaintext: []byte("x")})
	require.Error(t, err)

	require.Equal(t, []Call{
		{Operation: "Encrypt", Region: west, Account: account, Principal: root, KeyID: *a.Arn},
		{Operation: "Decrypt", Region: west, Account: account, Principal: root, KeyID: *a.Arn},
		{Operation: "ReEncrypt", Region: west, Account: account, Principal: root, KeyID: *b.Arn},
		{Operation: "Decrypt", Region: west, Account: account, Principal: root, KeyID: *b.Arn, Error: "IncorrectKeyException"},
		{Operation: "Encrypt", Region: east, Account: other, Principal: "arn:aws:iam::" + other + ":root", KeyID: "alias/missing", Error: "NotFoundException"},
	}, s.Calls())
}

func TestConcurrentUse(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := s.Client(west, account)
	md := createKey(t, c, nil)
	s.ResetCalls()
	s.ThrottleRate(0.2, 42)

	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ec := map[string]string{"worker": string(rune('a' + w))}
			for range each {
				out, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.KeyId, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
				if err != nil {
					errs <- err
					continue
				}
				dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
				if err != nil {
					errs <- err
					continue
				}
				if !bytes.Equal(dec.Plaintext, out.Plaintext) {
					errs <- errors.New("plaintext mismatch")
				}
				_ = s.Calls()
				_ = s.Count("Decrypt")
			}
		}()
	}
	// Faults change while requests run.
	s.FailKey("no-such-key", "AccessDeniedException")
	s.SetLatency(time.Millisecond)
	s.ThrottleNext(3)
	wg.Wait()
	close(errs)
	for err := range errs {
		// Only retries that ran out of attempts may fail.
		requireCode(t, err, "ThrottlingException")
	}
	require.GreaterOrEqual(t, s.Count("GenerateDataKey"), workers*each)
}

// TestProtocol sends raw requests the SDK never sends.
func TestProtocol(t *testing.T) {
	s := newServer(t)
	post := func(target, contentType, auth, body string) (int, map[string]any) {
		req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentType)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "application/x-amz-json-1.1", resp.Header.Get("Content-Type"))
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m), string(b))
		return resp.StatusCode, m
	}
	const ct = "application/x-amz-json-1.1"
	const auth = "AWS4-HMAC-SHA256 Credential=123456789012/20260101/eu-west-3/kms/aws4_request, SignedHeaders=host, Signature=00"

	code, m := post("TrentService.GenerateRandom", ct, auth, `{"NumberOfBytes": 4}`)
	require.Equal(t, 200, code)
	require.Len(t, m["Plaintext"], 8) // base64 of 4 bytes

	for _, tc := range []struct {
		target, ct, auth, body, typ string
	}{
		{"TrentService.GenerateRandom", ct, "", `{}`, "MissingAuthenticationTokenException"},
		{"TrentService.GenerateRandom", ct, "AWS4-HMAC-SHA256 Credential=x/y/kms/aws4_request", `{}`, "IncompleteSignatureException"},
		{"TrentService.Sign", ct, auth, `{}`, "UnknownOperationException"},
		{"OtherService.Encrypt", ct, auth, `{}`, "UnknownOperationException"},
		{"TrentService.Encrypt", "application/json", auth, `{}`, "SerializationException"},
		{"TrentService.Encrypt", ct, auth, `{"KeyId": 5}`, "SerializationException"},
		{"TrentService.Encrypt", ct, auth, `{"KeyId": "k", "Plaintext": "!!"}`, "SerializationException"},
		{"TrentService.Encrypt", ct, auth, strings.Repeat(" ", maxBody+1), "SerializationException"},
	} {
		code, m := post(tc.target, tc.ct, tc.auth, tc.body)
		require.Equal(t, 400, code, tc.typ)
		require.Equal(t, tc.typ, m["__type"])
		require.NotEmpty(t, m["message"])
	}

	resp, err := http.Get(s.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
}

func TestCloseEndsLatency(t *testing.T) {
	s := NewServer()
	c := s.Client(west, account, func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	s.SetLatency(time.Hour)
	done := make(chan error, 1)
	go func() {
		_, err := c.GenerateRandom(context.Background(), &kms.GenerateRandomInput{NumberOfBytes: aws.Int32(1)})
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the request reach the handler (the test holds either way)
	s.Close()                         // would wait an hour if latency ignored Close
	require.Error(t, <-done)
}
