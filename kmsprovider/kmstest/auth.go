package kmstest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSkew is how far a request's signing time may be from the server's
// clock, as in AWS.
const maxSkew = 5 * time.Minute

// sigV4 is the parsed Authorization header of a SigV4-signed request.
type sigV4 struct {
	accessKeyID, date, region, service string
	signedHeaders, signature           string
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
// SERVICE/aws4_request, SignedHeaders=a;b, Signature=HEX". Only the
// credential is required here; authenticate asks for the rest when it
// verifies signatures.
func parseAuthorization(auth string) (sigV4, *apiError) {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return sigV4{}, &apiError{typ: "MissingAuthenticationTokenException", msg: "Missing Authentication Token (esdk/kmstest: the request has no AWS4-HMAC-SHA256 Authorization header; use credentials, not anonymous ones)"}
	}
	var a sigV4
	var cred string
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			a.signedHeaders = v
		case "Signature":
			a.signature = v
		}
	}
	if cred == "" {
		return sigV4{}, &apiError{typ: "IncompleteSignatureException", msg: "Authorization header requires 'Credential' parameter."}
	}
	f := strings.Split(cred, "/")
	if len(f) != 5 || f[0] == "" || f[2] == "" || f[3] != "kms" || f[4] != "aws4_request" {
		return sigV4{}, &apiError{typ: "IncompleteSignatureException", msg: "esdk/kmstest: malformed credential scope " + cred}
	}
	a.accessKeyID, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
	return a, nil
}

var invalidToken = &apiError{typ: "UnrecognizedClientException", msg: "The security token included in the request is invalid."}

var badSignature = &apiError{typ: "InvalidSignatureException", msg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}

// authenticate establishes where and as whom r runs. The region is its
// credential scope's. Without signature verification the identity is the
// access key's (an account id; a principal's key from Credentials; any
// other id is DefaultAccount). With it, the access key must be one the
// server handed out, and the signature, recomputed with the SDK's own SigV4
// signer over the request's signed headers and body, must match, signed
// within five minutes of now.
func (s *Server) authenticate(r *http.Request, body []byte) (scope, *apiError) {
	a, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		return scope{}, err
	}
	id, known := s.identityOf(a.accessKeyID)
	if !s.opts.VerifySignatures {
		if !known {
			id = identity{account: DefaultAccount}
		}
		return scope{region: a.region, account: id.account, principal: id.principalARN(a.region)}, nil
	}

	var missing []string
	if a.signedHeaders == "" {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if a.signature == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return scope{}, &apiError{typ: "IncompleteSignatureException", msg: strings.Join(missing, " ")}
	}
	if !known || r.Header.Get("X-Amz-Security-Token") != "" {
		// The server hands out no session tokens.
		return scope{}, invalidToken
	}
	signed, perr := time.Parse("20060102T150405Z", amzDate)
	if perr != nil {
		return scope{}, &apiError{typ: "IncompleteSignatureException", msg: "Date must be in ISO-8601 'basic format'. Got '" + amzDate + "'."}
	}
	now := time.Now().UTC()
	const stamp = "20060102T150405Z"
	switch {
	case signed.Before(now.Add(-maxSkew)):
		return scope{}, &apiError{typ: "InvalidSignatureException", msg: "Signature expired: " + amzDate + " is now earlier than " + now.Add(-maxSkew).Format(stamp) + " (" + now.Format(stamp) + " - 5 min.)"}
	case signed.After(now.Add(maxSkew)):
		return scope{}, &apiError{typ: "InvalidSignatureException", msg: "Signature not yet current: " + amzDate + " is still later than " + now.Add(maxSkew).Format(stamp) + " (" + now.Format(stamp) + " + 5 min.)"}
	case a.date != signed.Format("20060102"):
		return scope{}, &apiError{typ: "InvalidSignatureException", msg: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" + a.date + "' != '" + signed.Format("20060102") + "', from '" + amzDate + "'."}
	}
	want, ok := s.signature(r, body, a, signed)
	if !ok || !hmac.Equal([]byte(want), []byte(a.signature)) {
		return scope{}, badSignature
	}
	return scope{region: a.region, account: id.account, principal: id.principalARN(a.region)}, nil
}

// signature recomputes the signature of r with aws-sdk-go-v2's signer: a
// copy of r carrying only the headers r says it signed, signed with the
// secret of its access key at its signing time. It reports false when the
// signer would not sign the same headers (a header named but absent, or one
// the signer never signs).
func (s *Server) signature(r *http.Request, body []byte, a sigV4, signed time.Time) (string, bool) {
	c, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "", false
	}
	c.Host = r.Host
	for _, name := range strings.Split(a.signedHeaders, ";") {
		switch name {
		case "host":
		case "content-length":
			c.ContentLength = int64(len(body))
		default:
			vs := r.Header.Values(name)
			if len(vs) == 0 {
				return "", false
			}
			c.Header[http.CanonicalHeaderKey(name)] = vs
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: a.accessKeyID, SecretAccessKey: s.secretFor(a.accessKeyID)}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, c, hex.EncodeToString(sum[:]), a.service, a.region, signed); err != nil {
		return "", false
	}
	mine, _ := parseAuthorization(c.Header.Get("Authorization"))
	if mine.signedHeaders != a.signedHeaders {
		return "", false
	}
	return mine.signature, true
}
