package keyring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-esdk/esdk/internal/errprefix"
)

// ErrNoMatchingKey says a keyring could unwrap none of a message's
// encrypted data keys because none was its own, or none of its own
// unwrapped with its key: the message is not for this keyring. Keyrings
// return a [*NoMatchingKeyError], which matches it; a multi-keyring's
// [*MultiError] matches it when the error of every keyring in it does.
// An error that holds a real failure anywhere (a [*UnwrapError], a
// configuration error, the end of the context) never matches it, so
// errors.Is(err, ErrNoMatchingKey) means exactly "no keyring failed, and
// none of them holds a key for this message".
var ErrNoMatchingKey = errors.New("esdk/keyring: no encrypted data key could be unwrapped by this keyring")

// ErrDataKeyAlreadySet says OnDecrypt was given materials that already
// hold a plaintext data key (or a multi-keyring with a generator was given
// encryption materials that do): a programming error, not a message that
// is not for this keyring.
var ErrDataKeyAlreadySet = errors.New("esdk/keyring: the materials already have a plaintext data key")

// ErrEncryptOnly says a keyring was asked to decrypt but holds no key that
// can: a configuration error, not a message that is not for this keyring.
var ErrEncryptOnly = errors.New("esdk/keyring: keyring can only encrypt")

// ErrDecryptOnly says a keyring was asked to encrypt but holds no key that
// can, such as a raw RSA keyring given a private key and no public key.
var ErrDecryptOnly = errors.New("esdk/keyring: keyring can only decrypt")

// NoMatchingKeyError is the error of a keyring that could unwrap none of a
// message's encrypted data keys, none of them being its own or its key
// refusing each of its own (wrong key, tag or digest mismatch). It matches
// [ErrNoMatchingKey]. Callers that try several keyrings treat it as "not
// mine, try the next". A keyring whose key provider failed returns an
// [*UnwrapError] instead.
type NoMatchingKeyError struct {
	// Keyring describes the keyring, such as `raw AES "ns"/"name"`.
	Keyring string
	// Causes say why each of the keyring's own encrypted data keys did
	// not unwrap, plus any hint; empty when none of the keys was its own.
	Causes []error
}

func (e *NoMatchingKeyError) Error() string {
	var b strings.Builder
	if e.Keyring == "" {
		b.WriteString(ErrNoMatchingKey.Error())
	} else {
		b.WriteString("esdk/keyring: no encrypted data key could be unwrapped by ")
		b.WriteString(e.Keyring)
	}
	writeCauses(&b, e.Causes, false)
	return b.String()
}

// Is reports whether target is ErrNoMatchingKey.
func (e *NoMatchingKeyError) Is(target error) bool { return target == ErrNoMatchingKey }

// Unwrap returns the causes.
func (e *NoMatchingKeyError) Unwrap() []error { return e.Causes }

// UnwrapError is the error of a keyring whose key provider (a key
// service, an HSM) failed while unwrapping, for a reason other than the
// encrypted data keys it was given: throttled past the client's retries,
// access denied, a key disabled or deleted, the service or token out of
// reach, a session or login lost. It never matches [ErrNoMatchingKey], so
// that a provider that is down never reads as a message that is not for
// these keys, or as a tampered one; retrying later may succeed.
type UnwrapError struct {
	// Keyring describes the keyring, such as "AWS KMS keyring
	// arn:aws:kms:...".
	Keyring string
	// Causes hold the error of each encrypted data key the keyring tried,
	// in order, at least one of them the provider's failure. The
	// provider's own errors are reachable with errors.As (a KMS
	// *types.DisabledException, a *pkcs11.Error).
	Causes []error
}

func (e *UnwrapError) Error() string {
	var b strings.Builder
	b.WriteString("esdk/keyring: ")
	if e.Keyring == "" {
		b.WriteString("a keyring")
	} else {
		b.WriteString(e.Keyring)
	}
	b.WriteString(": the key provider failed to unwrap a data key")
	writeCauses(&b, e.Causes, false)
	return b.String()
}

// Unwrap returns the causes, but for any that matches ErrNoMatchingKey,
// so that an UnwrapError never does.
func (e *UnwrapError) Unwrap() []error { return failures(e.Causes) }

// failures returns the errors of errs that do not match ErrNoMatchingKey:
// errs itself when none does.
func failures(errs []error) []error {
	n := 0
	for _, err := range errs {
		if !errors.Is(err, ErrNoMatchingKey) {
			n++
		}
	}
	if n == len(errs) {
		return errs
	}
	out := make([]error, 0, n)
	for _, err := range errs {
		if !errors.Is(err, ErrNoMatchingKey) {
			out = append(out, err)
		}
	}
	return out
}

// writeCauses appends to b ": " and the texts of causes, separated by
// "; ", each after its index in brackets when numbered; nothing when
// there are none. The texts leave out this package's prefix, which b
// already starts with.
func writeCauses(b *strings.Builder, causes []error, numbered bool) {
	for i, c := range causes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if numbered {
			fmt.Fprintf(b, "[%d] ", i)
		}
		if c == nil {
			b.WriteString("<nil>")
		} else {
			b.WriteString(unprefixed(c).Error())
		}
	}
}

// errPrefix starts every error string of this package.
const errPrefix = "esdk/keyring: "

// errorf is fmt.Errorf with errPrefix in front of format; an error operand
// of this package shows without its prefix, so the prefix appears once.
func errorf(format string, args ...any) error {
	return errprefix.Errorf(errPrefix, format, args...)
}

// unprefixed returns err shown without this package's prefix.
func unprefixed(err error) error { return errprefix.Strip(errPrefix, err) }
