package keyring

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

var errHasDataKey = errors.New("esdk/keyring: the decryption materials already have a data key")

// checkNames validates the namespace and name of a raw keyring: both
// non-empty UTF-8, short enough for the header's 2-byte length fields once
// extra bytes of provider info are added, and the namespace not one that
// only AWS KMS keyrings may use.
func checkNames(namespace, name string, extraInfo int) error {
	switch {
	case namespace == "" || name == "":
		return errors.New("esdk/keyring: key namespace and key name must not be empty")
	case !utf8.ValidString(namespace) || !utf8.ValidString(name):
		return errors.New("esdk/keyring: key namespace and key name must be valid UTF-8")
	case strings.HasPrefix(namespace, "aws-kms"):
		return fmt.Errorf("esdk/keyring: key namespace %q is reserved for AWS KMS keyrings (it starts with \"aws-kms\")", namespace)
	case len(namespace) > 0xFFFF:
		return fmt.Errorf("esdk/keyring: key namespace is %d bytes, at most 65535 fit", len(namespace))
	case len(name)+extraInfo > 0xFFFF:
		return fmt.Errorf("esdk/keyring: key name is %d bytes, at most %d fit", len(name), 0xFFFF-extraInfo)
	}
	return nil
}

// noKeyError is ErrNoMatchingKey with the reasons why the keyring's own
// encrypted data keys, if any, did not unwrap.
type noKeyError struct {
	keyring string
	causes  []error
}

func (e *noKeyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v (%s)", ErrNoMatchingKey, e.keyring)
	for i, c := range e.causes {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(c.Error())
	}
	return b.String()
}

func (e *noKeyError) Unwrap() []error {
	return append([]error{ErrNoMatchingKey}, e.causes...)
}
