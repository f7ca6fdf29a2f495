package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/go-esdk/esdk/format"
)

// Raw AES provider info: key name ‖ tag length in bits (4) ‖ IV length (4) ‖ IV.
const (
	rawAESTagBits  = 128
	rawAESTagLen   = rawAESTagBits / 8
	rawAESIVLength = 12
	rawAESInfoTail = 4 + 4 + rawAESIVLength
)

// AESWrappingKey is an AES-GCM wrapping key for the raw AES keyring's wire
// format that may live outside the process, in an HSM or a key service:
// unlike cipher.AEAD, its calls take a context and can fail.
// Implementations must be safe for concurrent use.
type AESWrappingKey interface {
	// Seal returns the AES-GCM ciphertext of plaintext followed by the
	// 16-byte tag, under iv (12 bytes) and aad.
	Seal(ctx context.Context, iv, plaintext, aad []byte) ([]byte, error)
	// Open checks and removes the tag of ciphertext (which ends with it)
	// and returns the plaintext; any failure is an error. The keyring
	// reports the error as the reason the data key did not unwrap, as it
	// is: only the key can tell a ciphertext that does not authenticate
	// (the wrong key or encryption context) from a failure of its own,
	// and its error should say which.
	Open(ctx context.Context, iv, ciphertext, aad []byte) ([]byte, error)
}

// gcmKey is an in-process AESWrappingKey.
type gcmKey struct{ aead cipher.AEAD }

func (k gcmKey) Seal(_ context.Context, iv, plaintext, aad []byte) ([]byte, error) {
	return k.aead.Seal(nil, iv, plaintext, aad), nil
}

// Open fails only when the tag does not verify, and then says what
// most likely caused that.
func (k gcmKey) Open(_ context.Context, iv, ciphertext, aad []byte) ([]byte, error) {
	pt, err := k.aead.Open(nil, iv, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w (wrong key or encryption context?)", err)
	}
	return pt, nil
}

// newGCMKey returns an in-process AESWrappingKey over key (16, 24 or 32
// bytes), with a 12-byte IV and a 16-byte tag. It keeps no reference to
// key.
func newGCMKey(key []byte) (gcmKey, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return gcmKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return gcmKey{}, err
	}
	return gcmKey{aead}, nil
}

// RawAES wraps data keys with an AES-GCM key, in the wire format of the
// raw AES keyrings of the other ESDK implementations. The encryption
// context is authenticated as the AAD of the wrapping.
type RawAES struct {
	namespace string
	name      string
	key       AESWrappingKey
}

var _ Keyring = (*RawAES)(nil)

// RawAESOptions configure a raw AES keyring (see [NewRawAES]).
type RawAESOptions struct {
	// Namespace is the provider id of the encrypted data keys. Required;
	// it must not start with "aws-kms", which only AWS KMS keyrings use.
	Namespace string
	// Name is the key name written in the encrypted data keys' provider
	// info. Required.
	Name string

	// The wrapping key: exactly one of WrappingKey and KeyHandle is set.
	//
	// WrappingKey is the key itself, held in memory: 16, 24 or 32 bytes
	// (AES-128, AES-192 or AES-256). The keyring keeps no reference to
	// the slice.
	WrappingKey []byte
	// KeyHandle is a wrapping key held elsewhere, such as a key in an HSM.
	// The keyring calls it with the caller's context.
	KeyHandle AESWrappingKey
}

