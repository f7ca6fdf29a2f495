package keyring

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"

	"github.com/go-esdk/esdk/format"
)

// ErrEncryptOnly says a keyring was asked to decrypt but holds no key that
// can: a configuration error, not a message that is not for this keyring.
var ErrEncryptOnly = errors.New("esdk/keyring: keyring can only encrypt")

// RSAPadding is the padding of a raw RSA keyring. OAEP uses MGF1 with the
// same hash and an empty label. The zero value is not a valid padding.
type RSAPadding int

const (
	// PKCS1 is PKCS #1 v1.5 padding. It exists to exchange messages with
	// systems that use it; whether its decryption fails reveals secret
	// information to whoever can observe it, so prefer OAEP.
	PKCS1 RSAPadding = iota + 1
	OAEPSHA1
	OAEPSHA256
	OAEPSHA384
	OAEPSHA512
)

func (p RSAPadding) String() string {
	switch p {
	case PKCS1:
		return "PKCS1"
	case OAEPSHA1:
		return "OAEP-SHA1"
	case OAEPSHA256:
		return "OAEP-SHA256"
	case OAEPSHA384:
		return "OAEP-SHA384"
	case OAEPSHA512:
		return "OAEP-SHA512"
	}
	return fmt.Sprintf("RSAPadding(%d)", int(p))
}

// newHash returns the OAEP hash, or nil for PKCS1.
func (p RSAPadding) newHash() hash.Hash {
	switch p {
	case OAEPSHA1:
		return sha1.New()
	case OAEPSHA256:
		return sha256.New()
	case OAEPSHA384:
		return sha512.New384()
	case OAEPSHA512:
		return sha512.New()
	}
	return nil
}

// RawRSA wraps data keys with a local RSA key, in the wire format of the
// raw RSA keyrings of the other ESDK implementations. The encryption
// context plays no part in the wrapping.
type RawRSA struct {
	namespace string
	name      string
	padding   RSAPadding
	pub       *rsa.PublicKey
	priv      *rsa.PrivateKey // nil for an encrypt-only keyring
}

var _ Keyring = (*RawRSA)(nil)

// NewRawRSA returns a raw RSA keyring. Either key may be nil, not both;
// with only a private key its public part encrypts, with only a public key
// the keyring can encrypt but not decrypt. The keys must not be changed
// afterwards. The namespace is the encrypted data keys' provider id and
// must not start with "aws-kms"; the name is their provider info.
func NewRawRSA(namespace, name string, padding RSAPadding, publicKey *rsa.PublicKey, privateKey *rsa.PrivateKey) (*RawRSA, error) {
	if err := checkNames(namespace, name, 0); err != nil {
		return nil, err
	}
	if padding < PKCS1 || padding > OAEPSHA512 {
		return nil, fmt.Errorf("esdk/keyring: unknown RSA padding %v", padding)
	}
	if privateKey != nil {
		if err := privateKey.Validate(); err != nil {
			return nil, fmt.Errorf("esdk/keyring: raw RSA private key: %w", err)
		}
		if publicKey == nil {
			publicKey = &privateKey.PublicKey
		} else if !publicKey.Equal(&privateKey.PublicKey) {
			return nil, errors.New("esdk/keyring: raw RSA public key does not belong to the private key")
		}
	}
	if publicKey == nil {
		return nil, errors.New("esdk/keyring: raw RSA keyring needs a public key, a private key or both")
	}
	if publicKey.N == nil || publicKey.N.Sign() <= 0 {
		return nil, errors.New("esdk/keyring: raw RSA public key has no modulus")
	}
	// The longest data key (32 bytes) must fit in one RSA block.
	overhead := 11
	if h := padding.newHash(); h != nil {
		overhead = 2*h.Size() + 2
	}
	if publicKey.Size()-overhead < 32 {
		return nil, fmt.Errorf("esdk/keyring: a %d-bit RSA key is too small for %v padding", publicKey.N.BitLen(), padding)
	}
	return &RawRSA{namespace: namespace, name: name, padding: padding, pub: publicKey, priv: privateKey}, nil
}

