package kmstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/stretchr/testify/require"
)

func verifying(o *Options) { o.VerifySignatures = true }

func TestVerifySignaturesAcceptsTheSDK(t *testing.T) {
	s := NewServer(verifying)
	t.Cleanup(s.Close)
	require.True(t, s.Options().VerifySignatures)
	ctx := context.Background()
	for _, id := range []string{account, "", "arn:aws:iam::" + account + ":role/app"} {
		c := s.Client(west, id)
		md := createKey(t, c, nil)
		ec := map[string]string{"k": "v with  spaces\tand\ttabs"}
		gdk, err := c.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: md.Arn, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec, GrantTokens: []string{"g"}})
		require.NoError(t, err, id)
		dec, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: gdk.CiphertextBlob, EncryptionContext: ec})
		require.NoError(t, err, id)
		require.Equal(t, gdk.Plaintext, dec.Plaintext)
	}
	calls := s.Calls()
	require.Equal(t, "arn:aws:iam::"+account+":role/app", calls[len(calls)-1].Principal)
	require.Equal(t, account, calls[len(calls)-1].Account)
}

func TestVerifySignaturesRefuses(t *testing.T) {
	s := NewServer(verifying)
	t.Cleanup(s.Close)
	ctx := context.Background()
	md := createKey(t, s.Client(west, account), nil)
	s.ResetCalls()
	encrypt := func(creds aws.Credentials) error {
		cfg := s.Config(west, account)
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
		_, err := kms.NewFromConfig(cfg).Encrypt(ctx, &kms.EncryptInput{KeyId: md.Arn, Plaintext: []byte("x")})
		return err
	}
	good := s.Credentials(account)
	require.NoError(t, encrypt(good))

	wrongSecret := good
	wrongSecret.SecretAccessKey = "kmstest"
	err := encrypt(wrongSecret)
	requireCode(t, err, "InvalidSignatureException")
	require.ErrorContains(t, err, "does not match the signature you provided")

	// Another account's access key with this account's secret: the
	// signature proves the account.
	forged := good
	forged.AccessKeyID = other
	requireCode(t, encrypt(forged), "InvalidSignatureException")
	// And another account's genuine credentials act as that account.
	err = encrypt(s.Credentials(other))
	requireDenied(t, err, "kms:Encrypt")

	unknown := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	requireCode(t, encrypt(unknown), "UnrecognizedClientException")
	withToken := good
	withToken.SessionToken = "token"
	requireCode(t, encrypt(withToken), "UnrecognizedClientException")

	// Refusals are not retried, and are logged without an identity.
	calls := s.Calls()
	require.Len(t, calls, 6)
	require.Equal(t, Call{Operation: "Encrypt", Error: "InvalidSignatureException"}, calls[1])
	require.Equal(t, "UnrecognizedClientException", calls[4].Error)

	// Without verification the same requests go through as before.
	plain := newServer(t)
	md2 := createKey(t, plain.Client(west, account), nil)
	cfg := plain.Config(west, account)
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return wrongSecret, nil })
	_, err = kms.NewFromConfig(cfg).Encrypt(ctx, &kms.EncryptInput{KeyId: md2.Arn, Plaintext: []byte("x")})
	require.NoError(t, err)
}

// signedRequest builds a GenerateRandom request signed by the SDK's signer
// with creds at signing time at.
func signedRequest(t testing.TB, s *Server, creds aws.Credentials, body string, at time.Time, extra ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Amz-Target", "TrentService.GenerateRandom")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	sum := sha256.Sum256([]byte(body))
	require.NoError(t, v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "kms", west, at))
	return req
}

// send posts req and returns the status and the error type of the answer.
func send(t *testing.T, s *Server, req *http.Request) (int, string) {
	t.Helper()
	resp, err := s.ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m struct {
		Type string `json:"__type"`
	}
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m), string(b))
	return resp.StatusCode, m.Type
}

