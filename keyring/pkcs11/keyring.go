//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var (
	_ keyring.Keyring          = (*AESKeyring)(nil)
	_ keyring.Keyring          = (*RSAKeyring)(nil)
	_ keyring.AESWrappingKey   = (*AESKey)(nil)
	_ crypto.Decrypter         = (*RSAKey)(nil)
	_ keyring.ContextDecrypter = (*RSAKey)(nil)
	_ io.Closer                = (*AESKeyring)(nil)
	_ io.Closer                = (*RSAKeyring)(nil)
)

// AESKeyring is a keyring whose wrapping key is an AES key in a PKCS #11
// token. Its encrypted data keys are those of [keyring.RawAES]: the
// namespace is their provider id, the name (with the tag length, IV
// length and IV) their provider info, the serialized encryption context
// the AAD of the wrapping. A raw AES keyring with the same names and key
// material decrypts what it encrypts, and the reverse.
type AESKeyring struct {
	raw *keyring.RawAES
	key *AESKey
}

// AESKeyringOptions configure an AES keyring (see [NewAESKeyring]).
type AESKeyringOptions struct {
	// Namespace is the provider id of the encrypted data keys. Required;
	// it must not start with "aws-kms".
	Namespace string
	// Name is the key name written in the encrypted data keys' provider
	// info. Required.
	Name string
	// Config says where the AES key is: module, token, PIN and key
	// (see [Config] for its own required fields and defaults).
	Config Config
}

// NewAESKeyring opens the AES key that o.Config names (see [OpenAESKey])
// and returns a keyring over it. It copies o and applies optFns to the
// copy in order. Namespace, Name and the Config's own required fields are
// required; Namespace and Name are checked before the token is opened.
// Close the keyring when done.
func NewAESKeyring(o AESKeyringOptions, optFns ...func(*AESKeyringOptions)) (*AESKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if err := checkNames("AESKeyringOptions", o.Namespace, o.Name); err != nil {
		return nil, err
	}
	key, err := OpenAESKey(o.Config)
	if err != nil {
		return nil, err
	}
	raw, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: o.Namespace, Name: o.Name, KeyHandle: key})
	if err != nil {
		key.Close()
		return nil, err
	}
	return &AESKeyring{raw: raw, key: key}, nil
}

// checkNames refuses an empty Namespace or Name of the options named
// opts; the raw keyring checks the rest of the two.
func checkNames(opts, namespace, name string) error {
	switch {
	case namespace == "":
		return fmt.Errorf("esdk/pkcs11: %s.Namespace is required (the encrypted data keys' provider id)", opts)
	case name == "":
		return fmt.Errorf("esdk/pkcs11: %s.Name is required (the key name in the encrypted data keys' provider info)", opts)
	}
	return nil
}

// OnEncrypt generates the data key if m has none, then wraps it in the
// token under a fresh random IV.
func (k *AESKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	return k.raw.OnEncrypt(ctx, m)
}

// OnDecrypt unwraps the first of the keyring's encrypted data keys that
// the token authenticates under m's encryption context. Data keys that do
// not authenticate give an error matching keyring.ErrNoMatchingKey, with
// causes that match ErrAuthentication. When the token itself failed on
// one of them the error is a *keyring.UnwrapError instead, which does not
// match it.
func (k *AESKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return tokenFailure(k.raw.OnDecrypt(ctx, m, edks))
}

// Key returns the key in the token.
func (k *AESKeyring) Key() *AESKey { return k.key }

