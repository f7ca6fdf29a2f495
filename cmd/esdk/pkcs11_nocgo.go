//go:build !cgo

package main

import (
	"errors"
	"io"

	"github.com/go-esdk/esdk/keyring"
)

// errNoCgo is the error of a pkcs11: key in a build without cgo.
var errNoCgo = errors.New("this esdk was built without cgo; PKCS#11 keys need a cgo build (CGO_ENABLED=1 go install github.com/go-esdk/esdk/cmd/esdk@latest, with a C compiler)")

func newPKCS11Keyring(pkcs11Spec) (keyring.Keyring, io.Closer, error) {
	return nil, nil, errNoCgo
}
