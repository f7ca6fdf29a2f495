package format

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is wrapped by every error about bytes that do not form a
	// valid message: a bad field value, a length past the end, a truncation.
	ErrMalformed = errors.New("esdk/format: malformed message")
	// ErrUnsupportedSuite reports an algorithm suite id this SDK does not know.
	ErrUnsupportedSuite = errors.New("esdk/format: unsupported algorithm suite")
	// ErrNotESDK reports input that does not start like an ESDK message.
	ErrNotESDK = errors.New("esdk/format: not an ESDK message")
	// ErrLimitExceeded is wrapped by errors about input larger than a limit.
	ErrLimitExceeded = errors.New("esdk/format: limit exceeded")
	// ErrTooManyEncryptedDataKeys is matched by a LimitError on the
	// encrypted-data-key count.
	ErrTooManyEncryptedDataKeys = errors.New("esdk/format: too many encrypted data keys")
)

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
