package envelope

import (
	"fmt"

	"github.com/go-esdk/esdk/internal/errprefix"
)

// errPrefix starts every error string of this package.
const errPrefix = "esdk: "

// wrapSentinel returns the error "sentinel: err", where err's text shows
// without this package's prefix, which sentinel's text already starts
// with: an error of this package (or of the engine, which says "esdk:"
// too) under one of its sentinels says "esdk:" once. errors.Is and
// errors.As find both.
func wrapSentinel(sentinel, err error) error {
	return fmt.Errorf("%w: %w", sentinel, unprefixed(err))
}

// unprefixed returns err shown without this package's prefix.
func unprefixed(err error) error { return errprefix.Strip(errPrefix, err) }
