//go:build cgo

package pkcs11

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-esdk/esdk/internal/errprefix"

	p11 "github.com/miekg/pkcs11"
)

// Error is a PKCS #11 function that returned a code other than CKR_OK. It
// unwraps to the github.com/miekg/pkcs11 Error holding the code, and
// matches the sentinel errors of this package that the code means.
type Error struct {
	Func string    // the PKCS #11 function, e.g. "C_Login"
	Code p11.Error // the CKR_ code
}

func (e *Error) Error() string {
	name := ckrNames[uint(e.Code)]
	if name == "" {
		name = fmt.Sprintf("CKR_VENDOR_DEFINED+0x%X", uint(e.Code)-p11.CKR_VENDOR_DEFINED)
		if uint(e.Code) < p11.CKR_VENDOR_DEFINED {
			name = "unknown return code"
		}
	}
	msg := fmt.Sprintf("esdk/pkcs11: %s: %s (0x%X)", e.Func, name, uint(e.Code))
	if m := ckrMeanings[uint(e.Code)]; m != "" {
		msg += ": " + m
	}
	return msg
}

// Unwrap returns the code as a github.com/miekg/pkcs11 Error.
func (e *Error) Unwrap() error { return e.Code }

// Is reports whether the code means target, one of this package's
// sentinel errors.
func (e *Error) Is(target error) bool {
	switch uint(e.Code) {
	case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE:
		return target == ErrPINIncorrect
	case p11.CKR_PIN_LOCKED:
		return target == ErrPINLocked
	case p11.CKR_MECHANISM_INVALID, p11.CKR_MECHANISM_PARAM_INVALID:
		return target == ErrMechanismNotSupported
	case p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_DEVICE_REMOVED, p11.CKR_SLOT_ID_INVALID:
		return target == ErrTokenNotFound
	case p11.CKR_KEY_HANDLE_INVALID, p11.CKR_OBJECT_HANDLE_INVALID:
		return target == ErrKeyNotFound
	}
	return false
}

// errPrefix starts every error string of this package.
const errPrefix = "esdk/pkcs11: "

// errorf is fmt.Errorf with errPrefix in front of format; an error operand
// of this package shows without its prefix, so the prefix appears once.
func errorf(format string, args ...any) error {
	return errprefix.Errorf(errPrefix, format, args...)
}

// unprefixed returns err shown without this package's prefix.
func unprefixed(err error) error { return errprefix.Strip(errPrefix, err) }

// keyError is an error of an operation with a key: the key's description,
// once, and what went wrong, which does not name the key again.
type keyError struct {
	key string
	err error
}

func (e *keyError) Error() string { return errPrefix + e.key + ": " + unprefixed(e.err).Error() }
func (e *keyError) Unwrap() error { return e.err }

// ckrErr wraps err from the PKCS #11 function fn as an *Error when it holds
// a return code.
func ckrErr(fn string, err error) error {
	if err == nil {
		return nil
	}
	var code p11.Error
	if errors.As(err, &code) {
		return &Error{Func: fn, Code: code}
	}
	return fmt.Errorf("esdk/pkcs11: %s: %w", fn, err)
}

// failureCodes are the codes of a lost or broken session, login, token,
// module or key object, and of an operation that may still be active:
// whichever function returns them, they say nothing of the data it was
// given.
var failureCodes = []uint{
	p11.CKR_HOST_MEMORY, p11.CKR_DEVICE_MEMORY, p11.CKR_DEVICE_ERROR, p11.CKR_DEVICE_REMOVED,
	p11.CKR_SESSION_CLOSED, p11.CKR_SESSION_HANDLE_INVALID, p11.CKR_SESSION_COUNT,
	p11.CKR_TOKEN_NOT_PRESENT, p11.CKR_TOKEN_NOT_RECOGNIZED, p11.CKR_SLOT_ID_INVALID,
	p11.CKR_USER_NOT_LOGGED_IN, p11.CKR_CRYPTOKI_NOT_INITIALIZED, p11.CKR_FUNCTION_CANCELED,
	p11.CKR_KEY_HANDLE_INVALID, p11.CKR_OBJECT_HANDLE_INVALID,
	p11.CKR_OPERATION_ACTIVE, p11.CKR_OPERATION_NOT_INITIALIZED, p11.CKR_BUFFER_TOO_SMALL,
}

// refused reports whether err is the token refusing the data given to a
// single-part C_Decrypt or C_Encrypt (a ciphertext that does not
// authenticate or decrypt, a length out of range), rather than the
// session, login, token, module or key failing. It is the package's one
// classification of errors: the pool keeps a session after a refusal
// only (see pool.finished), and a keyring reports every other error of
// its token as a *keyring.UnwrapError (see tokenFailed), never as an
// encrypted data key that is not its own. Tokens differ in the code they
// give for bad data (SoftHSM2 gives CKR_GENERAL_ERROR for an AES-GCM tag
// or an RSA padding that does not verify), so every code but
// failureCodes counts as a refusal; an error of another function, or one
// without a code, never does.
func refused(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Func != "C_Decrypt" && e.Func != "C_Encrypt" {
		return false
	}
	return !slices.Contains(failureCodes, uint(e.Code))
}

