package keystore

import (
	"errors"
	"strings"

	"github.com/go-esdk/esdk/internal/errprefix"
)

// Sentinel errors of the branch key store and the hierarchical keyring.
// Every error a [Store] returns is an [*Error] that matches one of them
// with errors.Is, and its cause, when DynamoDB or AWS KMS failed, stays
// reachable with errors.As (*types.ResourceNotFoundException,
// *types.ProvisionedThroughputExceededException, a KMS exception,
// smithy.APIError).
var (
	// ErrTableNotFound: the DynamoDB table does not exist (or this
	// caller cannot see it in the client's region and account).
	ErrTableNotFound = errors.New("esdk/keystore: the branch key store's DynamoDB table does not exist")
	// ErrTableSchema: the table exists but its key schema is not the
	// branch key store's (partition key branch-key-id, sort key type,
	// both strings).
	ErrTableSchema = errors.New("esdk/keystore: the DynamoDB table does not have the branch key store's key schema")
	// ErrBranchKeyNotFound: the table holds no item for the branch key
	// id (or for that version of it).
	ErrBranchKeyNotFound = errors.New("esdk/keystore: no such branch key")
	// ErrInvalidItem: an item read from the table is not one the
	// specification allows (a row edited by hand, a missing or mistyped
	// attribute, a version that is not a UUID). Its key is never used.
	ErrInvalidItem = errors.New("esdk/keystore: the item read from the table is not a valid branch key store item")
	// ErrKMSARNMismatch: the item's kms-arn is not compatible with the
	// store's AWS KMS configuration, so the store refuses to ask KMS.
	ErrKMSARNMismatch = errors.New("esdk/keystore: the item's kms-arn does not match the store's AWS KMS configuration")
	// ErrBranchKeyExists: CreateKey was given a branch key id that the
	// table already holds.
	ErrBranchKeyExists = errors.New("esdk/keystore: the branch key id already exists")
	// ErrVersionConflict: the active branch key changed between
	// VersionKey's read and its write (another VersionKey won); nothing
	// was written.
	ErrVersionConflict = errors.New("esdk/keystore: the active branch key changed while it was being versioned")
	// ErrReadOnly: CreateKey or VersionKey on a store configured for
	// discovery, which has no KMS key to create branch keys under.
	ErrReadOnly = errors.New("esdk/keystore: a store with a discovery KMS configuration cannot create or version branch keys")
	// ErrKMS: AWS KMS failed or answered something the store cannot use.
	ErrKMS = errors.New("esdk/keystore: AWS KMS failed")
	// ErrDynamoDB: DynamoDB failed for another reason than the ones
	// above (throttling past the client's retries, an unreachable
	// endpoint, denied access).
	ErrDynamoDB = errors.New("esdk/keystore: DynamoDB failed")
)

// Error is the error of a branch key store operation. It matches its
// Kind (one of the sentinels above) with errors.Is, and its Err, the
// DynamoDB or KMS error behind it if any, with errors.Is and errors.As.
type Error struct {
	// Op is the operation: "GetActiveBranchKey", "CreateKey", ...
	Op string
	// BranchKeyID and Version name the branch key, when known.
	BranchKeyID string
	Version     string
	// Kind is the sentinel the error matches.
	Kind error
	// Detail says what was wrong, for people.
	Detail string
	// Err is the cause, or nil.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(e.Op)
	if e.BranchKeyID != "" {
		b.WriteString(" branch key ")
		b.WriteString(e.BranchKeyID)
		if e.Version != "" {
			b.WriteString(" version ")
			b.WriteString(e.Version)
		}
	}
	b.WriteString(": ")
	if e.Kind != nil {
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), prefix))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(unprefixed(e.Err).Error())
	}
	return b.String()
}

// Unwrap returns the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// prefix starts every error string of this package.
const prefix = "esdk/keystore: "

// errorf is fmt.Errorf with prefix in front of format; an error operand
// of this package shows without its prefix, so the prefix appears once.
func errorf(format string, args ...any) error {
	return errprefix.Errorf(prefix, format, args...)
}

// unprefixed returns err shown without this package's prefix.
func unprefixed(err error) error { return errprefix.Strip(prefix, err) }
