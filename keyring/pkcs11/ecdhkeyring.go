//go:build cgo

package pkcs11

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"io"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var (
	_ keyring.Keyring = (*ECDHKeyring)(nil)
	_ io.Closer       = (*ECDHKeyring)(nil)
	_ io.Closer       = (*ECDHKey)(nil)
)

// ECDHSchema is the key agreement schema of an ECDH keyring over a key in
// a token: whose private key the token holds. The zero value is not a
// schema.
type ECDHSchema int

const (
	// HSMPrivateKeyToStaticPublicKey: the token's key is the sender's,
	// and the recipient's public key is given. The keyring encrypts to
	// the recipient and decrypts the messages exchanged between the two
	// keys in either direction, as the raw ECDH keyring's
	// RawPrivateKeyToStaticPublicKey does.
	HSMPrivateKeyToStaticPublicKey ECDHSchema = iota + 1
	// HSMPublicKeyDiscovery: the token's key is the recipient's. The
	// keyring decrypts every message wrapped for its public key, from any
	// sender, and cannot encrypt, as the raw ECDH keyring's
	// PublicKeyDiscovery does.
	HSMPublicKeyDiscovery
)

func (s ECDHSchema) String() string {
	switch s {
	case HSMPrivateKeyToStaticPublicKey:
		return "HSMPrivateKeyToStaticPublicKey"
	case HSMPublicKeyDiscovery:
		return "HSMPublicKeyDiscovery"
	}
	return fmt.Sprintf("ECDHSchema(%d)", int(s))
}

// ECDHKeyringOptions configure an ECDH keyring over a key in a token (see
// [NewECDHKeyring]). Schema, Curve and Config are required, and
// RecipientPublicKey for HSMPrivateKeyToStaticPublicKey; it is an error
// for HSMPublicKeyDiscovery.
type ECDHKeyringOptions struct {
	// Schema is the key agreement schema. Required.
	Schema ECDHSchema
	// Curve is ecdh.P256(), ecdh.P384() or ecdh.P521(): the curve of the
	// key in the token and of every public key. Required, as the ESDK
	// specification asks of ECDH keyrings; a key in the token on another
	// curve is an error.
	Curve ecdh.Curve
	// RecipientPublicKey is the recipient's public key, a DER-encoded
	// X.509 SubjectPublicKeyInfo (x509.MarshalPKIXPublicKey, what AWS KMS
	// GetPublicKey returns): HSMPrivateKeyToStaticPublicKey only.
	RecipientPublicKey []byte
	// Config says where the EC private key is: module, token, PIN and key
	// (see [Config] for its own required fields and defaults).
	Config Config
}

// ECDHKeyring is an ECDH keyring whose private key stays in a PKCS #11
// token: the raw ECDH keyring's wire format (keyring.WrapECDH and
// keyring.UnwrapECDH) over shared secrets that the token computes with
// CKM_ECDH1_DERIVE (see [ECDHKey] for how). Its encrypted data keys have
// the provider id "raw-ecdh" (keyring.RawECDHProviderID): a raw ECDH
// keyring (keyring.RawECDH) with the matching keys reads them, and it
// reads theirs and those of the AWS KMS ECDH keyrings. It makes one
// derivation in the token per data key it wraps, and one per encrypted
// data key of its own public keys that it tries; the encrypted data keys
// of other public keys cost none.
type ECDHKeyring struct {
	schema ECDHSchema
	key    *ECDHKey
	peer   *ecdh.PublicKey // the recipient's (static); nil for discovery
	desc   string
}

