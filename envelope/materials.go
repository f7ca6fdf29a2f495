package envelope

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// MaterialsManager supplies the materials of each message: the data key,
// its encrypted copies, and for signed suites the signing key.
// Implementations must be safe for concurrent use.
//
// The materials a manager returns belong to the caller, which may change
// them and wipes their plaintext data key once the message's keys are
// derived: a manager that keeps materials (a cache) returns a copy
// (Clone) every time. A manager must not modify the request's maps and
// slices.
type MaterialsManager interface {
	GetEncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error)
	DecryptMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error)
}

// EncryptionMaterialsRequest asks for the materials of one message.
type EncryptionMaterialsRequest struct {
	// EncryptionContext is the caller's context; the manager must not
	// modify it.
	EncryptionContext map[string]string
	// Suite is the suite to use, or nil to let the manager choose one the
	// policy allows.
	Suite            *format.Suite
	CommitmentPolicy CommitmentPolicy
	// PlaintextLength is the message's plaintext length, or -1 when the
	// plaintext is streamed and its length is not known.
	PlaintextLength int64
	// RequiredEncryptionContextKeys are keys of EncryptionContext that
	// the message must authenticate but not store: decryption then needs
	// them supplied again. A RequiredContextManager sets them for its
	// inner manager; the default manager puts them in the materials.
	RequiredEncryptionContextKeys []string
}

// DecryptionMaterialsRequest asks for the materials to decrypt a message.
type DecryptionMaterialsRequest struct {
	Suite             *format.Suite
	CommitmentPolicy  CommitmentPolicy
	EncryptedDataKeys []format.EncryptedDataKey
	// EncryptionContext is the context stored in the header.
	EncryptionContext map[string]string
	// ReproducedEncryptionContext is what the caller supplied again, if
	// anything.
	ReproducedEncryptionContext map[string]string
	// RequiredEncryptionContextKeys are keys that the reproduced context
	// must hold. A RequiredContextManager sets them for its inner
	// manager; the default manager checks them.
	RequiredEncryptionContextKeys []string
}

// DefaultManager is the default materials manager: it takes its data keys
// from a keyring, and makes and checks the signing keys of signed suites.
type DefaultManager struct {
	kr keyring.Keyring
}

var _ MaterialsManager = (*DefaultManager)(nil)

// NewDefaultManager returns the default materials manager over kr, which
// is required. Its only input is the keyring, so it takes it alone rather
// than in an options struct.
func NewDefaultManager(kr keyring.Keyring) (*DefaultManager, error) {
	if kr == nil {
		return nil, errors.New("esdk: NewDefaultManager needs a keyring")
	}
	return &DefaultManager{kr: kr}, nil
}

// GetEncryptionMaterials implements MaterialsManager. The request's
// required keys become the materials' required keys.
func (m *DefaultManager) GetEncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	for k := range req.EncryptionContext {
		if err := checkReservedKey(k); err != nil {
			return nil, err
		}
	}
	for _, k := range req.RequiredEncryptionContextKeys {
		if _, ok := req.EncryptionContext[k]; !ok {
			return nil, fmt.Errorf("%w: %q is required but not in the encryption context", ErrMissingRequiredContext, k)
		}
	}
	suite := req.Suite
	if suite == nil {
		suite = req.CommitmentPolicy.DefaultSuite()
	}
	if err := req.CommitmentPolicy.check(suite, true); err != nil {
		return nil, err
	}
	mat := &keyring.EncryptionMaterials{
		Suite:                         suite,
		EncryptionContext:             maps.Clone(req.EncryptionContext),
		RequiredEncryptionContextKeys: slices.Clone(req.RequiredEncryptionContextKeys),
	}
	if mat.EncryptionContext == nil {
		mat.EncryptionContext = map[string]string{}
	}
	if suite.Signed() {
		key, err := engine.GenerateSigningKey(suite)
		if err != nil {
			return nil, fmt.Errorf("esdk: generating a signing key: %w", err)
		}
		mat.SigningKey = key
		mat.EncryptionContext[format.PublicKeyContextKey] = engine.MarshalPublicKey(&key.PublicKey)
	}
	if err := m.kr.OnEncrypt(ctx, mat); err != nil {
		return nil, err
	}
	if mat.PlaintextDataKey == nil || len(mat.EncryptedDataKeys) == 0 {
		return nil, errors.New("esdk: the keyring returned no data key or no encrypted data key")
	}
	return mat, nil
}

