//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	p11 "github.com/miekg/pkcs11"
)

const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// AESKey is an AES key in a token, used for AES-GCM with IVs that the
// caller chooses. It is safe for concurrent use.
type AESKey struct {
	tok   *token
	obj   *object
	desc  string // names the key in errors
	size  int    // key length in bytes
	check []byte // CKA_CHECK_VALUE; nil when the token shows none
}

// OpenAESKey logs in to the token cfg names and finds the AES key (an
// object of class CKO_SECRET_KEY and type CKK_AES) there. The key must
// allow CKA_ENCRYPT and CKA_DECRYPT, and the token must list CKM_AES_GCM.
// Close releases it.
//
// When the token later drops the key's handle while the process is still
// logged in, the key is looked up again once, and used only if its
// CKA_CHECK_VALUE is the one read here (a token that shows none gets an
// error instead). When the login itself was lost, operations fail with
// an error matching ErrLoginLost until the process logs in again.
func OpenAESKey(cfg Config) (*AESKey, error) {
	if err := cfg.check("secret-key"); err != nil {
		return nil, err
	}
	tok, err := openToken(cfg)
	if err != nil {
		return nil, err
	}
	k, err := openAESKey(tok, cfg)
	if err != nil {
		tok.close()
		return nil, err
	}
	return k, nil
}

func openAESKey(tok *token, cfg Config) (*AESKey, error) {
	if err := tok.requireMechanism(p11.CKM_AES_GCM, "CKM_AES_GCM"); err != nil {
		return nil, err
	}
	ctx := context.Background()
	h, err := tok.findKey(ctx, cfg, p11.CKO_SECRET_KEY, p11.CKK_AES)
	if err != nil {
		return nil, err
	}
	k := &AESKey{tok: tok, desc: fmt.Sprintf("AES %s on token %q", cfg.keyString(), tok.label)}
	if k.size, k.check, err = k.inspect(ctx, h); err != nil {
		return nil, &keyError{k.desc, err}
	}
	k.obj = newObject(tok, cfg, p11.CKO_SECRET_KEY, p11.CKK_AES, h)
	k.obj.same = k.same
	return k, nil
}

// inspect checks that the AES key h may encrypt and decrypt and returns
// its length and its CKA_CHECK_VALUE, if the token shows one. Its errors
// do not name the key.
func (k *AESKey) inspect(ctx context.Context, h p11.ObjectHandle) (int, []byte, error) {
	a, err := k.tok.attrs(ctx, h, p11.CKA_ENCRYPT, p11.CKA_DECRYPT, p11.CKA_VALUE_LEN)
	if err != nil {
		return 0, nil, err
	}
	if !attrBool(a[0]) || !attrBool(a[1]) {
		return 0, nil, errorf("the key does not allow both encryption and decryption (CKA_ENCRYPT and CKA_DECRYPT must be true)")
	}
	n, ok := attrUint(a[2])
	if !ok || (n != 16 && n != 24 && n != 32) {
		return 0, nil, errorf("the key has CKA_VALUE_LEN %d, want 16, 24 or 32", n)
	}
	// CKA_CHECK_VALUE is PKCS #11 2.40; older tokens do not know it.
	var check []byte
	if c, err := k.tok.attrs(ctx, h, p11.CKA_CHECK_VALUE); err == nil && len(c[0].Value) > 0 {
		check = c[0].Value
	}
	return int(n), check, nil
}

// same reports why h, the AES key found again, may not be the key opened.
func (k *AESKey) same(ctx context.Context, h p11.ObjectHandle) error {
	if k.check == nil {
		return errors.New("the token shows no CKA_CHECK_VALUE for its AES keys, so the key found cannot be told from another one with the same label and id")
	}
	size, check, err := k.inspect(ctx, h)
	switch {
	case err != nil:
		return err
	case size != k.size:
		return fmt.Errorf("it is %d bytes long, the key opened %d", size, k.size)
	case !bytes.Equal(check, k.check):
		return errors.New("its CKA_CHECK_VALUE differs")
	}
	return nil
}

// Size returns the key length in bytes: 16, 24 or 32.
func (k *AESKey) Size() int { return k.size }

// String names the key and its token.
func (k *AESKey) String() string { return k.desc }

