//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"
	"fmt"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var (
	_ keyring.Keyring          = (*AES)(nil)
	_ keyring.Keyring          = (*RSA)(nil)
	_ keyring.AESWrappingKey   = (*AESKey)(nil)
	_ crypto.Decrypter         = (*RSAKey)(nil)
	_ keyring.ContextDecrypter = (*RSAKey)(nil)
)

// AES is a keyring whose wrapping key is an AES key in a PKCS #11 token.
// Its encrypted data keys are those of [keyring.NewRawAES]: the
// namespace is their provider id, the name (with the tag length, IV
// length and IV) their provider info, the serialized encryption context
// the AAD of the wrapping. A raw AES keyring with the same names and key
// material decrypts what it encrypts, and the reverse.
type AES struct {
	raw *keyring.RawAES
	key *AESKey
}

// NewAES opens the AES key that cfg names (see [OpenAESKey]) and returns a
// keyring over it. Close it when done.
func NewAES(namespace, name string, cfg Config) (*AES, error) {
	key, err := OpenAESKey(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := keyring.NewRawAESWithKey(namespace, name, key)
	if err != nil {
		key.Close()
		return nil, err
	}
	return &AES{raw: raw, key: key}, nil
}

// OnEncrypt generates the data key if m has none, then wraps it in the
// token under a fresh random IV.
func (k *AES) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return k.raw.OnEncrypt(ctx, m)
}

// OnDecrypt unwraps the first of the keyring's encrypted data keys that
// the token authenticates under m's encryption context. Data keys that do
// not authenticate give an error matching keyring.ErrNoMatchingKey, with
// causes that match ErrAuthentication.
func (k *AES) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return k.raw.OnDecrypt(ctx, m, edks)
}

// Key returns the key in the token.
func (k *AES) Key() *AESKey { return k.key }

// Close releases the key (see [AESKey.Close]).
func (k *AES) Close() error { return k.key.Close() }

// RSA is a keyring whose private key is an RSA key in a PKCS #11 token.
// Data keys are wrapped in Go with the public key read from the token and
// unwrapped in the token. Its encrypted data keys are those of
// [keyring.NewRawRSA]: a raw RSA keyring with the same names, padding and
// key pair decrypts what it encrypts, and the reverse.
type RSA struct {
	raw *keyring.RawRSA
	key *RSAKey
}

// NewRSA opens the RSA private key that cfg names (see [OpenRSAKey]) and
// returns a keyring over it with the given padding. It decrypts one test
// value in the token first: a token that cannot do the padding (many do
// OAEP with SHA-1 only) gives an error matching ErrMechanismNotSupported
// here, rather than failed decryptions later. Close it when done.
//
// With PKCS1 padding the token's own timing decides whether a failed
// decryption can be told apart from a good one; prefer OAEP.
func NewRSA(namespace, name string, padding keyring.RSAPadding, cfg Config) (*RSA, error) {
	opts, err := decrypterOpts(padding)
	if err != nil {
		return nil, err
	}
	key, err := OpenRSAKey(cfg)
	if err != nil {
		return nil, err
	}
	if err := key.selfTest(context.Background(), opts); err != nil {
		key.Close()
		return nil, err
	}
	raw, err := keyring.NewRawRSAWithKeys(namespace, name, padding, key.pub, key)
	if err != nil {
		key.Close()
		return nil, err
	}
	return &RSA{raw: raw, key: key}, nil
}

// decrypterOpts returns the options the raw RSA keyring passes to the key
// for padding.
func decrypterOpts(padding keyring.RSAPadding) (crypto.DecrypterOpts, error) {
	switch padding {
	case keyring.PKCS1:
		return &rsa.PKCS1v15DecryptOptions{}, nil
	case keyring.OAEPSHA1:
		return &rsa.OAEPOptions{Hash: crypto.SHA1}, nil
	case keyring.OAEPSHA256:
		return &rsa.OAEPOptions{Hash: crypto.SHA256}, nil
	case keyring.OAEPSHA384:
		return &rsa.OAEPOptions{Hash: crypto.SHA384}, nil
	case keyring.OAEPSHA512:
		return &rsa.OAEPOptions{Hash: crypto.SHA512}, nil
	}
	return nil, fmt.Errorf("esdk/pkcs11: unknown RSA padding %v", padding)
}

// OnEncrypt generates the data key if m has none, then wraps it with the
// public key. It fails after Close, like decryption.
func (k *RSA) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return k.raw.OnEncrypt(ctx, m)
}

// OnDecrypt unwraps the first of the keyring's encrypted data keys that
// decrypts in the token.
func (k *RSA) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return k.raw.OnDecrypt(ctx, m, edks)
}

// Key returns the key in the token.
func (k *RSA) Key() *RSAKey { return k.key }

// Close releases the key (see [RSAKey.Close]).
func (k *RSA) Close() error { return k.key.Close() }
