//go:build cgo

package main

import (
	"fmt"
	"io"

	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/keyring/pkcs11"
)

// newPKCS11Keyring opens the keyring of the key a pkcs11: URI names: an
// AES key (type=secret-key) or an RSA private key (type=private). The
// closer ends its sessions and logs out.
func newPKCS11Keyring(uri, namespace, name string, padding keyring.RSAPadding, paddingSet bool) (keyring.Keyring, io.Closer, error) {
	cfg, err := pkcs11.ParseURI(uri)
	if err != nil {
		return nil, nil, err
	}
	switch cfg.KeyType {
	case "secret-key":
		if paddingSet {
			return nil, nil, fmt.Errorf("padding= is for RSA keys (type=private), and this URI names an AES key (type=secret-key)")
		}
		kr, err := pkcs11.NewAESKeyring(pkcs11.AESKeyringOptions{
			Namespace: namespace,
			Name:      name,
			Config:    cfg,
		})
		if err != nil {
			return nil, nil, err
		}
		return kr, kr, nil
	case "private":
		kr, err := pkcs11.NewRSAKeyring(pkcs11.RSAKeyringOptions{
			Namespace: namespace,
			Name:      name,
			Padding:   padding,
			Config:    cfg,
		})
		if err != nil {
			return nil, nil, err
		}
		return kr, kr, nil
	case "":
		return nil, nil, fmt.Errorf("the URI does not say what key it names: add type=secret-key (an AES key) or type=private (an RSA private key) to it")
	}
	return nil, nil, fmt.Errorf("the URI names a key of type=%s: esdk uses AES keys (type=secret-key) and RSA private keys (type=private)", cfg.KeyType)
}