// DecryptMaterials implements MaterialsManager. Reproduced context entries
// must equal those in the header; entries missing from the header are
// added to the materials as required keys, so that the header
// authentication covers them. The request's required keys must be in the
// reproduced context.
func (m *DefaultManager) DecryptMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	if err := req.CommitmentPolicy.check(req.Suite, false); err != nil {
		return nil, err
	}
	for _, k := range req.RequiredEncryptionContextKeys {
		if _, ok := req.ReproducedEncryptionContext[k]; !ok {
			return nil, fmt.Errorf("%w: %q must be supplied to decrypt", ErrMissingRequiredContext, k)
		}
	}
	mat := &keyring.DecryptionMaterials{Suite: req.Suite, EncryptionContext: maps.Clone(req.EncryptionContext)}
	if mat.EncryptionContext == nil {
		mat.EncryptionContext = map[string]string{}
	}
	for _, k := range sortedKeys(req.ReproducedEncryptionContext) {
		v := req.ReproducedEncryptionContext[k]
		if hv, ok := req.EncryptionContext[k]; ok {
			if hv != v {
				return nil, fmt.Errorf("%w: encryption context key %q differs from the message's", ErrContextMismatch, k)
			}
			continue
		}
		mat.EncryptionContext[k] = v
		mat.RequiredEncryptionContextKeys = append(mat.RequiredEncryptionContextKeys, k)
	}
	pub, hasPub := mat.EncryptionContext[format.PublicKeyContextKey]
	switch {
	case req.Suite.Signed() && !hasPub:
		return nil, fmt.Errorf("%w: signed message without %s in its encryption context", ErrAuthentication, format.PublicKeyContextKey)
	case req.Suite.Signed():
		key, err := engine.ParsePublicKey(req.Suite, pub)
		if err != nil {
			return nil, wrapSentinel(ErrAuthentication, err)
		}
		mat.VerificationKey = key
	case hasPub:
		return nil, fmt.Errorf("%w: unsigned suite %s with %s in its encryption context", ErrAuthentication, req.Suite.ID(), format.PublicKeyContextKey)
	}
	if err := m.kr.OnDecrypt(ctx, mat, req.EncryptedDataKeys); err != nil {
		return nil, err
	}
	if mat.PlaintextDataKey == nil {
		return nil, errors.New("esdk: the keyring returned no data key")
	}
	return mat, nil
}

// ErrContextMismatch says the encryption context supplied on decryption
// does not match the message's.
var ErrContextMismatch = errors.New("esdk: encryption context does not match the message")

// ErrReservedContextKey says a caller's encryption-context key starts
// with the prefix the SDK reserves ("aws-crypto-").
var ErrReservedContextKey = errors.New("esdk: encryption context key uses the reserved prefix")

// checkReservedKey refuses a caller's encryption-context key with the
// reserved prefix.
func checkReservedKey(k string) error {
	if strings.HasPrefix(k, format.ReservedPrefix) {
		return fmt.Errorf("%w: %q starts with %q", ErrReservedContextKey, k, format.ReservedPrefix)
	}
	return nil
}

// ErrMissingRequiredContext says a required encryption-context key was
// not supplied.
var ErrMissingRequiredContext = errors.New("esdk: required encryption context key missing")

// RequiredContextManager makes some encryption-context keys required: they
// must be present when encrypting, they are authenticated but not stored
// in the message, and decryption needs them supplied again. Its requests
// to the inner manager name the required keys
// (RequiredEncryptionContextKeys), so that an inner manager that keeps
// materials, such as a cache, can tell them apart.
type RequiredContextManager struct {
	inner MaterialsManager
	keys  []string
}

