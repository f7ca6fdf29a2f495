package pkcs11

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// DefaultMaxSessions is the number of sessions a keyring keeps at most when
// Config.MaxSessions is zero.
const DefaultMaxSessions = 8

// Config says where a key lives and how to reach it. It can be written by
// hand or read from a "pkcs11:" URI with [ParseURI].
//
// Printing a Config with the fmt package never shows the PIN.
type Config struct {
	// ModulePath is the file name of the PKCS #11 library, e.g.
	// "/usr/lib/softhsm/libsofthsm2.so" or
	// "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so". Required.
	ModulePath string

	// TokenLabel selects the token by its label; SlotID by the slot it
	// sits in. When both are set both must match. When neither is set the
	// module must have exactly one initialized token.
	TokenLabel string
	SlotID     *uint

	// PIN logs in as the normal user (CKU_USER). It may be empty only for
	// tokens that need no login. While other code of the process holds
	// the login to the token, the token checks no PIN (C_Login says
	// CKR_USER_ALREADY_LOGGED_IN) and the key works whatever PIN is given.
	PIN string

	// KeyLabel (CKA_LABEL) and KeyID (CKA_ID) select the key; at least one
	// is required, and when both are set both must match. Exactly one key
	// of the right kind must match.
	KeyLabel string
	KeyID    []byte

	// KeyType, when set, is the RFC 7512 object type the key must have:
	// "secret-key" for the AES keyring, "private" for the RSA and ECDH
	// keyrings.
	KeyType string

	// MaxSessions bounds the sessions the keyring opens, and so the number
	// of operations it runs in the HSM at once; callers beyond it wait.
	// Zero means DefaultMaxSessions.
	MaxSessions int
}

// String describes c without its PIN.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "module %q", c.ModulePath)
	if c.TokenLabel != "" {
		fmt.Fprintf(&b, ", token %q", c.TokenLabel)
	}
	if c.SlotID != nil {
		fmt.Fprintf(&b, ", slot %d", *c.SlotID)
	}
	if c.KeyType != "" {
		fmt.Fprintf(&b, ", type %s", c.KeyType)
	}
	b.WriteString(", ")
	b.WriteString(c.keyString())
	if c.PIN != "" {
		b.WriteString(", PIN set")
	}
	return b.String()
}

// GoString is String, so that %#v does not show the PIN either.
func (c Config) GoString() string { return "pkcs11.Config{" + c.String() + "}" }

// keyString names the key the configuration selects by its label and
// id; the kind of key, which KeyType says in the words of RFC 7512, is
// for the caller to say.
func (c Config) keyString() string {
	var parts []string
	if c.KeyLabel != "" {
		parts = append(parts, fmt.Sprintf("label %q", c.KeyLabel))
	}
	if c.KeyID != nil {
		parts = append(parts, "id "+hex.EncodeToString(c.KeyID))
	}
	if len(parts) == 0 {
		return "no key"
	}
	return "key " + strings.Join(parts, " ")
}

// check reports what is missing or wrong in c, for a key of kind wantType.
func (c Config) check(wantType string) error {
	switch {
	case c.ModulePath == "":
		return fmt.Errorf("%w: no module path: set Config.ModulePath (module-path in a URI) to the PKCS #11 library", ErrModuleNotFound)
	case c.KeyLabel == "" && c.KeyID == nil:
		return errors.New("esdk/pkcs11: no key given: set Config.KeyLabel or Config.KeyID (object or id in a URI)")
	case c.KeyType != "" && c.KeyType != wantType:
		return fmt.Errorf("esdk/pkcs11: the configuration names a %q object, this keyring needs a %q", c.KeyType, wantType)
	case c.MaxSessions < 0:
		return fmt.Errorf("esdk/pkcs11: Config.MaxSessions is %d, want 0 (the default) or more", c.MaxSessions)
	}
	return nil
}

func (c Config) maxSessions() int {
	if c.MaxSessions == 0 {
		return DefaultMaxSessions
	}
	return c.MaxSessions
}
