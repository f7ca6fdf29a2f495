// Package pkcs11 holds keyrings whose wrapping keys live in a PKCS #11
// hardware security module (an on-premises HSM, AWS CloudHSM through its
// PKCS #11 library, a YubiHSM, SoftHSM2) and never leave it.
//
// [NewAESKeyring] wraps data keys with an AES key in the HSM using
// CKM_AES_GCM; the encrypted data keys have the wire format of
// [keyring.RawAES], so a message wrapped in the HSM decrypts with a raw
// AES keyring that holds the same key material, and the reverse. The IV of
// every wrapping is 12 fresh random bytes chosen by this package and
// passed to the token; a token that replaces it with one of its own is
// refused (such a token can still hold the key of the RSA keyring).
//
// [NewRSAKeyring] unwraps data keys with an RSA private key in the HSM
// (CKM_RSA_PKCS_OAEP or CKM_RSA_PKCS) and wraps them in Go with the public
// key read from the token; the encrypted data keys have the wire format of
// [keyring.RawRSA]. A padding the token cannot do is an error when the
// keyring is made, never a fallback to another padding.
//
// [NewECDHKeyring] wraps data keys with a key agreed with elliptic-curve
// Diffie-Hellman (P-256, P-384, P-521) whose private key is in the HSM:
// the token computes each shared secret with CKM_ECDH1_DERIVE (into a
// session object it destroys at once, see [ECDHKey] for why and how), and
// the rest is the raw ECDH keyring's wire format, through
// keyring.WrapECDH and keyring.UnwrapECDH. The token's key is the static
// sender's, talking with one recipient ([HSMPrivateKeyToStaticPublicKey]),
// or the recipient's, reading any sender's messages
// ([HSMPublicKeyDiscovery]); a [keyring.RawECDH] with the matching keys
// reads what it encrypts, and the reverse. No other ESDK has this keyring.
//
// A [Config] names the module, the token, the PIN and the key; [ParseURI]
// reads the same from an RFC 7512 "pkcs11:" URI. The keyrings' options
// carry it as their Config field, in the shape of the Conventions section
// of package keyring. Each keyring logs in once, keeps a bounded pool of
// sessions that are opened when needed, and is safe for concurrent use.
//
// A login is shared by the whole process: when other code of the process
// logs out (C_Logout in any session ends the login of every session),
// some tokens, SoftHSM2 among them, drop the handles of private objects.
// Operations on a key then fail with an error matching [ErrLoginLost],
// which a keyring reports as a failure of the token (a
// *keyring.UnwrapError), never as a message that is not for its keys.
// The package keeps no PIN to log in again behind the back of the code
// that logged out; the next key opened on the token with its PIN logs in,
// and the keys opened before find their objects again, once, by label and
// id. A key found so is used only when it is the key that was opened (the
// same public key; for AES the same CKA_CHECK_VALUE): a key deleted and
// made again under the same label and id is an error, not a replacement.
//
// Shutdown(ctx) closes a keyring or key: it refuses new operations, waits
// for those in progress until ctx ends, then releases the sessions, logs
// out and finalizes the module once nothing else in the process uses it.
// Close() is Shutdown with no deadline. Close without arguments keeps the
// keyrings io.Closers, which is how code that closes many kinds of
// resources holds them; Shutdown with a context, named as in net/http's
// Server, bounds the wait for whoever needs that. Unlike that Server's
// Close, neither interrupts an operation in progress, since PKCS #11
// forbids finalizing a module during a call into it: when Shutdown gives
// up, the last operation in progress releases what is left as it ends.
//
// The package needs cgo: it loads the PKCS #11 module with dlopen through
// github.com/miekg/pkcs11. Built without cgo it holds only [Config],
// [ParseURI] and the error values. No other package of this module imports it.
package pkcs11