var _ MaterialsManager = (*RequiredContextManager)(nil)

// RequiredContextManagerOptions configure a RequiredContextManager (see
// [NewRequiredContextManager]).
type RequiredContextManagerOptions struct {
	// Inner is the materials manager the requests go on to, usually a
	// DefaultManager or a caching manager. Required.
	Inner MaterialsManager
	// Keys are the encryption-context keys that become required. At least
	// one is required; none may start with the reserved prefix
	// "aws-crypto-". Duplicates count once.
	Keys []string
}

// NewRequiredContextManager returns a manager that makes o.Keys required
// and passes its requests on to o.Inner. It copies o and applies optFns
// to the copy in order. Inner and Keys are required; there are no
// defaults.
func NewRequiredContextManager(o RequiredContextManagerOptions, optFns ...func(*RequiredContextManagerOptions)) (*RequiredContextManager, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Inner == nil {
		return nil, errors.New("esdk: RequiredContextManagerOptions.Inner is required (the materials manager to pass requests to)")
	}
	if len(o.Keys) == 0 {
		return nil, errors.New("esdk: RequiredContextManagerOptions.Keys needs at least one key")
	}
	for _, k := range o.Keys {
		if err := checkReservedKey(k); err != nil {
			return nil, err
		}
	}
	ks := slices.Clone(o.Keys)
	slices.Sort(ks)
	return &RequiredContextManager{inner: o.Inner, keys: slices.Compact(ks)}, nil
}

// GetEncryptionMaterials implements MaterialsManager.
func (m *RequiredContextManager) GetEncryptionMaterials(ctx context.Context, req EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	if k, ok := m.missing(req.EncryptionContext); ok {
		return nil, fmt.Errorf("%w: %q is not in the encryption context", ErrMissingRequiredContext, k)
	}
	req.RequiredEncryptionContextKeys = m.with(req.RequiredEncryptionContextKeys)
	mat, err := m.inner.GetEncryptionMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	if k, ok := m.missing(mat.EncryptionContext); ok {
		return nil, fmt.Errorf("%w: the inner manager dropped %q", ErrMissingRequiredContext, k)
	}
	// The materials are this manager's to change, but the slice's array
	// may still be shared with the inner manager: build a new one.
	keys := slices.Clone(mat.RequiredEncryptionContextKeys)
	for _, k := range m.keys {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	mat.RequiredEncryptionContextKeys = keys
	return mat, nil
}

// DecryptMaterials implements MaterialsManager.
func (m *RequiredContextManager) DecryptMaterials(ctx context.Context, req DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	if k, ok := m.missing(req.ReproducedEncryptionContext); ok {
		return nil, fmt.Errorf("%w: %q must be supplied to decrypt", ErrMissingRequiredContext, k)
	}
	req.RequiredEncryptionContextKeys = m.with(req.RequiredEncryptionContextKeys)
	mat, err := m.inner.DecryptMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	if k, ok := m.missing(mat.EncryptionContext); ok {
		return nil, fmt.Errorf("%w: the inner manager dropped %q", ErrMissingRequiredContext, k)
	}
	return mat, nil
}

// with returns keys and this manager's required keys, sorted and without
// duplicates, in a new slice.
func (m *RequiredContextManager) with(keys []string) []string {
	all := append(slices.Clone(keys), m.keys...)
	slices.Sort(all)
	return slices.Compact(all)
}

// missing returns the first required key that ec lacks.
func (m *RequiredContextManager) missing(ec map[string]string) (string, bool) {
	for _, k := range m.keys {
		if _, ok := ec[k]; !ok {
			return k, true
		}
	}
	return "", false
}

// sortedKeys returns the keys of ec in the order of the canonical
// serialization: by their UTF-8 bytes, which is how Go compares strings.
// (slices.Sorted(maps.Keys(ec)) says the same, with three allocations
// more, on every decryption.)
func sortedKeys(ec map[string]string) []string {
	if len(ec) == 0 {
		return nil
	}
	keys := make([]string, 0, len(ec))
	for k := range ec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
