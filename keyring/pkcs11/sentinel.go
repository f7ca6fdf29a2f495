package pkcs11

import "errors"

// Errors to test for with errors.Is. The errors this package returns say
// more (which module, token, key or PKCS #11 function) and wrap these.
var (
	// ErrModuleNotFound: the PKCS #11 library could not be loaded.
	ErrModuleNotFound = errors.New("esdk/pkcs11: PKCS #11 module not found or not loadable")
	// ErrTokenNotFound: no token matches the configuration, or it went away.
	ErrTokenNotFound = errors.New("esdk/pkcs11: token not found")
	// ErrPINIncorrect: the token refused the PIN.
	ErrPINIncorrect = errors.New("esdk/pkcs11: PIN incorrect")
	// ErrPINLocked: the token locked the PIN after too many wrong tries.
	ErrPINLocked = errors.New("esdk/pkcs11: PIN locked")
	// ErrKeyNotFound: no key of the right kind matches the configuration.
	ErrKeyNotFound = errors.New("esdk/pkcs11: key not found")
	// ErrMechanismNotSupported: the token cannot do the mechanism (or the
	// mechanism parameters, such as an OAEP hash) the keyring needs.
	ErrMechanismNotSupported = errors.New("esdk/pkcs11: mechanism not supported by the token")
	// ErrAuthentication: an AES-GCM decryption in the token failed, which
	// means the ciphertext, IV, AAD or key is not the one that sealed it.
	ErrAuthentication = errors.New("esdk/pkcs11: AES-GCM message authentication failed")
	// ErrLoginLost: the token no longer knows the key because the
	// process is no longer logged in to it (other code of the process
	// logged out, which ends the login of every session, or the token
	// was reset). The key works again once the process logs in again.
	ErrLoginLost = errors.New("esdk/pkcs11: the login to the token was lost")
	// ErrClosed: the keyring or key was used after Close.
	ErrClosed = errors.New("esdk/pkcs11: used after Close")
)
