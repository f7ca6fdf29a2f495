package keyring

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // OAEP-SHA1
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/go-esdk/esdk/format"
)

// RSAPadding is the padding of a raw RSA keyring. OAEP uses MGF1 with the
// same hash and an empty label. The zero value is not a valid padding.
type RSAPadding int

const (
	// PKCS1 is PKCS #1 v1.5 padding. It exists to exchange messages with
	// systems that use it; prefer OAEP. Decryption uses implicit
	// rejection: a ciphertext whose padding is wrong, or whose payload is
	// not a data key of the suite's length, unwraps to a random key, so it
	// fails later exactly like a well-formed one for another key, and the
	// error reveals nothing about the padding (no Bleichenbacher oracle).
	// So of several encrypted data keys under this keyring's names, the
	// first of the modulus size is the one taken.
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

// hash returns the OAEP hash, or 0 for PKCS1.
func (p RSAPadding) hash() crypto.Hash {
	switch p {
	case OAEPSHA1:
		return crypto.SHA1
	case OAEPSHA256:
		return crypto.SHA256
	case OAEPSHA384:
		return crypto.SHA384
	case OAEPSHA512:
		return crypto.SHA512
	}
	return 0
}

// ContextDecrypter is a crypto.Decrypter whose decryption can take the
// caller's context, such as an HSM or key-service key. A raw RSA keyring
// over a decrypter that implements it calls DecryptContext instead of
// Decrypt.
type ContextDecrypter interface {
	DecryptContext(ctx context.Context, rand io.Reader, msg []byte, opts crypto.DecrypterOpts) ([]byte, error)
}

// RawRSA wraps data keys with an RSA key pair, in the wire format of the
// raw RSA keyrings of the other ESDK implementations. The encryption
// context plays no part in the wrapping.
type RawRSA struct {
	namespace string
	name      string
	padding   RSAPadding
	pub       *rsa.PublicKey   // nil for a decrypt-only keyring
	priv      crypto.Decrypter // nil for an encrypt-only keyring
	privSize  int              // modulus bytes of priv
}

var _ Keyring = (*RawRSA)(nil)

// RawRSAOptions configure a raw RSA keyring (see [NewRawRSA]).
type RawRSAOptions struct {
	// Namespace is the provider id of the encrypted data keys. Required;
	// it must not start with "aws-kms", which only AWS KMS keyrings use.
	Namespace string
	// Name is the encrypted data keys' provider info. Required.
	Name string
	// Padding is the RSA padding. Required: the zero value is not a
	// padding, and the padding must be the one the other side uses.
	Padding RSAPadding

	// The keys: PublicKey, PrivateKey or both. The keyring encrypts with
	// the public key only and never derives one from the private key, as
	// the ESDK specification requires, so a keyring with only a private
	// key can decrypt but not encrypt (OnEncrypt returns an error matching
	// [ErrDecryptOnly]), and one with only a public key can encrypt but
	// not decrypt ([ErrEncryptOnly]). To do both, set both, such as
	// &priv.PublicKey and priv. [ParseRSAKeysPEM] reads both from PEM.
	// The keys must not be changed afterwards.
	//
	// PublicKey encrypts; nil means the keyring does not encrypt.
	PublicKey *rsa.PublicKey
	// PrivateKey decrypts; nil (or a nil pointer) means the keyring does
	// not decrypt. It is an *rsa.PrivateKey or any other crypto.Decrypter
	// whose Public method returns an *rsa.PublicKey, such as a key in an
	// HSM; when PublicKey is set too, it must be the public key of
	// PrivateKey. A decrypter that also implements [ContextDecrypter] is
	// called with the caller's context. It is passed
	// *rsa.OAEPOptions{Hash: h} for the OAEP paddings and
	// *rsa.PKCS1v15DecryptOptions{SessionKeyLen: suite key length} for
	// PKCS1; a decrypter other than *rsa.PrivateKey should then reject
	// implicitly, as crypto/rsa does, and at least must not tell padding
	// failures apart by timing.
	PrivateKey crypto.Decrypter
}

// NewRawRSA returns a raw RSA keyring. It copies o and applies optFns to
// the copy in order. Namespace, Name, Padding and at least one of
// PublicKey and PrivateKey are required; there are no defaults.
func NewRawRSA(o RawRSAOptions, optFns ...func(*RawRSAOptions)) (*RawRSA, error) {
	for _, f := range optFns {
		f(&o)
	}
	if err := checkNames("RawRSAOptions", o.Namespace, o.Name, 0); err != nil {
		return nil, err
	}
	padding, pub, priv := o.Padding, o.PublicKey, o.PrivateKey
	if padding == 0 {
		return nil, errors.New("esdk/keyring: RawRSAOptions.Padding is required (PKCS1 or one of the OAEP paddings)")
	}
	if padding < PKCS1 || padding > OAEPSHA512 {
		return nil, fmt.Errorf("esdk/keyring: RawRSAOptions.Padding: unknown RSA padding %v", padding)
	}
	if isNil(priv) {
		priv = nil
	}
	if pub == nil && priv == nil {
		return nil, errors.New("esdk/keyring: RawRSAOptions needs PublicKey, PrivateKey or both")
	}
	k := &RawRSA{namespace: o.Namespace, name: o.Name, padding: padding, pub: pub, priv: priv}
	sizeKey := pub
	if pub != nil {
		if err := checkRSAPublicKey(pub); err != nil {
			return nil, fmt.Errorf("esdk/keyring: RawRSAOptions.PublicKey: %w", err)
		}
	}
	if priv != nil {
		if rk, ok := priv.(*rsa.PrivateKey); ok {
			if err := rk.Validate(); err != nil {
				return nil, fmt.Errorf("esdk/keyring: RawRSAOptions.PrivateKey: %w", err)
			}
		}
		privPub, ok := priv.Public().(*rsa.PublicKey)
		if !ok || privPub == nil {
			return nil, fmt.Errorf("esdk/keyring: RawRSAOptions.PrivateKey's public key is a %T, not an *rsa.PublicKey", priv.Public())
		}
		if err := checkRSAPublicKey(privPub); err != nil {
			return nil, fmt.Errorf("esdk/keyring: RawRSAOptions.PrivateKey: %w", err)
		}
		if pub != nil && !pub.Equal(privPub) {
			return nil, errors.New("esdk/keyring: RawRSAOptions.PublicKey does not belong to PrivateKey")
		}
		k.privSize = privPub.Size()
		sizeKey = privPub
	}
	// The longest data key (32 bytes) must fit in one RSA block.
	overhead := 11
	if h := padding.hash(); h != 0 {
		overhead = 2*h.Size() + 2
	}
	if sizeKey.Size()-overhead < 32 {
		return nil, fmt.Errorf("esdk/keyring: a %d-bit RSA key is too small for %v padding", sizeKey.N.BitLen(), padding)
	}
	return k, nil
}

func checkRSAPublicKey(pub *rsa.PublicKey) error {
	if pub.N == nil || pub.N.Sign() <= 0 {
		return errors.New("no modulus")
	}
	if pub.E < 3 || pub.E&1 == 0 {
		return fmt.Errorf("public exponent %d is not an odd number of 3 or more", pub.E)
	}
	return nil
}

// ParseRSAKeysPEM reads the keys of a raw RSA keyring from PEM, for
// [RawRSAOptions]: one private key block, one public key block, or one of
// each in either order. A private key is PKCS #1 ("RSA PRIVATE KEY") or
// PKCS #8 ("PRIVATE KEY"); a public key is SPKI ("PUBLIC KEY") or PKCS #1
// ("RSA PUBLIC KEY"). The public key is never derived from the private
// one: pub is nil unless the data holds a public key block, so a private
// key alone gives a keyring that can only decrypt; add the public key
// block to encrypt too. Encrypted PEM is not supported.
func ParseRSAKeysPEM(data []byte) (pub *rsa.PublicKey, priv *rsa.PrivateKey, err error) {
	rest := data
	for n := 0; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if n == 0 {
				return nil, nil, errors.New("esdk/keyring: no PEM block found")
			}
			if len(bytes.TrimSpace(rest)) != 0 {
				return nil, nil, errors.New("esdk/keyring: data after the PEM blocks that is not PEM")
			}
			break
		}
		if len(block.Headers) != 0 {
			return nil, nil, errors.New("esdk/keyring: PEM block has headers; encrypted PEM is not supported")
		}
		k, err := parseRSAKeyBlock(block)
		if err != nil {
			return nil, nil, err
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			if priv != nil {
				return nil, nil, errors.New("esdk/keyring: two private keys in the PEM data; want at most one")
			}
			priv = k
		case *rsa.PublicKey:
			if pub != nil {
				return nil, nil, errors.New("esdk/keyring: two public keys in the PEM data; want at most one")
			}
			pub = k
		}
	}
	return pub, priv, nil
}

