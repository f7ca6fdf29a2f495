package kmsprovider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/go-esdk/esdk/keyring"
)

// ErrCannotMatchKeyARN says a keyring configured with an alias or a bare
// key id was asked to decrypt. A message names the KMS key of each of its
// encrypted data keys by key ARN, and such an identifier can never be
// compared with one; configure the key ARN (or use a discovery keyring) to
// decrypt. It is a configuration error, so it does not match
// keyring.ErrNoMatchingKey.
var ErrCannotMatchKeyARN = errors.New("esdk/kmsprovider: a keyring configured with an alias or a bare key id cannot decrypt")

// ErrSignedSuite says the AWS KMS RSA keyring was asked to encrypt or
// decrypt under an algorithm suite with an asymmetric signature. Its
// wrapping key is public, so anyone can write a message for it and a
// signature proves nothing about who did; the specification has the
// keyring refuse such suites both ways, as the other AWS Encryption SDKs
// do. Encrypt with an unsigned suite, such as 0x0478
// (envelope.Options.Suite = format.AES256GCMHKDFSHA512CommitKey). It is a
// configuration error, so it does not match keyring.ErrNoMatchingKey.
var ErrSignedSuite = errors.New("esdk/kmsprovider: the AWS KMS RSA keyring cannot be used with an algorithm suite with an asymmetric signature")

// noMatchingKey returns the error of a keyring none of whose encrypted
// data keys unwrapped: a *keyring.NoMatchingKeyError when KMS refused the
// ciphertexts or none was the keyring's, and a *keyring.UnwrapError when
// AWS KMS itself failed on one of them (throttled, a key disabled or
// pending deletion, access denied, the service out of reach). That one
// does not match keyring.ErrNoMatchingKey, so that nobody is told a
// message was tampered with when the service is down.
func noMatchingKey(desc string, causes []error) error {
	for _, c := range causes {
		if serviceFailed(c) {
			return &keyring.UnwrapError{Keyring: desc, Causes: causes}
		}
	}
	return &keyring.NoMatchingKeyError{Keyring: desc, Causes: causes}
}

// serviceFailed reports whether err is an AWS KMS call that failed for a
// reason other than the ciphertext it was given.
func serviceFailed(err error) bool {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return false
	}
	var ic *types.InvalidCiphertextException
	var ik *types.IncorrectKeyException
	return !errors.As(err, &ic) && !errors.As(err, &ik)
}

// cannotMatch is the decrypt error of a keyring configured with an
// identifier that is not a key ARN. It names the key ARNs the message
// does hold, so that the fix is one copy away.
func cannotMatch(desc string, id identifier, stored []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s names its key by %s; a message stores key ARNs, which it can never match: configure the key ARN (arn:aws:kms:region:account:key/id) to decrypt", desc, id.kind())
	if len(stored) > 0 {
		fmt.Fprintf(&b, "; this message's AWS KMS keys are %s", strings.Join(stored, ", "))
	}
	return fmt.Errorf("%w: %s", ErrCannotMatchKeyARN, b.String())
}

// contextDone returns the error of a call cut short by its context, such
// that errors.Is finds both ctx.Err() and the call's own error.
func contextDone(ctx context.Context, desc string, err error) error {
	return fmt.Errorf("esdk/kmsprovider: %s: %w (%w)", desc, ctx.Err(), err)
}

// checkDecryptionMaterials rejects materials a keyring cannot decrypt into.
func checkDecryptionMaterials(m *keyring.DecryptionMaterials, desc string) error {
	if m.PlaintextDataKey != nil {
		return fmt.Errorf("%w (%s)", keyring.ErrDataKeyAlreadySet, desc)
	}
	if m.Suite == nil {
		return fmt.Errorf("esdk/kmsprovider: %s: the decryption materials have no algorithm suite", desc)
	}
	return nil
}

// isNil reports whether an interface holds nothing or a nil pointer, map,
// slice, channel or function.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch r := reflect.ValueOf(v); r.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Chan, reflect.Func, reflect.Interface:
		return r.IsNil()
	}
	return false
}
