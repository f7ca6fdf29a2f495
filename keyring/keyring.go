// Package keyring wraps and unwraps the data keys of ESDK messages.
//
// A [Keyring] takes encryption materials and adds to them: the generator
// keyring makes the plaintext data key, every keyring wraps it into an
// encrypted data key. On decryption a keyring looks through the message's
// encrypted data keys for one it can unwrap. A keyring that finds none of
// its own returns an error that matches [ErrNoMatchingKey] (a
// [*NoMatchingKeyError] with the reasons); any other error is a real
// failure, such as an [*UnwrapError] when its key provider failed. The
// errors section of the conventions below says which error is which.
//
// The raw keyrings work over key handles as well as keys in memory: an
// [AESWrappingKey] for raw AES ([RawAESOptions].KeyHandle), a
// crypto.Decrypter for raw RSA ([RawRSAOptions].PrivateKey), so that keys
// in an HSM or a key service use the same wire formats.
//
// The raw ECDH keyring ([RawECDH]) wraps data keys with a key the sender
// and the recipient agree on with elliptic-curve Diffie-Hellman over
// P-256, P-384 or P-521 (crypto/ecdh), in the wire format of the other
// ESDKs. Its key agreement schema is a field of [RawECDHOptions], and the
// keys are fields named by whose they are (SenderPrivateKey,
// RecipientPublicKey, RecipientPrivateKey), so that a key given to a
// schema that does not use it is an error rather than a key silently
// taken for another party's. The curve is required, as the specification
// asks, and every key is checked against it. Where the specification
// leaves a choice the keyring does what the other ESDKs do: a static
// keyring also decrypts what the other party encrypted back to it with the
// two keys the other way round, and the encrypted data keys of AWS KMS
// ECDH keyrings are read as its own. Keyrings whose private key is
// elsewhere (in AWS KMS, in an HSM) compute the shared secret there and
// share the wire format through [WrapECDH] and [UnwrapECDH]; the shared
// secret being computed by the key's provider, UnwrapECDH reports its
// failure as an [*UnwrapError].
//
// # Conventions
//
// The public API of every package of this module is shaped one way, and
// new keyrings follow it:
//
//   - A constructor takes its settings as one struct value followed by
//     functions that adjust a copy of it, as aws-sdk-go-v2's kms.New does:
//     NewRawAES(o RawAESOptions, optFns ...func(*RawAESOptions)). It
//     copies o, applies the functions in order, fills defaults for zero
//     fields, then validates; a required field that is missing or bad is
//     an error that names the field. Each constructor's doc says which
//     fields are required and what each zero value means. The struct is
//     named <Type>Options (RawAESOptions, cache.ManagerOptions), or
//     Options in a package whose only configurable type is its client
//     (envelope.Options).
//   - A constructor whose every setting has a default takes the functions
//     only (envelope.New). One whose only input is a single required value
//     of a distinct interface type takes that value alone
//     (envelope.NewDefaultManager).
//   - Options of one call are ...func(*<Call>Options), and a field set
//     often has a function that returns such a function
//     (envelope.WithPlaintextLength).
//   - A value that several constructors share and that says where
//     something is (a pkcs11.Config, a kmsprovider.DiscoveryFilter) is a
//     plain struct named for what it is, carried as a field of the
//     options.
//   - Keyring types are named <Kind>Keyring (pkcs11.AESKeyring,
//     kmsprovider.RSAKeyring), except in this package, whose name already
//     says it ([RawAES], [RawRSA], [RawECDH], [Multi]). Constructors are
//     New<Type>, or New for a package's main type (envelope.New for its
//     Client, cache.New for its Cache); statistics types are <Type>Stats
//     (cache.ManagerStats).
//   - Error strings start with "esdk/<package name>: " ("esdk/keyring: ",
//     "esdk/kmsprovider: "); package envelope, the front door, says
//     "esdk: ". Sentinel errors are Err... variables matched with
//     errors.Is; typed errors are pointers with an Unwrap method, matched
//     with errors.As.
//
// # Conventions of keyring errors
//
// Every keyring says what went wrong in OnDecrypt with one vocabulary, so
// that callers (a multi-keyring, a materials manager, envelope's Decrypt,
// which reports a no-match as an authentication failure) can tell a
// message that is not for these keys from a provider that is down:
//
//   - None of these is mine: a [*NoMatchingKeyError] with the keyring's
//     description in Keyring and, in Causes, why each of its own
//     encrypted data keys did not unwrap (none was its own; the key
//     refused it: a tag, digest or ciphertext that does not verify, such
//     as KMS's InvalidCiphertextException). It matches
//     [ErrNoMatchingKey]. Nothing in it may be a failure of the provider.
//   - The key provider failed (a key service throttled past its
//     client's retries, access denied, a key disabled or deleted, an
//     endpoint out of reach, an HSM session or login lost): an
//     [*UnwrapError], with the keyring's description in Keyring and the
//     error of every encrypted data key tried in Causes, where errors.As
//     finds the provider's own error. A keyring returns it instead of a
//     NoMatchingKeyError as soon as one of its causes is such a failure;
//     it never matches ErrNoMatchingKey. The raw keyrings take every
//     error of a key handle as a refusal of that data key; a keyring
//     built on a handle whose provider can fail (package pkcs11's) turns
//     those failures into an UnwrapError.
//   - A configuration error (the keyring cannot do this at all, whatever
//     the message: [ErrEncryptOnly], [ErrDecryptOnly], a suite the
//     keyring refuses, an identifier that can never match): the
//     package's sentinel, wrapped with fmt.Errorf("%w: ...") by a text
//     that says what to change, returned before any key is tried or any
//     provider called. It never matches ErrNoMatchingKey. Constructors
//     refuse what they can see is wrong, naming the option field.
//   - The context ended: return at once, with an error that matches
//     ctx.Err() and not ErrNoMatchingKey.
//   - Materials that already hold a data key: [ErrDataKeyAlreadySet].
//
// A [*MultiError] follows the same rule over its keyrings: it matches
// ErrNoMatchingKey only when every keyring's error does, and otherwise
// exposes to errors.Is and errors.As only the real failures; its text
// shows every keyring's error. So, anywhere in a tree of keyrings,
// errors.Is(err, ErrNoMatchingKey) means "nothing failed, and nothing
// here holds a key for this message".
package keyring

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/go-esdk/esdk/format"
)

