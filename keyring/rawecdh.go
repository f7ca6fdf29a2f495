package keyring

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/go-esdk/esdk/format"
)

// ECDHSchema is the key agreement schema of a raw ECDH keyring: which of
// the two parties' private keys it holds, as the ESDK specification names
// them. The zero value is not a schema.
type ECDHSchema int

const (
	// RawPrivateKeyToStaticPublicKey holds the sender's static private
	// key and the recipient's public key. It encrypts to the recipient
	// and decrypts what it encrypted, and what the recipient encrypted
	// back to it with the two keys the other way round (the shared secret
	// is the same).
	RawPrivateKeyToStaticPublicKey ECDHSchema = iota + 1
	// EphemeralPrivateKeyToStaticPublicKey holds the recipient's public
	// key only. Each data key is wrapped with a fresh key pair, whose
	// private key is dropped at once, so it encrypts but cannot decrypt,
	// not even its own messages: many senders can encrypt to one
	// recipient who alone decrypts.
	EphemeralPrivateKeyToStaticPublicKey
	// PublicKeyDiscovery holds the recipient's private key. It decrypts
	// every message wrapped for its public key, from any sender, and
	// cannot encrypt.
	PublicKeyDiscovery
)

func (s ECDHSchema) String() string {
	switch s {
	case RawPrivateKeyToStaticPublicKey:
		return "RawPrivateKeyToStaticPublicKey"
	case EphemeralPrivateKeyToStaticPublicKey:
		return "EphemeralPrivateKeyToStaticPublicKey"
	case PublicKeyDiscovery:
		return "PublicKeyDiscovery"
	}
	return fmt.Sprintf("ECDHSchema(%d)", int(s))
}

// RawECDHOptions configure a raw ECDH keyring (see [NewRawECDH]). Schema
// and Curve are required; the keys are named by whose they are, and each
// schema takes exactly the keys its description lists: a missing one, or
// one the schema does not use, is an error that names the field.
type RawECDHOptions struct {
	// Schema is the key agreement schema. Required.
	Schema ECDHSchema
	// Curve is ecdh.P256(), ecdh.P384() or ecdh.P521(). Required; every
	// key must be on it.
	Curve ecdh.Curve

	// SenderPrivateKey is the sender's static private key, PEM-encoded
	// PKCS #8 ("PRIVATE KEY"): RawPrivateKeyToStaticPublicKey only.
	SenderPrivateKey []byte
	// RecipientPublicKey is the recipient's public key, a DER-encoded
	// X.509 SubjectPublicKeyInfo (what AWS KMS GetPublicKey returns, and
	// x509.MarshalPKIXPublicKey): RawPrivateKeyToStaticPublicKey and
	// EphemeralPrivateKeyToStaticPublicKey.
	RecipientPublicKey []byte
	// RecipientPrivateKey is the recipient's static private key,
	// PEM-encoded PKCS #8: PublicKeyDiscovery only.
	RecipientPrivateKey []byte
}

// RawECDH wraps data keys with a key that the sender and the recipient
// agree on with elliptic-curve Diffie-Hellman, in the wire format of the
// raw ECDH keyrings of the other ESDK implementations: neither side ever
// sends a wrapping secret, and the recipient shares only its public key.
//
// For every data key it wraps, the keyring computes the ECDH shared secret
// of the sender's private key and the recipient's public key, derives a
// commitment key and a one-time AES-256 wrapping key from it with a fresh
// 32-byte salt, the curve, both public keys and the encryption context
// (the counter-mode KDF of NIST SP 800-108 with HMAC-SHA384), and wraps
// the data key with AES-256-GCM, the same fixed information as AAD. The
// encrypted data key's provider id is "raw-ecdh"; its provider info holds
// both public keys, compressed. On decryption the keyring tries only the
// encrypted data keys whose public keys are its own, checks the
// commitment key in constant time before unwrapping, and reads the
// encrypted data keys of AWS KMS ECDH keyrings ("aws-kms-ecdh") too.
//
// Shared secrets and derived keys are cleared as soon as they have been
// used; Go's AES key schedule and HMAC state, and a private key parsed
// into crypto/ecdh, are beyond reach.
type RawECDH struct {
	schema ECDHSchema
	curve  *ecdhCurve
	priv   *ecdh.PrivateKey // the sender's (static) or the recipient's (discovery); nil for ephemeral
	own    *ecdh.PublicKey  // priv's public key
	peer   *ecdh.PublicKey  // the recipient's public key (static, ephemeral)
	desc   string
}