// NewRawRSAFromPEM is [NewRawRSA] with the key read from one PEM block: a
// PKCS #1 ("RSA PRIVATE KEY") or PKCS #8 ("PRIVATE KEY") private key, or an
// SPKI ("PUBLIC KEY") or PKCS #1 ("RSA PUBLIC KEY") public key. Encrypted
// PEM is not supported.
func NewRawRSAFromPEM(namespace, name string, padding RSAPadding, pemData []byte) (*RawRSA, error) {
	block, rest := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("esdk/keyring: no PEM block found")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("esdk/keyring: data after the PEM block; want exactly one key")
	}
	if len(block.Headers) != 0 {
		return nil, errors.New("esdk/keyring: PEM block has headers; encrypted PEM is not supported")
	}
	var (
		pub  *rsa.PublicKey
		priv *rsa.PrivateKey
		err  error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		var key any
		if key, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			var ok bool
			if priv, ok = key.(*rsa.PrivateKey); !ok {
				return nil, fmt.Errorf("esdk/keyring: PKCS #8 key is a %T, not an RSA key", key)
			}
		}
	case "PUBLIC KEY":
		var key any
		if key, err = x509.ParsePKIXPublicKey(block.Bytes); err == nil {
			var ok bool
			if pub, ok = key.(*rsa.PublicKey); !ok {
				return nil, fmt.Errorf("esdk/keyring: public key is a %T, not an RSA key", key)
			}
		}
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("esdk/keyring: PEM block %q is not an RSA key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: parsing %q PEM block: %w", block.Type, err)
	}
	return NewRawRSA(namespace, name, padding, pub, priv)
}

// CanDecrypt reports whether the keyring has a private key.
func (k *RawRSA) CanDecrypt() bool { return k.priv != nil }

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key that wraps it.
func (k *RawRSA) OnEncrypt(_ context.Context, m *EncryptionMaterials) error {
	if err := GenerateDataKey(m); err != nil {
		return err
	}
	if err := CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
		return err
	}
	var ct []byte
	var err error
	if k.padding == PKCS1 {
		ct, err = rsa.EncryptPKCS1v15(rand.Reader, k.pub, m.PlaintextDataKey)
	} else {
		ct, err = rsa.EncryptOAEP(k.padding.newHash(), rand.Reader, k.pub, m.PlaintextDataKey, nil)
	}
	if err != nil {
		return fmt.Errorf("esdk/keyring: raw RSA keyring: %w", err)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: []byte(k.name),
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of this keyring's
// encrypted data keys that decrypts to a key of the suite's length. A
// keyring without a private key returns an error matching ErrEncryptOnly.
func (k *RawRSA) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return errHasDataKey
	}
	if k.priv == nil {
		return fmt.Errorf("%w: raw RSA keyring %q %q has no private key and cannot decrypt", ErrEncryptOnly, k.namespace, k.name)
	}
	var causes []error
	for i, edk := range edks {
		if edk.ProviderID != k.namespace || string(edk.ProviderInfo) != k.name {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("esdk/keyring: raw RSA keyring: %w", err)
		}
		key, err := k.decrypt(edk.Ciphertext)
		if err == nil && len(key) != m.Suite.KeyLength() {
			err = fmt.Errorf("data key is %d bytes, suite %s needs %d", len(key), m.Suite.ID(), m.Suite.KeyLength())
		}
		if err != nil {
			causes = append(causes, fmt.Errorf("encrypted data key %d: %w", i, err))
			continue
		}
		m.PlaintextDataKey = key
		return nil
	}
	return &noKeyError{keyring: fmt.Sprintf("raw RSA keyring %q %q", k.namespace, k.name), causes: causes}
}

func (k *RawRSA) decrypt(ct []byte) ([]byte, error) {
	if len(ct) != k.priv.Size() {
		return nil, fmt.Errorf("ciphertext is %d bytes, want %d", len(ct), k.priv.Size())
	}
	if k.padding == PKCS1 {
		return rsa.DecryptPKCS1v15(nil, k.priv, ct)
	}
	return rsa.DecryptOAEP(k.padding.newHash(), nil, k.priv, ct, nil)
}
