//go:build cgo

package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/keyring/pkcs11"
)

// newPKCS11Keyring opens the keyring of the key a pkcs11: URI names: an
// AES key (type=secret-key), an RSA private key (type=private, with
// namespace= and name=) or an elliptic-curve private key for ECDH
// (type=private, without them). The closer ends its sessions and logs
// out.
func newPKCS11Keyring(s pkcs11Spec) (keyring.Keyring, io.Closer, error) {
	cfg, err := pkcs11.ParseURI(s.uri)
	if err != nil {
		return nil, nil, err
	}
	switch cfg.KeyType {
	case "secret-key":
		if s.paddingSet {
			return nil, nil, fmt.Errorf("padding= is for RSA keys (type=private), and this URI names an AES key (type=secret-key)")
		}
		kr, err := pkcs11.NewAESKeyring(pkcs11.AESKeyringOptions{
			Namespace: s.namespace,
			Name:      s.name,
			Config:    cfg,
		})
		if err != nil {
			return nil, nil, err
		}
		return kr, kr, nil
	case "private":
		if s.namespace == "" && s.name == "" {
			return newPKCS11ECDHKeyring(cfg, s)
		}
		kr, err := pkcs11.NewRSAKeyring(pkcs11.RSAKeyringOptions{
			Namespace: s.namespace,
			Name:      s.name,
			Padding:   s.padding,
			Config:    cfg,
		})
		if errors.Is(err, pkcs11.ErrKeyNotFound) && hasECKey(cfg) {
			return nil, nil, fmt.Errorf("%w; the URI names an elliptic-curve private key, for ECDH, which takes no namespace=, name= or padding=: give the URI with peer=THEIR_PUBLIC_KEY_FILE (encrypts and decrypts) or alone (decrypts only)", err)
		}
		if err != nil {
			return nil, nil, err
		}
		return kr, kr, nil
	case "":
		return nil, nil, fmt.Errorf("the URI does not say what key it names: add type=secret-key (an AES key) or type=private (an RSA or elliptic-curve private key) to it")
	}
	return nil, nil, fmt.Errorf("the URI names a key of type=%s: esdk uses AES keys (type=secret-key) and RSA and elliptic-curve private keys (type=private)", cfg.KeyType)
}

// newPKCS11ECDHKeyring opens the ECDH keyring of the elliptic-curve
// private key cfg names: with the peer's public key, the token's key is
// the sender's (HSMPrivateKeyToStaticPublicKey); without, the
// recipient's (HSMPublicKeyDiscovery), which decrypts only. The curve is
// the key's.
func newPKCS11ECDHKeyring(cfg pkcs11.Config, s pkcs11Spec) (keyring.Keyring, io.Closer, error) {
	// Opened first for its curve, which the keyring needs; it stays open
	// until the keyring is, so that the two share one login.
	key, err := pkcs11.OpenECDHKey(cfg)
	if errors.Is(err, pkcs11.ErrKeyNotFound) && hasRSAKey(cfg) {
		return nil, nil, fmt.Errorf("%w; the URI names an RSA private key, which needs namespace= and name=: the key's provider id and name, stored in each message (without them a pkcs11 private key is an elliptic-curve key, for ECDH)", err)
	}
	if err != nil {
		return nil, nil, err
	}
	defer key.Close()
	o := pkcs11.ECDHKeyringOptions{Curve: key.Curve(), Config: cfg}
	switch {
	case s.peer != nil:
		if s.peer.pub.Curve() != key.Curve() {
			return nil, nil, fmt.Errorf("the peer public key %s is on %s and the token's key on %s: both must be on one curve", name(s.peer.path), curveName(s.peer.pub.Curve()), curveName(key.Curve()))
		}
		o.Schema = pkcs11.HSMPrivateKeyToStaticPublicKey
		if o.RecipientPublicKey, err = s.peer.der(); err != nil {
			return nil, nil, err
		}
	case s.cmd == cmdEncrypt:
		return nil, nil, fmt.Errorf("%w: the URI names an elliptic-curve private key and no peer= is given: that is the recipient's key (discovery), which decrypts only; to encrypt, add peer=RECIPIENT.pub.pem (the token's key pair and the recipient's public key), or encrypt to the token key's public key with ecdh=PUBLIC_KEY_FILE", keyring.ErrDecryptOnly)
	default:
		o.Schema = pkcs11.HSMPublicKeyDiscovery
	}
	kr, err := pkcs11.NewECDHKeyring(o)
	if err != nil {
		return nil, nil, err
	}
	return kr, kr, nil
}

// hasRSAKey and hasECKey report whether the token has the private key cfg
// names as an RSA or an elliptic-curve key: to say what a URI names when
// it was opened as the other kind.
func hasRSAKey(cfg pkcs11.Config) bool {
	k, err := pkcs11.OpenRSAKey(cfg)
	if err != nil {
		return false
	}
	k.Close()
	return true
}

func hasECKey(cfg pkcs11.Config) bool {
	k, err := pkcs11.OpenECDHKey(cfg)
	if err != nil {
		return false
	}
	k.Close()
	return true
}
