//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// failureCodes and refusalCodes are codes a token may give C_Decrypt: the
// first are the session, login, token or module failing, the second the
// token refusing the data it was given.
var (
	testFailureCodes = []uint{
		p11.CKR_DEVICE_REMOVED, p11.CKR_DEVICE_ERROR, p11.CKR_DEVICE_MEMORY, p11.CKR_HOST_MEMORY,
		p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_CLOSED, p11.CKR_TOKEN_NOT_PRESENT,
		p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_CRYPTOKI_NOT_INITIALIZED,
		p11.CKR_KEY_HANDLE_INVALID, p11.CKR_OBJECT_HANDLE_INVALID, p11.CKR_FUNCTION_CANCELED,
	}
	testRefusalCodes = []uint{
		p11.CKR_GENERAL_ERROR, p11.CKR_ENCRYPTED_DATA_INVALID, p11.CKR_ENCRYPTED_DATA_LEN_RANGE,
		p11.CKR_FUNCTION_FAILED, p11.CKR_DATA_INVALID,
	}
)

// TestDecryptFailureIsNotNoMatch makes C_Decrypt answer each code for the
// AES keyring and the RSA keyring (OAEP and PKCS #1 v1.5): a failure of
// the session, login, token, module or key is a *keyring.UnwrapError
// holding the *Error, never "no matching key", for AES never an
// authentication failure, and for PKCS #1 v1.5 never a random data key;
// a refusal of the data is "no matching key" (PKCS #1 v1.5: a random data
// key, which fails the message's authentication later). The
// pool's choice to keep the session after the call follows the same
// classification: kept after a refusal, closed after a failure.
func TestDecryptFailureIsNotNoMatch(t *testing.T) {
	cfg := newToken(t, "decrypt-failure")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	a.MaxSessions, r.MaxSessions = 1, 1
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	importRSAKey(t, r, rsaKey(t), false)
	ak, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "aes", Config: a})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ak)
	oaep, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.OAEPSHA1, Config: r})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, oaep)
	pkcs1, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.PKCS1, Config: r})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, pkcs1)

	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		kr   keyring.Keyring
		tok  *token
	}{{"AES", ak, ak.Key().tok}, {"RSA OAEP", oaep, oaep.Key().tok}, {"RSA PKCS1", pkcs1, pkcs1.Key().tok}} {
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := c.kr.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		// A hostile copy of the data key: the real C_Decrypt refuses it
		// and ends the operation, then the hook says code instead.
		hostile := em.EncryptedDataKeys[0]
		hostile.Ciphertext = randBytes(len(hostile.Ciphertext))
		codes := append(append([]uint(nil), testFailureCodes...), testRefusalCodes...)
		for i, code := range codes {
			failure := i < len(testFailureCodes)
			name := fmt.Sprintf("%s, %s", c.name, ckrNames[code])
			for _, edk := range []format.EncryptedDataKey{hostile, em.EncryptedDataKeys[0]} {
				c.tok.fault = func(fn string, err error) error {
					if fn == "C_Decrypt" {
						return p11.Error(code)
					}
					return err
				}
				dm := &keyring.DecryptionMaterials{Suite: suite}
				err := c.kr.OnDecrypt(ctx, dm, []format.EncryptedDataKey{edk})
				c.tok.fault = nil
				var ue *keyring.UnwrapError
				var pe *Error
				switch {
				case c.name == "RSA PKCS1" && !failure:
					// Implicit rejection: a refusal gives a random data
					// key, for the message's authentication to fail.
					if err != nil || len(dm.PlaintextDataKey) != suite.KeyLength() {
						t.Errorf("%s: %v; want a random data key", name, err)
					}
				case err == nil || dm.PlaintextDataKey != nil:
					t.Fatalf("%s: decrypted although C_Decrypt said %s", name, ckrNames[code])
				case failure && (errors.Is(err, keyring.ErrNoMatchingKey) || errors.Is(err, ErrAuthentication)):
					t.Errorf("%s: %v; a failing token reads as a key that is not for this message", name, err)
				case failure && (!errors.As(err, &ue) || !errors.As(err, &pe) || pe.Func != "C_Decrypt" || uint(pe.Code) != code || !strings.Contains(err.Error(), ckrNames[code])):
					t.Errorf("%s: %v; want a *keyring.UnwrapError holding C_Decrypt's %s", name, err, ckrNames[code])
				case !failure && !errors.Is(err, keyring.ErrNoMatchingKey):
					t.Errorf("%s: %v; want a no-match", name, err)
				case !failure && c.name == "AES" && !errors.Is(err, ErrAuthentication):
					t.Errorf("%s: %v; want an authentication failure", name, err)
				}
				// The operation is over (the real C_Decrypt ran), so the
				// session is kept exactly when the error is a refusal.
				if kept := openSessions(c.tok.pool) == 1; kept == failure {
					t.Errorf("%s: session kept %v; want %v, as the error says", name, kept, !failure)
				}
			}
		}
	}
}

// TestOneClassification: the pool's keep-or-close choice and the
// keyrings' refusal-or-failure choice are one function of the code.
func TestOneClassification(t *testing.T) {
	for _, fn := range []string{"C_Decrypt", "C_Encrypt"} {
		for _, code := range append(append([]uint(nil), testFailureCodes...), testRefusalCodes...) {
			err := fmt.Errorf("wrapped: %w", &Error{Func: fn, Code: p11.Error(code)})
			if refused(err) == tokenFailed(err) {
				t.Errorf("%s %s: refused %v, token failed %v", fn, ckrNames[code], refused(err), tokenFailed(err))
			}
		}
	}
	for _, code := range testFailureCodes {
		if refused(&Error{Func: "C_Decrypt", Code: p11.Error(code)}) {
			t.Errorf("%s counts as a refusal of the data", ckrNames[code])
		}
	}
	for _, code := range testRefusalCodes {
		if !refused(&Error{Func: "C_Decrypt", Code: p11.Error(code)}) {
			t.Errorf("%s does not count as a refusal of the data", ckrNames[code])
		}
		if refused(&Error{Func: "C_DecryptInit", Code: p11.Error(code)}) {
			t.Errorf("C_DecryptInit's %s counts as a refusal of the data", ckrNames[code])
		}
	}
	if refused(errors.New("esdk/pkcs11: no code")) || refused(ErrClosed) || !tokenFailed(ErrClosed) {
		t.Error("an error without a code, or ErrClosed, counts as a refusal")
	}
}

// openSessions returns the number of sessions p holds open.
func openSessions(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}
