package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-esdk/esdk/format"
)

// Multi combines keyrings. On encryption its generator makes the data key
// and every keyring wraps it, so that any of them can decrypt the message;
// on decryption the first keyring that unwraps a data key wins.
type Multi struct {
	generator Keyring // may be nil
	children  []Keyring
}

var _ Keyring = (*Multi)(nil)

// MultiOptions configure a multi-keyring (see [NewMulti]).
type MultiOptions struct {
	// Generator makes the data key on encryption and wraps it. Nil means
	// none: such a keyring only wraps a data key that the materials
	// already hold, and then needs at least one child.
	Generator Keyring
	// Children each wrap the data key the generator made. None may be
	// nil. On decryption the generator is tried first, then each child in
	// order.
	Children []Keyring
}

// NewMulti returns a multi-keyring. It copies o and applies optFns to the
// copy in order. Generator or at least one child is required; the keyring
// keeps its own copy of Children.
func NewMulti(o MultiOptions, optFns ...func(*MultiOptions)) (*Multi, error) {
	for _, f := range optFns {
		f(&o)
	}
	generator := o.Generator
	if isNil(generator) {
		generator = nil
	}
	if generator == nil && len(o.Children) == 0 {
		return nil, errors.New("esdk/keyring: MultiOptions needs a Generator or at least one of Children")
	}
	for i, c := range o.Children {
		if isNil(c) {
			return nil, fmt.Errorf("esdk/keyring: MultiOptions.Children[%d] is nil", i)
		}
	}
	return &Multi{generator: generator, children: append([]Keyring(nil), o.Children...)}, nil
}

// OnEncrypt has the generator make and wrap the data key, then every child
// wrap it. With a generator, m must not have a data key yet; without one,
// it must. The first failure fails the call.
func (k *Multi) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if k.generator != nil {
		if m.PlaintextDataKey != nil {
			return fmt.Errorf("%w: a multi-keyring with a generator makes the data key itself", ErrDataKeyAlreadySet)
		}
		if err := k.generator.OnEncrypt(ctx, m); err != nil {
			return errorf("multi-keyring generator: %w", err)
		}
		if m.PlaintextDataKey == nil {
			return errors.New("esdk/keyring: multi-keyring generator made no data key")
		}
	} else if m.PlaintextDataKey == nil {
		return errors.New("esdk/keyring: multi-keyring has no generator and the materials have no data key")
	}
	for i, c := range k.children {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("esdk/keyring: multi-keyring: %w", err)
		}
		if err := c.OnEncrypt(ctx, m); err != nil {
			return errorf("multi-keyring child %d: %w", i, err)
		}
	}
	return nil
}

// OnDecrypt tries the generator, then each child in order, and stops at
// the first that sets the data key. Each keyring gets its own copy of the
// unmodified materials, so a keyring that changes them and then fails
// does not spoil the next one; only the winner's data key is kept. When
// none sets one it returns a *MultiError holding every keyring's error.
func (k *Multi) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return ErrDataKeyAlreadySet
	}
	all := k.children
	if k.generator != nil {
		all = append([]Keyring{k.generator}, all...)
	}
	errs := make([]error, 0, len(all))
	for _, kr := range all {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("esdk/keyring: multi-keyring: %w", err)
		}
		c := m.Clone()
		err := kr.OnDecrypt(ctx, c, edks)
		if err == nil {
			if c.PlaintextDataKey == nil {
				err = errors.New("esdk/keyring: keyring returned no error and no data key")
			} else if err = CheckDataKey(m.Suite, c.PlaintextDataKey); err == nil {
				m.PlaintextDataKey = c.PlaintextDataKey
				return nil
			}
		}
		errs = append(errs, err)
	}
	return &MultiError{Errors: errs}
}

// MultiError is the error of a multi-keyring none of whose keyrings could
// unwrap a data key. Errors holds each keyring's error in the order tried,
// the generator's first, and the text shows them all.
//
// It matches ErrNoMatchingKey only when the error of every keyring does:
// all of them said "none of these is mine". When any keyring failed for
// real (a key service down, an HSM session lost, a configuration error,
// the context's end), Unwrap returns those failures only: errors.Is and
// errors.As find them, and neither ErrNoMatchingKey nor the other
// keyrings' *NoMatchingKeyError, which stay in Errors and in the text.
type MultiError struct {
	Errors []error
}

func (e *MultiError) Error() string {
	var b strings.Builder
	b.WriteString("esdk/keyring: no keyring of the multi-keyring could unwrap a data key")
	writeCauses(&b, e.Errors, true)
	return b.String()
}

// Unwrap returns the keyrings' errors that are real failures, or all of
// them when each says "not mine".
func (e *MultiError) Unwrap() []error {
	if f := failures(e.Errors); len(f) > 0 {
		return f
	}
	return e.Errors
}
