package keyring

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"

	"github.com/go-esdk/esdk/format"
)

// Raw AES provider info: key name ‖ tag length in bits (4) ‖ IV length (4) ‖ IV.
const (
	rawAESTagBits  = 128
	rawAESIVLength = 12
	rawAESInfoTail = 4 + 4 + rawAESIVLength
)

// RawAES wraps data keys with a local AES-GCM key, in the wire format of
// the raw AES keyrings of the other ESDK implementations. The encryption
// context is authenticated as the AAD of the wrapping.
type RawAES struct {
	namespace string
	name      string
	aead      cipher.AEAD
}

var _ Keyring = (*RawAES)(nil)

// NewRawAES returns a raw AES keyring. The wrapping key must be 16, 24 or
// 32 bytes (AES-128, AES-192 or AES-256); the keyring keeps no reference
// to it. The namespace is the encrypted data keys' provider id and must not
// start with "aws-kms"; the name is the key name written in their provider
// info.
func NewRawAES(namespace, name string, wrappingKey []byte) (*RawAES, error) {
	if err := checkNames(namespace, name, rawAESInfoTail); err != nil {
		return nil, err
	}
	switch len(wrappingKey) {
	case 16, 24, 32:
	default:
		return nil, fmt.Errorf("esdk/keyring: raw AES wrapping key is %d bytes, want 16, 24 or 32", len(wrappingKey))
	}
	block, err := aes.NewCipher(wrappingKey)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: raw AES wrapping key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: raw AES wrapping key: %w", err)
	}
	return &RawAES{namespace: namespace, name: name, aead: aead}, nil
}

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key that wraps it.
func (k *RawAES) OnEncrypt(_ context.Context, m *EncryptionMaterials) error {
	if err := GenerateDataKey(m); err != nil {
		return err
	}
	if err := CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
		return err
	}
	aad, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: raw AES keyring: %w", err)
	}
	n := len(k.name)
	info := make([]byte, n+rawAESInfoTail)
	copy(info, k.name)
	binary.BigEndian.PutUint32(info[n:], rawAESTagBits)
	binary.BigEndian.PutUint32(info[n+4:], rawAESIVLength)
	iv := info[n+8:]
	if _, err := rand.Read(iv); err != nil {
		return fmt.Errorf("esdk/keyring: raw AES keyring: generating an IV: %w", err)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: info,
		Ciphertext:   k.aead.Seal(nil, iv, m.PlaintextDataKey, aad),
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of this keyring's
// encrypted data keys that unwraps under m's encryption context.
func (k *RawAES) OnDecrypt(_ context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return errHasDataKey
	}
	aad, err := format.MarshalEncryptionContext(m.EncryptionContext)
	if err != nil {
		return fmt.Errorf("esdk/keyring: raw AES keyring: %w", err)
	}
	var causes []error
	for i, edk := range edks {
		iv, ok := k.iv(edk)
		if !ok {
			continue
		}
		if want := m.Suite.KeyLength() + k.aead.Overhead(); len(edk.Ciphertext) != want {
			causes = append(causes, fmt.Errorf("encrypted data key %d: ciphertext is %d bytes, want %d", i, len(edk.Ciphertext), want))
			continue
		}
		key, err := k.aead.Open(nil, iv, edk.Ciphertext, aad)
		if err != nil {
			causes = append(causes, fmt.Errorf("encrypted data key %d: %w (wrong key or encryption context?)", i, err))
			continue
		}
		m.PlaintextDataKey = key
		return nil
	}
	return &noKeyError{keyring: fmt.Sprintf("raw AES keyring %q %q", k.namespace, k.name), causes: causes}
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
