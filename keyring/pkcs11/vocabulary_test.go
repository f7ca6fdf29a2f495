//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"strings"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/keyring"
)

// TestTokenFailureBesideNoMatch: a multi-keyring of a keyring that holds
// none of the message's keys and a token keyring whose token fails (its
// key was deleted under it). That is a failure of the token, not "no
// keyring could unwrap": errors.Is(err, ErrNoMatchingKey) is false,
// errors.As finds the PKCS #11 error, the text names both keyrings, and
// envelope reports the token's failure, not a tampered message.
func TestTokenFailureBesideNoMatch(t *testing.T) {
	cfg := newToken(t, "token-failure-multi")
	ak, rk := openAESAndRSA(t, cfg)
	notMine, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: "not-mine", WrappingKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	client, err := envelope.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ec := map[string]string{"purpose": "pkcs11 test"}
	msgs := map[string][]byte{}
	for name, kr := range map[string]keyring.Keyring{"AES": ak, "RSA": rk} {
		msg, err := client.EncryptBytes(ctx, []byte("in the token"), mustManager(t, kr), ec)
		if err != nil {
			t.Fatal(err)
		}
		msgs[name] = msg
	}
	withRWSession(t, cfg, func(c *p11.Ctx, s p11.SessionHandle) {
		for _, label := range []string{"aes", "rsa"} {
			c.FindObjectsInit(s, []*p11.Attribute{p11.NewAttribute(p11.CKA_LABEL, label)})
			objs, _, _ := c.FindObjects(s, 10)
			c.FindObjectsFinal(s)
			for _, o := range objs {
				if err := c.DestroyObject(s, o); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	for name, hsm := range map[string]keyring.Keyring{"AES": ak, "RSA": rk} {
		for _, order := range [][]keyring.Keyring{{notMine, hsm}, {hsm, notMine}} {
			multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: order[0], Children: order[1:]})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = client.DecryptBytes(ctx, msgs[name], mustManager(t, multi), ec)
			t.Logf("%s: %v", name, err)
			var pe *Error
			var ue *keyring.UnwrapError
			var nm *keyring.NoMatchingKeyError
			switch {
			case err == nil:
				t.Fatalf("%s: decrypted with the key deleted", name)
			case errors.Is(err, keyring.ErrNoMatchingKey), errors.Is(err, envelope.ErrNoMatchingKey):
				t.Errorf("%s: %v matches ErrNoMatchingKey", name, err)
			case errors.Is(err, envelope.ErrAuthentication):
				t.Errorf("%s: %v reads as a tampered message", name, err)
			case !errors.As(err, &pe) || !errors.As(err, &ue):
				t.Errorf("%s: %v; want a *keyring.UnwrapError holding the PKCS #11 error", name, err)
			case errors.As(err, &nm):
				t.Errorf("%s: the no-match of the other keyring is reachable beside a failure", name)
			}
			for _, want := range []string{`raw AES "ns"/"not-mine"`, `"esdk-test"/`, "CKR_OBJECT_HANDLE_INVALID"} {
				if err != nil && !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %v does not say %q", name, err, want)
				}
			}
		}
	}
}