// NewRawAES returns a raw AES keyring. It copies o and applies optFns to
// the copy in order. Namespace, Name and one of WrappingKey or KeyHandle
// are required; there are no defaults.
//
// Whichever way the key is given, the wire format is the same: the
// provider id is the namespace, the provider info is the name, the tag
// length in bits, the IV length and the IV; the AAD is the serialized
// encryption context. The keyring picks a fresh random 12-byte IV for
// every data key it wraps.
func NewRawAES(o RawAESOptions, optFns ...func(*RawAESOptions)) (*RawAES, error) {
	for _, f := range optFns {
		f(&o)
	}
	if err := checkNames("RawAESOptions", o.Namespace, o.Name, rawAESInfoTail); err != nil {
		return nil, err
	}
	hasHandle := !isNil(o.KeyHandle)
	switch {
	case o.WrappingKey != nil && hasHandle:
		return nil, errors.New("esdk/keyring: RawAESOptions has both WrappingKey and KeyHandle; set one")
	case o.WrappingKey == nil && !hasHandle:
		return nil, errors.New("esdk/keyring: RawAESOptions needs WrappingKey (the key bytes) or KeyHandle (a key held elsewhere)")
	case hasHandle:
		return &RawAES{namespace: o.Namespace, name: o.Name, key: o.KeyHandle}, nil
	}
	switch len(o.WrappingKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("esdk/keyring: RawAESOptions.WrappingKey is %d bytes, want 16, 24 or 32", len(o.WrappingKey))
	}
	key, err := newGCMKey(o.WrappingKey)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: RawAESOptions.WrappingKey: %w", err)
	}
	return &RawAES{namespace: o.Namespace, name: o.Name, key: key}, nil
}

func (k *RawAES) desc() string { return describe("AES", k.namespace, k.name) }

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key that wraps it.
func (k *RawAES) OnEncrypt(ctx context.Context, m *EncryptionMaterials) error {
	if err := GenerateDataKey(m); err != nil {
		return err
	}
	if err := CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
		return err
	}
	aad, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), err)
	}
	n := len(k.name)
	info := make([]byte, n+rawAESInfoTail)
	copy(info, k.name)
	binary.BigEndian.PutUint32(info[n:], rawAESTagBits)
	binary.BigEndian.PutUint32(info[n+4:], rawAESIVLength)
	iv := info[n+8:]
	if _, err := rand.Read(iv); err != nil {
		return fmt.Errorf("esdk/keyring: %s: generating an IV: %w", k.desc(), err)
	}
	ct, err := k.key.Seal(ctx, iv, m.PlaintextDataKey, aad)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: wrapping the data key: %w", k.desc(), err)
	}
	if want := len(m.PlaintextDataKey) + rawAESTagLen; len(ct) != want {
		return fmt.Errorf("esdk/keyring: %s: the wrapping key returned %d bytes, want %d", k.desc(), len(ct), want)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: info,
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of this keyring's
// encrypted data keys that unwraps under m's encryption context.
func (k *RawAES) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return ErrDataKeyAlreadySet
	}
	if m.Suite == nil {
		return errNoSuite
	}
	aad, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), err)
	}
	var causes []error
	for i, edk := range edks {
		iv, ok := k.iv(edk)
		if !ok {
			continue
		}
		if want := m.Suite.KeyLength() + rawAESTagLen; len(edk.Ciphertext) != want {
			causes = append(causes, fmt.Errorf("encrypted data key %d: ciphertext is %d bytes, want %d", i, len(edk.Ciphertext), want))
			continue
		}
		key, err := k.key.Open(ctx, iv, edk.Ciphertext, aad)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), ctxErr)
		}
		if err == nil && len(key) != m.Suite.KeyLength() {
			err = fmt.Errorf("the wrapping key returned %d bytes, want %d", len(key), m.Suite.KeyLength())
		}
		if err != nil {
			causes = append(causes, fmt.Errorf("encrypted data key %d: %w", i, err))
			continue
		}
		m.PlaintextDataKey = key
		return nil
	}
	return &NoMatchingKeyError{Keyring: k.desc(), Causes: causes}
}

// iv returns the wrapping IV of edk when edk is this keyring's: same
// provider id, and provider info of exactly this key name, a 128-bit tag
// and a 12-byte IV.
func (k *RawAES) iv(edk format.EncryptedDataKey) ([]byte, bool) {
	n := len(k.name)
	info := edk.ProviderInfo
	if edk.ProviderID != k.namespace || len(info) != n+rawAESInfoTail || string(info[:n]) != k.name {
		return nil, false
	}
	if binary.BigEndian.Uint32(info[n:]) != rawAESTagBits || binary.BigEndian.Uint32(info[n+4:]) != rawAESIVLength {
		return nil, false
	}
	return info[n+8:], true
}
