package keyring

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// checkNames validates the Namespace and Name fields of a raw keyring's
// options (named opts in errors): both non-empty UTF-8, short enough for
// the header's 2-byte length fields once extra bytes of provider info are
// added, and the namespace not one that only AWS KMS keyrings may use.
func checkNames(opts, namespace, name string, extraInfo int) error {
	switch {
	case namespace == "":
		return fmt.Errorf("esdk/keyring: %s.Namespace is required (the encrypted data keys' provider id)", opts)
	case name == "":
		return fmt.Errorf("esdk/keyring: %s.Name is required (the key name in the encrypted data keys' provider info)", opts)
	case !utf8.ValidString(namespace):
		return fmt.Errorf("esdk/keyring: %s.Namespace must be valid UTF-8", opts)
	case !utf8.ValidString(name):
		return fmt.Errorf("esdk/keyring: %s.Name must be valid UTF-8", opts)
	case strings.HasPrefix(namespace, "aws-kms"):
		return fmt.Errorf("esdk/keyring: %s.Namespace %q is reserved for AWS KMS keyrings (it starts with \"aws-kms\")", opts, namespace)
	case len(namespace) > 0xFFFF:
		return fmt.Errorf("esdk/keyring: %s.Namespace is %d bytes, at most 65535 fit", opts, len(namespace))
	case len(name)+extraInfo > 0xFFFF:
		return fmt.Errorf("esdk/keyring: %s.Name is %d bytes, at most %d fit", opts, len(name), 0xFFFF-extraInfo)
	}
	return nil
}

// describe names a raw keyring in errors: kind "AES" or "RSA".
func describe(kind, namespace, name string) string {
	return fmt.Sprintf("raw %s %q/%q", kind, namespace, name)
}

// isNil reports whether v is nil or a nil pointer, map, slice, channel or
// function in an interface, so that constructors refuse it with an error
// instead of panicking later.
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