var _ Keyring = (*RawECDH)(nil)

// NewRawECDH returns a raw ECDH keyring. It copies o and applies optFns to
// the copy in order, then checks it: the schema's keys must parse, be on
// Curve and not be the identity. There are no defaults.
//
//	kr, err := keyring.NewRawECDH(keyring.RawECDHOptions{
//		Schema:              keyring.PublicKeyDiscovery,
//		Curve:               ecdh.P384(),
//		RecipientPrivateKey: pemBytes,
//	})
func NewRawECDH(o RawECDHOptions, optFns ...func(*RawECDHOptions)) (*RawECDH, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Curve == nil {
		return nil, errors.New("esdk/keyring: RawECDHOptions.Curve is required (ecdh.P256(), ecdh.P384() or ecdh.P521())")
	}
	c, err := lookupCurve(o.Curve)
	if err != nil {
		return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.Curve: %w", err)
	}
	k := &RawECDH{schema: o.Schema, curve: c, desc: fmt.Sprintf("raw ECDH %s %v", c.name, o.Schema)}

	// want says which keys the schema takes.
	var want struct{ senderPriv, recipientPub, recipientPriv bool }
	switch o.Schema {
	case RawPrivateKeyToStaticPublicKey:
		want.senderPriv, want.recipientPub = true, true
	case EphemeralPrivateKeyToStaticPublicKey:
		want.recipientPub = true
	case PublicKeyDiscovery:
		want.recipientPriv = true
	case 0:
		return nil, errors.New("esdk/keyring: RawECDHOptions.Schema is required (RawPrivateKeyToStaticPublicKey, EphemeralPrivateKeyToStaticPublicKey or PublicKeyDiscovery)")
	default:
		return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.Schema: unknown schema %v", o.Schema)
	}
	for _, f := range []struct {
		name      string
		set, want bool
	}{
		{"SenderPrivateKey", o.SenderPrivateKey != nil, want.senderPriv},
		{"RecipientPublicKey", o.RecipientPublicKey != nil, want.recipientPub},
		{"RecipientPrivateKey", o.RecipientPrivateKey != nil, want.recipientPriv},
	} {
		switch {
		case f.want && !f.set:
			return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.%s is required by %v", f.name, o.Schema)
		case f.set && !f.want:
			return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.%s is not used by %v; leave it unset", f.name, o.Schema)
		}
	}
	if want.recipientPub {
		if k.peer, err = c.parsePublicKey(o.RecipientPublicKey); err != nil {
			return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.RecipientPublicKey: %w", err)
		}
	}
	switch {
	case want.senderPriv:
		if k.priv, err = c.parsePrivateKeyPEM(o.SenderPrivateKey); err != nil {
			return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.SenderPrivateKey: %w", err)
		}
	case want.recipientPriv:
		if k.priv, err = c.parsePrivateKeyPEM(o.RecipientPrivateKey); err != nil {
			return nil, fmt.Errorf("esdk/keyring: RawECDHOptions.RecipientPrivateKey: %w", err)
		}
	}
	if k.priv != nil {
		k.own = k.priv.PublicKey()
	}
	return k, nil
}