// parseRSAKeyBlock returns the *rsa.PrivateKey or *rsa.PublicKey of block.
func parseRSAKeyBlock(block *pem.Block) (any, error) {
	var (
		key any
		err error
	)
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, fmt.Errorf("esdk/keyring: PEM block %q is not an RSA key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: parsing %q PEM block: %w", block.Type, err)
	}
	switch key.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("esdk/keyring: %q PEM block holds a %T, not an RSA key", block.Type, key)
}

func (k *RawRSA) desc() string { return describe("RSA", k.namespace, k.name) }

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key that wraps it. A keyring without a public key returns
// an error matching ErrDecryptOnly and leaves m unchanged.
func (k *RawRSA) OnEncrypt(_ context.Context, m *EncryptionMaterials) error {
	if k.pub == nil {
		return fmt.Errorf("%w: %s has a private key and no public key, and does not derive one", ErrDecryptOnly, k.desc())
	}
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
		ct, err = rsa.EncryptOAEP(k.padding.hash().New(), rand.Reader, k.pub, m.PlaintextDataKey, nil)
	}
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), err)
	}
	m.EncryptedDataKeys = append(m.EncryptedDataKeys, format.EncryptedDataKey{
		ProviderID:   k.namespace,
		ProviderInfo: []byte(k.name),
		Ciphertext:   ct,
	})
	return nil
}

