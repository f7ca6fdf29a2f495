//go:build cgo

package main

import (
	"errors"
	"io"

	"github.com/go-esdk/esdk/keyring"
)

// hsmOpener opens the keyring of a key in a PKCS #11 token named by an
// RFC 7512 URI.
type hsmOpener interface {
	open(uri, namespace, name string, padding keyring.RSAPadding, paddingSet bool) (keyring.Keyring, io.Closer, error)
}

// hsm is the PKCS #11 keyring provider of this build.
var hsm hsmOpener

func newPKCS11Keyring(uri, namespace, name string, padding keyring.RSAPadding, paddingSet bool) (keyring.Keyring, io.Closer, error) {
	if hsm == nil {
		return nil, nil, errors.New("PKCS #11 keys are not supported by this esdk yet")
	}
	return hsm.open(uri, namespace, name, padding, paddingSet)
}
