// Package errprefix writes the error strings of the SDK's packages. Each
// package starts its errors with a prefix of its own ("esdk/keyring: "),
// and an error that wraps another error of the same package names the
// prefix once: the wrapped error's text is shown without it.
package errprefix

import (
	"fmt"
	"strings"
)

// Errorf is fmt.Errorf with prefix in front of format, except that the
// text of an error operand that contains prefix is shown without it.
// errors.Is and errors.As still find every operand.
func Errorf(prefix, format string, args ...any) error {
	for i, a := range args {
		if err, ok := a.(error); ok && strings.Contains(err.Error(), prefix) {
			args[i] = Strip(prefix, err)
		}
	}
	return fmt.Errorf(prefix+format, args...)
}

// Strip returns err shown without prefix (every occurrence of it is
// removed from its text); errors.Is and errors.As find err through it.
func Strip(prefix string, err error) error { return stripped{prefix, err} }

type stripped struct {
	prefix string
	err    error
}

func (s stripped) Error() string { return strings.ReplaceAll(s.err.Error(), s.prefix, "") }
func (s stripped) Unwrap() error { return s.err }
