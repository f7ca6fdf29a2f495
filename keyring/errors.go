package keyring

import (
	"errors"
	"strings"
)

// ErrNoMatchingKey says a keyring could unwrap none of a message's
// encrypted data keys: none was its own, or none of its own unwrapped.
// Keyrings return a [*NoMatchingKeyError], which matches it.
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
// message's encrypted data keys. It matches [ErrNoMatchingKey]. Callers
// that try several keyrings treat it as "not mine, try the next"; every
// other error of OnDecrypt is a real failure.
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
	for i, c := range e.Causes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(c.Error())
	}
	return b.String()
}

// Is reports whether target is ErrNoMatchingKey.
func (e *NoMatchingKeyError) Is(target error) bool { return target == ErrNoMatchingKey }

// Unwrap returns the causes.
func (e *NoMatchingKeyError) Unwrap() []error { return e.Causes }

// IsNoMatch reports whether err says only that no encrypted data key could
// be unwrapped: it matches [ErrNoMatchingKey] and, when it holds a
// [*MultiError], so does the error of every keyring in it. A multi-keyring
// error that mixes "not mine" with a real failure (a key service that is
// down, an HSM session lost) is not a no-match: that failure must not read
// as a message that is not for these keys.
func IsNoMatch(err error) bool {
	var me *MultiError
	if errors.As(err, &me) {
		for _, e := range me.Errors {
			if !IsNoMatch(e) {
				return false
			}
		}
		return len(me.Errors) > 0
	}
	return errors.Is(err, ErrNoMatchingKey)
}