// hasCode reports whether err is a PKCS #11 error with one of codes.
func hasCode(err error, codes ...uint) bool {
	var code p11.Error
	if !errors.As(err, &code) {
		return false
	}
	for _, c := range codes {
		if uint(code) == c {
			return true
		}
	}
	return false
}

var ckrNames = map[uint]string{
	p11.CKR_CANCEL:                         "CKR_CANCEL",
	p11.CKR_HOST_MEMORY:                    "CKR_HOST_MEMORY",
	p11.CKR_SLOT_ID_INVALID:                "CKR_SLOT_ID_INVALID",
	p11.CKR_GENERAL_ERROR:                  "CKR_GENERAL_ERROR",
	p11.CKR_FUNCTION_FAILED:                "CKR_FUNCTION_FAILED",
	p11.CKR_ARGUMENTS_BAD:                  "CKR_ARGUMENTS_BAD",
	p11.CKR_ATTRIBUTE_SENSITIVE:            "CKR_ATTRIBUTE_SENSITIVE",
	p11.CKR_ATTRIBUTE_TYPE_INVALID:         "CKR_ATTRIBUTE_TYPE_INVALID",
	p11.CKR_ATTRIBUTE_VALUE_INVALID:        "CKR_ATTRIBUTE_VALUE_INVALID",
	p11.CKR_DATA_INVALID:                   "CKR_DATA_INVALID",
	p11.CKR_DATA_LEN_RANGE:                 "CKR_DATA_LEN_RANGE",
	p11.CKR_DEVICE_ERROR:                   "CKR_DEVICE_ERROR",
	p11.CKR_DEVICE_MEMORY:                  "CKR_DEVICE_MEMORY",
	p11.CKR_DEVICE_REMOVED:                 "CKR_DEVICE_REMOVED",
	p11.CKR_ENCRYPTED_DATA_INVALID:         "CKR_ENCRYPTED_DATA_INVALID",
	p11.CKR_ENCRYPTED_DATA_LEN_RANGE:       "CKR_ENCRYPTED_DATA_LEN_RANGE",
	p11.CKR_FUNCTION_NOT_SUPPORTED:         "CKR_FUNCTION_NOT_SUPPORTED",
	p11.CKR_KEY_HANDLE_INVALID:             "CKR_KEY_HANDLE_INVALID",
	p11.CKR_KEY_SIZE_RANGE:                 "CKR_KEY_SIZE_RANGE",
	p11.CKR_KEY_TYPE_INCONSISTENT:          "CKR_KEY_TYPE_INCONSISTENT",
	p11.CKR_KEY_FUNCTION_NOT_PERMITTED:     "CKR_KEY_FUNCTION_NOT_PERMITTED",
	p11.CKR_MECHANISM_INVALID:              "CKR_MECHANISM_INVALID",
	p11.CKR_MECHANISM_PARAM_INVALID:        "CKR_MECHANISM_PARAM_INVALID",
	p11.CKR_OBJECT_HANDLE_INVALID:          "CKR_OBJECT_HANDLE_INVALID",
	p11.CKR_OPERATION_ACTIVE:               "CKR_OPERATION_ACTIVE",
	p11.CKR_OPERATION_NOT_INITIALIZED:      "CKR_OPERATION_NOT_INITIALIZED",
	p11.CKR_PIN_INCORRECT:                  "CKR_PIN_INCORRECT",
	p11.CKR_PIN_INVALID:                    "CKR_PIN_INVALID",
	p11.CKR_PIN_LEN_RANGE:                  "CKR_PIN_LEN_RANGE",
	p11.CKR_PIN_EXPIRED:                    "CKR_PIN_EXPIRED",
	p11.CKR_PIN_LOCKED:                     "CKR_PIN_LOCKED",
	p11.CKR_SESSION_CLOSED:                 "CKR_SESSION_CLOSED",
	p11.CKR_SESSION_COUNT:                  "CKR_SESSION_COUNT",
	p11.CKR_SESSION_HANDLE_INVALID:         "CKR_SESSION_HANDLE_INVALID",
	p11.CKR_SESSION_READ_ONLY:              "CKR_SESSION_READ_ONLY",
	p11.CKR_TEMPLATE_INCOMPLETE:            "CKR_TEMPLATE_INCOMPLETE",
	p11.CKR_TEMPLATE_INCONSISTENT:          "CKR_TEMPLATE_INCONSISTENT",
	p11.CKR_TOKEN_NOT_PRESENT:              "CKR_TOKEN_NOT_PRESENT",
	p11.CKR_TOKEN_NOT_RECOGNIZED:           "CKR_TOKEN_NOT_RECOGNIZED",
	p11.CKR_TOKEN_WRITE_PROTECTED:          "CKR_TOKEN_WRITE_PROTECTED",
	p11.CKR_USER_ALREADY_LOGGED_IN:         "CKR_USER_ALREADY_LOGGED_IN",
	p11.CKR_USER_NOT_LOGGED_IN:             "CKR_USER_NOT_LOGGED_IN",
	p11.CKR_USER_PIN_NOT_INITIALIZED:       "CKR_USER_PIN_NOT_INITIALIZED",
	p11.CKR_USER_TYPE_INVALID:              "CKR_USER_TYPE_INVALID",
	p11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN: "CKR_USER_ANOTHER_ALREADY_LOGGED_IN",
	p11.CKR_USER_TOO_MANY_TYPES:            "CKR_USER_TOO_MANY_TYPES",
	p11.CKR_WRAPPED_KEY_INVALID:            "CKR_WRAPPED_KEY_INVALID",
	p11.CKR_RANDOM_NO_RNG:                  "CKR_RANDOM_NO_RNG",
	p11.CKR_BUFFER_TOO_SMALL:               "CKR_BUFFER_TOO_SMALL",
	p11.CKR_CRYPTOKI_NOT_INITIALIZED:       "CKR_CRYPTOKI_NOT_INITIALIZED",
	p11.CKR_CRYPTOKI_ALREADY_INITIALIZED:   "CKR_CRYPTOKI_ALREADY_INITIALIZED",
	p11.CKR_FUNCTION_REJECTED:              "CKR_FUNCTION_REJECTED",
	p11.CKR_FUNCTION_CANCELED:              "CKR_FUNCTION_CANCELED",
	p11.CKR_DOMAIN_PARAMS_INVALID:          "CKR_DOMAIN_PARAMS_INVALID",
	p11.CKR_CURVE_NOT_SUPPORTED:            "CKR_CURVE_NOT_SUPPORTED",
}