// OnDecrypt sets m.PlaintextDataKey from the first of this keyring's
// encrypted data keys that decrypts. With PKCS1 padding every one of its
// encrypted data keys of the right size decrypts, to a random key when the
// padding or the payload length is wrong (see [PKCS1]). Why a key did not
// decrypt stays out of the error text. A keyring without a private key
// returns an error matching ErrEncryptOnly.
func (k *RawRSA) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if m.PlaintextDataKey != nil {
		return ErrDataKeyAlreadySet
	}
	if m.Suite == nil {
		return errNoSuite
	}
	if k.priv == nil {
		return fmt.Errorf("%w: %s has no private key and cannot decrypt", ErrEncryptOnly, k.desc())
	}
	var causes []error
	for i, edk := range edks {
		if edk.ProviderID != k.namespace || string(edk.ProviderInfo) != k.name {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), err)
		}
		// The modulus size is public: saying so gives nothing away.
		if len(edk.Ciphertext) != k.privSize {
			causes = append(causes, fmt.Errorf("encrypted data key %d: ciphertext is %d bytes, want %d", i, len(edk.Ciphertext), k.privSize))
			continue
		}
		key, err := k.decrypt(ctx, edk.Ciphertext, m.Suite.KeyLength())
		if ctxErr := ctx.Err(); ctxErr != nil {
			clear(key)
			return fmt.Errorf("esdk/keyring: %s: %w", k.desc(), ctxErr)
		}
		if err != nil {
			causes = append(causes, &rsaUnwrapError{index: i, err: err})
			continue
		}
		m.PlaintextDataKey = key
		return nil
	}
	return &NoMatchingKeyError{Keyring: k.desc(), Causes: causes}
}

// errRSAKeyLength is the cause, kept out of error text, of an OAEP
// encrypted data key whose payload is not a data key of the suite's length.
var errRSAKeyLength = errors.New("esdk/keyring: RSA payload is not a data key of the suite's length")

// decrypt unwraps one ciphertext of the modulus size into a key of keyLen
// bytes.
func (k *RawRSA) decrypt(ctx context.Context, ct []byte, keyLen int) ([]byte, error) {
	var opts crypto.DecrypterOpts = &rsa.OAEPOptions{Hash: k.padding.hash()}
	if k.padding == PKCS1 {
		// *rsa.PrivateKey answers these options with implicit rejection
		// (rsa.DecryptPKCS1v15SessionKey into a random key), in constant
		// time.
		opts = &rsa.PKCS1v15DecryptOptions{SessionKeyLen: keyLen}
	}
	var key []byte
	var err error
	if cd, ok := k.priv.(ContextDecrypter); ok {
		key, err = cd.DecryptContext(ctx, rand.Reader, ct, opts)
	} else {
		key, err = k.priv.Decrypt(rand.Reader, ct, opts)
	}
	if err != nil {
		return nil, err
	}
	if len(key) == keyLen {
		return key, nil
	}
	clear(key)
	if k.padding != PKCS1 {
		return nil, errRSAKeyLength
	}
	// A decrypter that ignored SessionKeyLen: reject implicitly here, so
	// that a payload of the wrong length takes the path of a right one.
	key = make([]byte, keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// rsaUnwrapError says that an encrypted data key did not decrypt without
// saying why in its text, so that a service that shows or logs errors is
// no oracle on the RSA key. The cause stays reachable with errors.Is and
// errors.As, for an HSM that is down, say.
type rsaUnwrapError struct {
	index int
	err   error
}

func (e *rsaUnwrapError) Error() string {
	return fmt.Sprintf("encrypted data key %d did not decrypt", e.index)
}

func (e *rsaUnwrapError) Unwrap() error { return e.err }