func TestVerifySignaturesRawRequests(t *testing.T) {
	s := NewServer(verifying)
	t.Cleanup(s.Close)
	creds := s.Credentials(account)
	const body = `{"NumberOfBytes": 8}`
	now := time.Now()

	code, typ := send(t, s, signedRequest(t, s, creds, body, now))
	require.Equal(t, 200, code, typ)
	code, typ = send(t, s, signedRequest(t, s, creds, body, now, "X-Test", "signed too"))
	require.Equal(t, 200, code, typ)

	for name, tc := range map[string]struct {
		req  func() *http.Request
		want string
	}{
		"body changed after signing": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			req.Body = io.NopCloser(strings.NewReader(`{"NumberOfBytes": 9}`))
			return req
		}, "InvalidSignatureException"},
		"signed header changed": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			req.Header.Set("X-Amz-Target", "TrentService.Encrypt")
			return req
		}, "InvalidSignatureException"},
		"signed header removed": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now, "X-Test", "signed")
			req.Header.Del("X-Test")
			return req
		}, "InvalidSignatureException"},
		"Content-Type parameter added after signing": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			req.Header.Set("Content-Type", "application/x-amz-json-1.1; charset=utf-8")
			return req
		}, "InvalidSignatureException"},
		"signature flipped": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			auth := req.Header.Get("Authorization")
			last := auth[len(auth)-1]
			flip := byte('0')
			if last == '0' {
				flip = '1'
			}
			req.Header.Set("Authorization", auth[:len(auth)-1]+string(flip))
			return req
		}, "InvalidSignatureException"},
		"signed ten minutes ago": {func() *http.Request {
			return signedRequest(t, s, creds, body, now.Add(-10*time.Minute))
		}, "InvalidSignatureException"},
		"signed ten minutes ahead": {func() *http.Request {
			return signedRequest(t, s, creds, body, now.Add(10*time.Minute))
		}, "InvalidSignatureException"},
		"no Signature": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			auth := req.Header.Get("Authorization")
			req.Header.Set("Authorization", auth[:strings.LastIndex(auth, ",")])
			return req
		}, "IncompleteSignatureException"},
		"no X-Amz-Date": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			req.Header.Del("X-Amz-Date")
			return req
		}, "IncompleteSignatureException"},
		"no Authorization": {func() *http.Request {
			req := signedRequest(t, s, creds, body, now)
			req.Header.Del("Authorization")
			return req
		}, "MissingAuthenticationTokenException"},
		"unknown access key": {func() *http.Request {
			return signedRequest(t, s, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "x"}, body, now)
		}, "UnrecognizedClientException"},
	} {
		code, typ := send(t, s, tc.req())
		require.Equal(t, 400, code, name)
		require.Equal(t, tc.want, typ, name)
	}
}

// FuzzAuthorization feeds arbitrary Authorization and X-Amz-Date headers to
// a verifying server: it never panics, and only the genuine header passes.
func FuzzAuthorization(f *testing.F) {
	s := NewServer(verifying)
	f.Cleanup(s.Close)
	creds := s.Credentials(account)
	const body = `{"NumberOfBytes": 8}`
	at := time.Now()
	genuine := signedRequest(f, s, creds, body, at)
	auth, date := genuine.Header.Get("Authorization"), genuine.Header.Get("X-Amz-Date")
	f.Add(auth, date)
	f.Add(strings.Replace(auth, "Signature=", "Signature=0", 1), date)
	f.Add("AWS4-HMAC-SHA256 Credential=123456789012/20260101/us-west-2/kms/aws4_request, SignedHeaders=host;;;, Signature=", date)
	f.Add("AWS4-HMAC-SHA256 Credential=////, SignedHeaders=content-length;x-amz-date, Signature=00", "2026")
	f.Add("AWS4-HMAC-SHA256 ,,,=,=", "")
	f.Fuzz(func(t *testing.T, a, d string) {
		req, err := http.NewRequest(http.MethodPost, s.URL, bytes.NewReader([]byte(body)))
		require.NoError(t, err)
		for k, v := range genuine.Header {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", a)
		req.Header.Set("X-Amz-Date", d)
		sc, aerr := s.authenticate(req, []byte(body))
		if aerr != nil {
			require.NotEmpty(t, aerr.typ)
			return
		}
		require.Equal(t, account, sc.account)
		require.Equal(t, date, d)
		require.Equal(t, strings.TrimSpace(a)[strings.LastIndex(a, "Signature="):], auth[strings.LastIndex(auth, "Signature="):])
	})
}

func TestTLS(t *testing.T) {
	s := NewServer(func(o *Options) { o.TLS = true }, verifying)
	t.Cleanup(s.Close)
	ctx := context.Background()
	require.True(t, strings.HasPrefix(s.URL, "https://127.0.0.1:"), s.URL)
	require.NotNil(t, s.Certificate())

	// The helpers' clients trust the server.
	c := s.Client(west, account)
	md := createKey(t, c, nil)
	enc, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: md.KeyId, Plaintext: []byte("over TLS")})
	require.NoError(t, err)

	// A client that does not trust it fails in the handshake.
	cfg := s.Config(west, account)
	cfg.HTTPClient = &http.Client{}
	_, err = kms.NewFromConfig(cfg, func(o *kms.Options) { o.RetryMaxAttempts = 1 }).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	var unknown x509.UnknownAuthorityError
	require.True(t, errors.As(err, &unknown), "%v", err)

	// A custom HTTP client trusting the certificate works.
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	custom := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	t.Cleanup(custom.CloseIdleConnections)
	dec, err := kms.NewFromConfig(s.Config(west, account), func(o *kms.Options) { o.HTTPClient = custom }).Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	require.NoError(t, err)
	require.Equal(t, []byte("over TLS"), dec.Plaintext)

	plain := newServer(t)
	require.Nil(t, plain.Certificate())
	require.True(t, strings.HasPrefix(plain.URL, "http://"))
}