// Shutdown closes the keyring and releases its key, waiting for the
// operations in progress until ctx ends (see [AESKey.Shutdown]).
func (k *AESKeyring) Shutdown(ctx context.Context) error { return k.key.Shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer.
func (k *AESKeyring) Close() error { return k.key.Close() }

// RSAKeyring is a keyring whose private key is an RSA key in a PKCS #11
// token. Data keys are wrapped in Go with the public key read from the
// token and unwrapped in the token. Its encrypted data keys are those of
// [keyring.RawRSA]: a raw RSA keyring with the same names, padding and
// key pair decrypts what it encrypts, and the reverse.
type RSAKeyring struct {
	raw *keyring.RawRSA
	key *RSAKey
}

// RSAKeyringOptions configure an RSA keyring (see [NewRSAKeyring]).
type RSAKeyringOptions struct {
	// Namespace is the provider id of the encrypted data keys. Required;
	// it must not start with "aws-kms".
	Namespace string
	// Name is the encrypted data keys' provider info. Required.
	Name string
	// Padding is the RSA padding. Required: the zero value is not a
	// padding. With PKCS1 the token's own timing decides whether a
	// failed decryption can be told apart from a good one; prefer OAEP.
	Padding keyring.RSAPadding
	// Config says where the RSA private key is: module, token, PIN and
	// key (see [Config] for its own required fields and defaults).
	Config Config
}

// NewRSAKeyring opens the RSA private key that o.Config names (see
// [OpenRSAKey]) and returns a keyring over it with o.Padding. It copies o
// and applies optFns to the copy in order. Namespace, Name, Padding and
// the Config's own required fields are required; the first three are
// checked before the token is opened. It decrypts one test value in the
// token first: a token that cannot do the padding (many do OAEP with
// SHA-1 only) gives an error matching ErrMechanismNotSupported here,
// rather than failed decryptions later. Close the keyring when done.
func NewRSAKeyring(o RSAKeyringOptions, optFns ...func(*RSAKeyringOptions)) (*RSAKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if err := checkNames("RSAKeyringOptions", o.Namespace, o.Name); err != nil {
		return nil, err
	}
	opts, err := decrypterOpts(o.Padding)
	if err != nil {
		return nil, err
	}
	key, err := OpenRSAKey(o.Config)
	if err != nil {
		return nil, err
	}
	if err := key.selfTest(context.Background(), opts); err != nil {
		key.Close()
		return nil, err
	}
	raw, err := keyring.NewRawRSA(keyring.RawRSAOptions{Namespace: o.Namespace, Name: o.Name, Padding: o.Padding, PublicKey: key.pub, PrivateKey: key})
	if err != nil {
		key.Close()
		return nil, err
	}
	return &RSAKeyring{raw: raw, key: key}, nil
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
	if padding == 0 {
		return nil, errors.New("esdk/pkcs11: RSAKeyringOptions.Padding is required (PKCS1 or one of the OAEP paddings)")
	}
	return nil, fmt.Errorf("esdk/pkcs11: RSAKeyringOptions.Padding: unknown RSA padding %v", padding)
}

// OnEncrypt generates the data key if m has none, then wraps it with the
// public key. It fails after Close, like decryption.
func (k *RSAKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return k.raw.OnEncrypt(ctx, m)
}

// OnDecrypt unwraps the first of the keyring's encrypted data keys that
// decrypts in the token. When none does the error matches
// keyring.ErrNoMatchingKey, or is a *keyring.UnwrapError, which does not,
// when the token itself failed on one of them.
func (k *RSAKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.key.desc)
	}
	return tokenFailure(k.raw.OnDecrypt(ctx, m, edks))
}

// tokenFailure turns a "no matching key" error with a cause that is a
// failure of the token into a *keyring.UnwrapError, which does not match
// keyring.ErrNoMatchingKey: a failing HSM is not reported as a message
// that is not for these keys, or was tampered with.
func tokenFailure(err error) error {
	var nm *keyring.NoMatchingKeyError
	if !errors.As(err, &nm) {
		return err
	}
	failed := false
	causes := make([]error, len(nm.Causes))
	for i, c := range nm.Causes {
		causes[i] = c
		if !tokenFailed(c) {
			continue
		}
		failed = true
		// The RSA keyring keeps why a key did not decrypt out of the
		// cause's text; a failing token is no secret, so say it.
		if root := rootFailure(c); !strings.Contains(c.Error(), root.Error()) {
			causes[i] = fmt.Errorf("%w: %v", c, root)
		}
	}
	if !failed {
		return err
	}
	return &keyring.UnwrapError{Keyring: nm.Keyring, Causes: causes}
}

// tokenFailed reports whether err, the cause of a data key not
// unwrapping, was the token failing rather than refusing the data key:
// ErrClosed, or a PKCS #11 error that refused does not count as a
// refusal (a failed C_DecryptInit, a lost session, login, token or key).
// An error without a PKCS #11 code (an AES-GCM tag too short, a data key
// of the wrong length) is the data key's fault.
func tokenFailed(err error) bool {
	if errors.Is(err, ErrClosed) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && !refused(err)
}

// rootFailure returns the error of the key in err, which names the key
// once, or else the error of a lost key handle in err, or the PKCS #11
// error in err, or err.
func rootFailure(err error) error {
	var ke *keyError
	if errors.As(err, &ke) {
		return ke
	}
	var he *handleError
	if errors.As(err, &he) {
		return he
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrClosed) {
		return ErrClosed
	}
	return err
}

// Key returns the key in the token.
func (k *RSAKeyring) Key() *RSAKey { return k.key }

// Shutdown closes the keyring and releases its key, waiting for the
// operations in progress until ctx ends (see [RSAKey.Shutdown]).
func (k *RSAKeyring) Shutdown(ctx context.Context) error { return k.key.Shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer.
func (k *RSAKeyring) Close() error { return k.key.Close() }
