package envelope_test

import (
	"crypto/ecdh"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// vectorRawECDHKeyring builds the raw ECDH keyring a version 5 test
// describes, as the recipient holds it: for the discovery schema, the
// recipient's private key; for the static schema, the recipient's private
// key with the sender's public key (the sender's keyring with the two keys
// the other way round, which reads the same messages). Anything the
// description names that is not in the keys manifest, or not what a raw
// ECDH key pair holds, is an error and not a skip: every raw ECDH vector
// must run.
func vectorRawECDHKeyring(set *testvectors.Set, d testvectors.KeyDescription) (keyring.Keyring, error) {
	curve, bits, ok := vectorCurve(d.Curve)
	if !ok {
		return nil, fmt.Errorf("raw-ecdh: curve %q is not known (want ecc-256, ecc-384 or ecc-521)", d.Curve)
	}
	recipient, err := vectorECCKey(set, d.Recipient, bits)
	if err != nil {
		return nil, fmt.Errorf("raw-ecdh: recipient: %w", err)
	}
	recipientPub, err := vectorPublicKey(recipient, d.RecipientPublicKey)
	if err != nil {
		return nil, fmt.Errorf("raw-ecdh: recipient %q: %w", d.Recipient, err)
	}
	o := keyring.RawECDHOptions{Curve: curve}
	switch d.Schema {
	case "discovery":
		if d.Sender != "discovery" || d.SenderPublicKey != "discovery" {
			return nil, fmt.Errorf("raw-ecdh: discovery schema with sender %q (%q), want \"discovery\"", d.Sender, d.SenderPublicKey)
		}
		o.Schema = keyring.PublicKeyDiscovery
		o.RecipientPrivateKey = []byte(recipient.RecipientMaterial)
	case "static":
		sender, err := vectorECCKey(set, d.Sender, bits)
		if err != nil {
			return nil, fmt.Errorf("raw-ecdh: sender: %w", err)
		}
		senderPub, err := vectorPublicKey(sender, d.SenderPublicKey)
		if err != nil {
			return nil, fmt.Errorf("raw-ecdh: sender %q: %w", d.Sender, err)
		}
		o.Schema = keyring.RawPrivateKeyToStaticPublicKey
		o.SenderPrivateKey = []byte(recipient.RecipientMaterial)
		o.RecipientPublicKey = senderPub
	default:
		return nil, fmt.Errorf("raw-ecdh: schema %q is not known (want static or discovery)", d.Schema)
	}
	kr, err := keyring.NewRawECDH(o)
	if err != nil {
		return nil, fmt.Errorf("raw-ecdh: %w", err)
	}
	// The manifest gives the recipient's public key too: it must be the
	// one of the private key the keyring holds.
	want, err := keyring.ParseECDHPublicKey(curve, recipientPub)
	if err != nil {
		return nil, fmt.Errorf("raw-ecdh: recipient %q public key: %w", d.Recipient, err)
	}
	if !kr.PublicKey().Equal(want) {
		return nil, fmt.Errorf("raw-ecdh: recipient %q: the public key does not belong to the private key", d.Recipient)
	}
	return kr, nil
}

func vectorCurve(name string) (ecdh.Curve, int, bool) {
	switch name {
	case "ecc-256":
		return ecdh.P256(), 256, true
	case "ecc-384":
		return ecdh.P384(), 384, true
	case "ecc-521":
		return ecdh.P521(), 521, true
	}
	return nil, 0, false
}

// vectorECCKey returns the keys manifest entry name, which must be an ECDH
// key pair of the curve's size that may decrypt.
func vectorECCKey(set *testvectors.Set, name string, bits int) (testvectors.Key, error) {
	k, ok := set.Keys[name]
	switch {
	case !ok:
		return k, fmt.Errorf("key %q is not in the keys manifest", name)
	case k.Type != "ecc-private" || k.Algorithm != "ecdh":
		return k, fmt.Errorf("key %q is a %s %s key, want an ecc-private ecdh key", name, k.Type, k.Algorithm)
	case k.Bits != bits:
		return k, fmt.Errorf("key %q is %d bits, the curve %d", name, k.Bits, bits)
	case k.Encoding != "pem" || k.PublicKeyEncoding != "base64-der":
		return k, fmt.Errorf("key %q is encoded %q with public keys %q, want pem and base64-der", name, k.Encoding, k.PublicKeyEncoding)
	case !k.Decrypt:
		return k, fmt.Errorf("key %q may not decrypt", name)
	}
	return k, nil
}

// vectorPublicKey returns the DER public key in the field of k.
func vectorPublicKey(k testvectors.Key, field string) ([]byte, error) {
	v, ok := k.Field(field)
	if !ok || v == "" {
		return nil, fmt.Errorf("no public key in field %q", field)
	}
	der, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("public key in field %q: %w", field, err)
	}
	if len(der) == 0 {
		return nil, errors.New("empty public key")
	}
	return der, nil
}