// Keyring wraps data keys on encryption and unwraps them on decryption.
// Implementations must be safe for concurrent use.
type Keyring interface {
	// OnEncrypt adds to m: when m has no plaintext data key it generates
	// one (the keyring acts as a generator), then it appends one or more
	// encrypted data keys that wrap m.PlaintextDataKey. On error m may be
	// partly changed and must be discarded.
	OnEncrypt(ctx context.Context, m *EncryptionMaterials) error
	// OnDecrypt sets m.PlaintextDataKey from the first of edks it can
	// unwrap. It returns an error matching ErrNoMatchingKey (usually a
	// *NoMatchingKeyError) when none of them is its own or its key
	// refuses each of its own, an *UnwrapError when its key provider
	// failed, and one matching ErrDataKeyAlreadySet when m already has a
	// data key (see the errors section of the package documentation). On
	// error m.PlaintextDataKey stays unset.
	OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error
}

// EncryptionMaterials carry everything needed to encrypt one message.
type EncryptionMaterials struct {
	Suite *format.Suite
	// EncryptionContext is the whole context, required keys included,
	// and aws-crypto-public-key for signed suites.
	EncryptionContext map[string]string
	// RequiredEncryptionContextKeys are authenticated but not stored in
	// the message header.
	RequiredEncryptionContextKeys []string
	PlaintextDataKey              []byte
	EncryptedDataKeys             []format.EncryptedDataKey
	// SigningKey is set for signed suites.
	SigningKey *ecdsa.PrivateKey
}

// DecryptionMaterials carry everything needed to decrypt one message.
type DecryptionMaterials struct {
	Suite *format.Suite
	// EncryptionContext is the header's context plus any required keys
	// supplied again by the caller.
	EncryptionContext             map[string]string
	RequiredEncryptionContextKeys []string
	PlaintextDataKey              []byte
	// VerificationKey is set for signed suites.
	VerificationKey *ecdsa.PublicKey
}

// Clone returns a deep copy of m: its maps, slices and encrypted data keys
// are copied, so the copy and m can be changed apart. The suite and the
// signing key are shared; they are read-only. Clone of nil is nil.
func (m *EncryptionMaterials) Clone() *EncryptionMaterials {
	if m == nil {
		return nil
	}
	c := *m
	c.EncryptionContext = maps.Clone(m.EncryptionContext)
	c.RequiredEncryptionContextKeys = slices.Clone(m.RequiredEncryptionContextKeys)
	c.PlaintextDataKey = bytes.Clone(m.PlaintextDataKey)
	c.EncryptedDataKeys = format.CloneEncryptedDataKeys(m.EncryptedDataKeys)
	return &c
}

// Clone returns a deep copy of m: its maps and slices are copied, so the
// copy and m can be changed apart. The suite and the verification key are
// shared; they are read-only. Clone of nil is nil.
func (m *DecryptionMaterials) Clone() *DecryptionMaterials {
	if m == nil {
		return nil
	}
	c := *m
	c.EncryptionContext = maps.Clone(m.EncryptionContext)
	c.RequiredEncryptionContextKeys = slices.Clone(m.RequiredEncryptionContextKeys)
	c.PlaintextDataKey = bytes.Clone(m.PlaintextDataKey)
	return &c
}

// GenerateDataKey fills m.PlaintextDataKey with fresh random bytes of the
// suite's key length. Keyrings that are generators call it.
func GenerateDataKey(m *EncryptionMaterials) error {
	if m.PlaintextDataKey != nil {
		return nil
	}
	if m.Suite == nil {
		return errNoSuite
	}
	k := make([]byte, m.Suite.KeyLength())
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("esdk/keyring: generating a data key: %w", err)
	}
	m.PlaintextDataKey = k
	return nil
}

// CheckDataKey reports whether key has the right length for suite.
func CheckDataKey(suite *format.Suite, key []byte) error {
	if suite == nil {
		return errNoSuite
	}
	if len(key) != suite.KeyLength() {
		return fmt.Errorf("esdk/keyring: data key is %d bytes, suite %s needs %d", len(key), suite.ID(), suite.KeyLength())
	}
	return nil
}

var errNoSuite = errors.New("esdk/keyring: the materials have no algorithm suite")
