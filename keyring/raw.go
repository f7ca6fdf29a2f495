package keyring

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

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