// NewECDHKeyring opens the EC private key that o.Config names (see
// [OpenECDHKey], which checks it with one derivation in the token) and
// returns an ECDH keyring over it. It copies o and applies optFns to the
// copy in order. Schema, Curve, the RecipientPublicKey of
// HSMPrivateKeyToStaticPublicKey (on Curve, not the identity) and the
// Config's own required fields are required; all but the Config's are
// checked before the token is opened. There are no defaults. Close the
// keyring when done.
//
//	kr, err := pkcs11.NewECDHKeyring(pkcs11.ECDHKeyringOptions{
//		Schema: pkcs11.HSMPublicKeyDiscovery,
//		Curve:  ecdh.P384(),
//		Config: cfg,
//	})
func NewECDHKeyring(o ECDHKeyringOptions, optFns ...func(*ECDHKeyringOptions)) (*ECDHKeyring, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Curve == nil {
		return nil, errors.New("esdk/pkcs11: ECDHKeyringOptions.Curve is required (ecdh.P256(), ecdh.P384() or ecdh.P521())")
	}
	c := lookupCurve(o.Curve)
	if c == nil {
		return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.Curve: curve %v is not supported: want ecdh.P256(), ecdh.P384() or ecdh.P521()", o.Curve)
	}
	k := &ECDHKeyring{schema: o.Schema}
	switch o.Schema {
	case HSMPrivateKeyToStaticPublicKey:
		if o.RecipientPublicKey == nil {
			return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.RecipientPublicKey is required by %v", o.Schema)
		}
		pub, err := keyring.ParseECDHPublicKey(o.Curve, o.RecipientPublicKey)
		if err != nil {
			return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.RecipientPublicKey: %w", err)
		}
		k.peer = pub
	case HSMPublicKeyDiscovery:
		if o.RecipientPublicKey != nil {
			return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.RecipientPublicKey is not used by %v (the token's key is the recipient's, and any sender's key is read from the message); leave it unset", o.Schema)
		}
	case 0:
		return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.Schema is required (%v or %v)", HSMPrivateKeyToStaticPublicKey, HSMPublicKeyDiscovery)
	default:
		return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.Schema: unknown schema %v", o.Schema)
	}
	key, err := OpenECDHKey(o.Config)
	if err != nil {
		return nil, err
	}
	if key.curve != c {
		key.Close()
		return nil, fmt.Errorf("esdk/pkcs11: ECDHKeyringOptions.Curve is %s, but %s is on %s", c.name, key.desc, key.curve.name)
	}
	k.key = key
	k.desc = fmt.Sprintf("PKCS #11 ECDH keyring %v over %s", o.Schema, key.desc)
	return k, nil
}

// Schema returns the keyring's key agreement schema.
func (k *ECDHKeyring) Schema() ECDHSchema { return k.schema }

// PublicKey returns the public key of the token's key: the sender's
// (HSMPrivateKeyToStaticPublicKey) or the recipient's
// (HSMPublicKeyDiscovery), which is the key to give the other party.
func (k *ECDHKeyring) PublicKey() *ecdh.PublicKey { return k.key.pub }

// Key returns the key in the token.
func (k *ECDHKeyring) Key() *ECDHKey { return k.key }

// String describes the keyring.
func (k *ECDHKeyring) String() string { return k.desc }

// OnEncrypt generates the data key if m has none, computes the shared
// secret of the token's key and the recipient's public key in the token,
// and appends an encrypted data key that wraps the data key under a key
// derived from it. An HSMPublicKeyDiscovery keyring returns an error
// matching keyring.ErrDecryptOnly. On error m is unchanged.
func (k *ECDHKeyring) OnEncrypt(ctx context.Context, m *keyring.EncryptionMaterials) error {
	if k.schema == HSMPublicKeyDiscovery {
		return fmt.Errorf("%w: %s holds the recipient's private key and no recipient to encrypt to", keyring.ErrDecryptOnly, k.desc)
	}
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.desc)
	}
	if m.Suite == nil {
		return fmt.Errorf("esdk/pkcs11: %s: the encryption materials have no algorithm suite", k.desc)
	}
	if m.PlaintextDataKey != nil {
		if err := keyring.CheckDataKey(m.Suite, m.PlaintextDataKey); err != nil {
			return err
		}
	}
	z, err := k.key.SharedSecret(ctx, k.peer)
	if err != nil {
		return err
	}
	return keyring.WrapECDH(m, keyring.RawECDHProviderID, k.key.pub, k.peer, z)
}

// OnDecrypt sets m.PlaintextDataKey from the first encrypted data key,
// of an ECDH keyring of any kind, exchanged between this keyring's public
// keys (HSMPrivateKeyToStaticPublicKey: the token's key and the
// recipient's, either way round; HSMPublicKeyDiscovery: the token's key as
// recipient, from any sender), deriving a shared secret in the token for
// each one it tries. Other encrypted data keys are not tried. When none
// unwraps the error matches keyring.ErrNoMatchingKey; when the token
// failed on one of them (a refused step, a lost session or login) it is a
// *keyring.UnwrapError instead, which does not.
func (k *ECDHKeyring) OnDecrypt(ctx context.Context, m *keyring.DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.key.tok.pool.isClosed() {
		return fmt.Errorf("%w (%s)", ErrClosed, k.desc)
	}
	// The keyring's name says the key's: the shared secret's errors do
	// not say it again.
	p := keyring.ECDHParty{Keyring: k.desc, Own: k.key.pub, Peer: k.peer, SharedSecret: k.key.sharedSecret}
	return keyring.UnwrapECDH(ctx, m, edks, p)
}

// Shutdown closes the keyring and releases its key, waiting for the
// operations in progress until ctx ends (see [ECDHKey.Shutdown]).
func (k *ECDHKeyring) Shutdown(ctx context.Context) error { return k.key.Shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer.
func (k *ECDHKeyring) Close() error { return k.key.Close() }