// parsePrivateKeyPEM parses one PEM block of a PKCS #8 private key on the
// curve.
func (c *ecdhCurve) parsePrivateKeyPEM(data []byte) (*ecdh.PrivateKey, error) {
	block, rest := pem.Decode(data)
	switch {
	case block == nil:
		return nil, errors.New("no PEM block found; want a PEM-encoded PKCS #8 private key (\"PRIVATE KEY\")")
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, errors.New("data after the PEM block; want exactly one private key")
	case len(block.Headers) != 0:
		return nil, errors.New("PEM block has headers; encrypted PEM is not supported")
	case block.Type != "PRIVATE KEY":
		return nil, fmt.Errorf("PEM block is %q; want a PKCS #8 \"PRIVATE KEY\"", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the PKCS #8 private key: %w", err)
	}
	var priv *ecdh.PrivateKey
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if priv, err = k.ECDH(); err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
	case *ecdh.PrivateKey:
		priv = k
	default:
		return nil, fmt.Errorf("private key is a %T, not an elliptic-curve key", k)
	}
	if priv.Curve() != c.curve {
		return nil, fmt.Errorf("private key is on %s, not %s", curveName(priv.Curve()), c.name)
	}
	return priv, nil
}

// Schema returns the keyring's key agreement schema.
func (k *RawECDH) Schema() ECDHSchema { return k.schema }

// PublicKey returns the public key of the keyring's private key: the
// sender's (RawPrivateKeyToStaticPublicKey) or the recipient's
// (PublicKeyDiscovery), which is the key to give the other party. It is
// nil for EphemeralPrivateKeyToStaticPublicKey.
func (k *RawECDH) PublicKey() *ecdh.PublicKey { return k.own }

// OnEncrypt generates the data key if m has none, then appends an
// encrypted data key that wraps it for the recipient. A PublicKeyDiscovery
// keyring returns an error matching [ErrDecryptOnly] and leaves m
// unchanged.
func (k *RawECDH) OnEncrypt(_ context.Context, m *EncryptionMaterials) error {
	priv := k.priv
	switch k.schema {
	case PublicKeyDiscovery:
		return fmt.Errorf("%w: %s holds the recipient's private key and no recipient to encrypt to", ErrDecryptOnly, k.desc)
	case EphemeralPrivateKeyToStaticPublicKey:
		var err error
		if priv, err = k.curve.curve.GenerateKey(rand.Reader); err != nil {
			return fmt.Errorf("esdk/keyring: %s: generating the ephemeral key pair: %w", k.desc, err)
		}
	}
	z, err := priv.ECDH(k.peer)
	if err != nil {
		return fmt.Errorf("esdk/keyring: %s: %w", k.desc, err)
	}
	return WrapECDH(m, RawECDHProviderID, priv.PublicKey(), k.peer, z)
}

// OnDecrypt sets m.PlaintextDataKey from the first encrypted data key
// exchanged between this keyring's public keys (RawPrivateKeyToStaticPublicKey:
// its sender and recipient keys, either way round; PublicKeyDiscovery: its
// recipient key, from any sender) that unwraps under m's encryption
// context. Other encrypted data keys are not tried. An
// EphemeralPrivateKeyToStaticPublicKey keyring returns an error matching
// [ErrEncryptOnly].
func (k *RawECDH) OnDecrypt(ctx context.Context, m *DecryptionMaterials, edks []format.EncryptedDataKey) error {
	if k.schema == EphemeralPrivateKeyToStaticPublicKey {
		if m.PlaintextDataKey != nil {
			return ErrDataKeyAlreadySet
		}
		return fmt.Errorf("%w: %s drops every ephemeral private key and cannot decrypt", ErrEncryptOnly, k.desc)
	}
	p := ECDHParty{Keyring: k.desc, Own: k.own, SharedSecret: k.sharedSecret}
	if k.schema == RawPrivateKeyToStaticPublicKey {
		p.Peer = k.peer
	}
	return UnwrapECDH(ctx, m, edks, p)
}

func (k *RawECDH) sharedSecret(_ context.Context, peer *ecdh.PublicKey) ([]byte, error) {
	return k.priv.ECDH(peer)
}
