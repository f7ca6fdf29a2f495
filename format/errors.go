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

// Limit names one bound that reading or writing a message enforces.
type Limit uint8

// The limits a LimitError can name.
const (
	LimitHeaderSize        Limit = iota + 1 // bytes in one header
	LimitEncryptedDataKeys                  // encrypted data keys in one message
	LimitFrameLength                        // plaintext bytes in one frame
	LimitNonFramedBodySize                  // plaintext bytes in a non-framed body
	LimitFrameCount                         // frames in one message
)

var limitNames = [...]string{
	LimitHeaderSize:        "header size",
	LimitEncryptedDataKeys: "encrypted data key count",
	LimitFrameLength:       "frame length",
	LimitNonFramedBodySize: "non-framed body size",
	LimitFrameCount:        "frame count",
}

func (l Limit) String() string {
	if int(l) < len(limitNames) && limitNames[l] != "" {
		return limitNames[l]
	}
	return fmt.Sprintf("Limit(%d)", uint8(l))
}

// LimitError reports input beyond a limit: a configured one, or the
// format's own.
type LimitError struct {
	Limit Limit
	Max   int64
	Got   int64 // a lower bound when the input was not read in full
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("esdk/format: %s of %d exceeds the limit of %d", e.Limit, e.Got, e.Max)
}

// Is makes errors.Is(err, ErrLimitExceeded) true, for the
// encrypted-data-key limit errors.Is(err, ErrTooManyEncryptedDataKeys), and
// errors.Is(err, &LimitError{Limit: l}) for a LimitError of limit l.
func (e *LimitError) Is(target error) bool {
	switch t := target.(type) {
	case *LimitError:
		return t.Limit == e.Limit
	}
	return target == ErrLimitExceeded || (target == ErrTooManyEncryptedDataKeys && e.Limit == LimitEncryptedDataKeys)
}