// Seal encrypts plaintext with CKM_AES_GCM under iv (12 bytes) and aad, and
// returns the ciphertext followed by the 16-byte tag. The token must use
// iv as given: one that replaces it with its own is an error.
func (k *AESKey) Seal(ctx context.Context, iv, plaintext, aad []byte) ([]byte, error) {
	if len(iv) != gcmIVSize {
		return nil, fmt.Errorf("esdk/pkcs11: AES-GCM IV is %d bytes, want %d", len(iv), gcmIVSize)
	}
	var out []byte
	err := k.obj.do(ctx, func(s p11.SessionHandle, h p11.ObjectHandle) error {
		params := p11.NewGCMParams(bytes.Clone(iv), aad, gcmTagSize*8)
		defer params.Free()
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}
		if err := k.tok.encryptInit(s, mech, h); err != nil {
			return ckrErr("C_EncryptInit", err)
		}
		ct, err := k.tok.encrypt(s, plaintext)
		if err != nil {
			return ckrErr("C_Encrypt", err)
		}
		if !bytes.Equal(params.IV(), iv) {
			return errors.New("esdk/pkcs11: the token replaced the AES-GCM IV with its own; this keyring needs a token that uses the IV it is given")
		}
		if len(ct) != len(plaintext)+gcmTagSize {
			return fmt.Errorf("esdk/pkcs11: C_Encrypt returned %d bytes for %d bytes of plaintext, want %d (a %d-bit tag)", len(ct), len(plaintext), len(plaintext)+gcmTagSize, gcmTagSize*8)
		}
		out = ct
		return nil
	})
	if err != nil {
		return nil, &keyError{k.desc, err}
	}
	return out, nil
}

// Open checks the 16-byte tag at the end of ciphertext and decrypts it
// with CKM_AES_GCM under iv and aad. When the token refuses the
// ciphertext, whatever code it gives for that (SoftHSM2 gives
// CKR_GENERAL_ERROR), the error matches ErrAuthentication. A code of a
// lost session, login, token or key (CKR_DEVICE_REMOVED,
// CKR_SESSION_HANDLE_INVALID and the like) is no such refusal: that error
// does not match ErrAuthentication.
func (k *AESKey) Open(ctx context.Context, iv, ciphertext, aad []byte) ([]byte, error) {
	if len(iv) != gcmIVSize {
		return nil, fmt.Errorf("esdk/pkcs11: AES-GCM IV is %d bytes, want %d", len(iv), gcmIVSize)
	}
	if len(ciphertext) < gcmTagSize {
		return nil, &keyError{k.desc, &authError{fmt.Errorf("ciphertext is %d bytes, shorter than the tag", len(ciphertext))}}
	}
	var out []byte
	err := k.obj.do(ctx, func(s p11.SessionHandle, h p11.ObjectHandle) error {
		params := p11.NewGCMParams(bytes.Clone(iv), aad, gcmTagSize*8)
		defer params.Free()
		mech := []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}
		if err := k.tok.decryptInit(s, mech, h); err != nil {
			return ckrErr("C_DecryptInit", err)
		}
		pt, err := k.tok.decrypt(s, ciphertext)
		if err != nil {
			err = ckrErr("C_Decrypt", err)
			if !refused(err) {
				return err
			}
			return &authError{err}
		}
		if len(pt) != len(ciphertext)-gcmTagSize {
			clear(pt)
			return &authError{fmt.Errorf("C_Decrypt returned %d bytes for %d of ciphertext", len(pt), len(ciphertext))}
		}
		out = pt
		return nil
	})
	if err != nil {
		return nil, &keyError{k.desc, err}
	}
	return out, nil
}

// Shutdown closes the key: operations that have not begun, and those
// waiting for a session, fail with ErrClosed. It waits for those in
// progress, until ctx ends; then it closes the key's sessions, and logs out
// and finalizes the module when no other key of the process uses them.
// When ctx ends first, Shutdown returns an error that matches ctx's, and
// the last operation in progress does the rest when it ends. Shutdown
// never interrupts an operation: PKCS #11 does not allow a module to be
// finalized while a call into it is running. Once the key is released
// every call returns the same result.
func (k *AESKey) Shutdown(ctx context.Context) error { return k.tok.shutdown(ctx) }

// Close is Shutdown with a context that never ends, for io.Closer: it
// waits for the operations in progress. Use Shutdown to bound the wait.
func (k *AESKey) Close() error { return k.tok.close() }

// authError is a failed AES-GCM decryption. It matches ErrAuthentication
// and wraps what the token said. It does not name the key (see keyError).
// It says what most likely is wrong, as the raw AES keyring's in-process
// key does: the raw AES keyring leaves that to the key, the only one to
// know an authentication failure from a failure of its own.
type authError struct {
	cause error
}

func (e *authError) Error() string {
	return fmt.Sprintf("%v (%v) (wrong key or encryption context?)", ErrAuthentication, unprefixed(e.cause))
}

func (e *authError) Unwrap() []error { return []error{ErrAuthentication, e.cause} }
