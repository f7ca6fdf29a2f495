package envelope_test

import (
	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// vectorRawECDHKeyring builds the raw ECDH keyring a version 5 test
// describes.
func vectorRawECDHKeyring(set *testvectors.Set, d testvectors.KeyDescription) (keyring.Keyring, error) {
	return nil, skipf("raw ECDH keyring (%s, %s) is not built yet", d.Schema, d.Curve)
}