// ckrMeanings says in words what the codes a keyring user meets mean.
var ckrMeanings = map[uint]string{
	p11.CKR_PIN_INCORRECT:                  "the PIN is incorrect",
	p11.CKR_PIN_INVALID:                    "the PIN has characters the token does not accept",
	p11.CKR_PIN_LEN_RANGE:                  "the PIN is too long or too short for the token",
	p11.CKR_PIN_LOCKED:                     "the PIN is locked after too many wrong tries; the security officer must unlock it",
	p11.CKR_PIN_EXPIRED:                    "the PIN has expired and must be changed",
	p11.CKR_USER_PIN_NOT_INITIALIZED:       "the token has no user PIN yet; the security officer must set one",
	p11.CKR_USER_NOT_LOGGED_IN:             "the session is not logged in",
	p11.CKR_USER_ANOTHER_ALREADY_LOGGED_IN: "another user (the security officer?) is logged in to the token in this process",
	p11.CKR_TOKEN_NOT_PRESENT:              "the token is not present in the slot",
	p11.CKR_TOKEN_NOT_RECOGNIZED:           "the module does not recognize the token",
	p11.CKR_DEVICE_REMOVED:                 "the token was removed",
	p11.CKR_DEVICE_ERROR:                   "the token reported a device error",
	p11.CKR_DEVICE_MEMORY:                  "the token is out of memory",
	p11.CKR_HOST_MEMORY:                    "the module is out of memory",
	p11.CKR_SLOT_ID_INVALID:                "no such slot",
	p11.CKR_SESSION_COUNT:                  "the token allows no more sessions; lower MaxSessions",
	p11.CKR_MECHANISM_INVALID:              "the token does not support this mechanism",
	p11.CKR_MECHANISM_PARAM_INVALID:        "the token does not support these mechanism parameters",
	p11.CKR_KEY_FUNCTION_NOT_PERMITTED:     "the key's attributes do not allow this use (CKA_ENCRYPT, CKA_DECRYPT, CKA_DERIVE)",
	p11.CKR_KEY_TYPE_INCONSISTENT:          "the key's type does not fit the mechanism",
	p11.CKR_KEY_HANDLE_INVALID:             "the key no longer exists",
	p11.CKR_OBJECT_HANDLE_INVALID:          "the object no longer exists",
	p11.CKR_ENCRYPTED_DATA_INVALID:         "the ciphertext is not valid for this key",
	p11.CKR_ENCRYPTED_DATA_LEN_RANGE:       "the ciphertext has the wrong length for this key",
	p11.CKR_DATA_LEN_RANGE:                 "the data has the wrong length for this key",
	p11.CKR_ATTRIBUTE_SENSITIVE:            "the attribute is sensitive and cannot be read",
	p11.CKR_ATTRIBUTE_TYPE_INVALID:         "the token does not know this attribute for this object",
	p11.CKR_ATTRIBUTE_VALUE_INVALID:        "the token does not accept a value of the template",
	p11.CKR_TEMPLATE_INCONSISTENT:          "the token does not accept the template's attributes together",
	p11.CKR_TEMPLATE_INCOMPLETE:            "the template lacks an attribute the token needs",
	p11.CKR_DOMAIN_PARAMS_INVALID:          "the token does not support these curve parameters",
	p11.CKR_CURVE_NOT_SUPPORTED:            "the token does not support this curve",
	p11.CKR_CRYPTOKI_NOT_INITIALIZED:       "the module is not initialized (was the keyring closed?)",
	p11.CKR_FUNCTION_NOT_SUPPORTED:         "the module does not implement this function",
}
