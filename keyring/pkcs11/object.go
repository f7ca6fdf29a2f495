//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// object is a key's object on its token, found by the label and id of the
// key's configuration.
//
// A token may drop the handle of an open key: SoftHSM2 drops the handles
// of every private object when the process logs out, which any other
// code of the process can do at any time (C_Logout in one session ends
// the login of all of them), and a key deleted from the token leaves its
// handle dangling. A key whose handle the token no longer knows
// (CKR_OBJECT_HANDLE_INVALID or CKR_KEY_HANDLE_INVALID) is handled in two
// ways, depending on why:
//
//   - The session is no longer logged in: the login was lost. The private
//     key cannot be seen, let alone used, until the process logs in
//     again, and this package keeps no PIN to do it behind the back of
//     whoever logged out. The error matches ErrLoginLost and says so.
//   - The session is still logged in (the login came back, or the key
//     was deleted): the key is looked up again by its label and id, once,
//     and used only if it is the same key as the one opened (see same);
//     then the operation runs once more. A key that is gone, or another
//     key under the same label and id, is an error: a replaced key is
//     never used in the place of the one the keyring was made with.
type object struct {
	tok     *token
	cfg     Config // the key's label and id; the PIN is not kept
	class   uint
	keyType uint
	// same reports why h, the key's object found again, is not the key
	// first opened, or nil when it is.
	same func(ctx context.Context, h p11.ObjectHandle) error

	mu      sync.Mutex
	h       p11.ObjectHandle
	refound int // times the key was found again under a new handle
}

func newObject(tok *token, cfg Config, class, keyType uint, h p11.ObjectHandle) *object {
	return &object{
		tok: tok, cfg: Config{KeyLabel: cfg.KeyLabel, KeyID: cfg.KeyID},
		class: class, keyType: keyType, h: h,
	}
}

// handle returns the key's handle.
func (o *object) handle() p11.ObjectHandle {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.h
}

// do runs f with a session of the pool and the key's handle. When the
// token no longer knows the handle, do tells the login lost from a key
// dropped while logged in, and in the second case finds the key again
// and runs f once more (see object). Its errors do not name the key: the
// caller does (see keyError).
func (o *object) do(ctx context.Context, f func(s p11.SessionHandle, h p11.ObjectHandle) error) error {
	h := o.handle()
	loginLost := false
	err := o.tok.pool.do(ctx, func(s p11.SessionHandle) error {
		err := f(s, h)
		if handleLost(err) {
			loginLost = o.tok.loginLost(s)
		}
		return err
	})
	if !handleLost(err) {
		return err
	}
	if loginLost {
		return &handleError{
			msg:  fmt.Sprintf("%v: the token no longer knows the key (%v) and the session is not logged in: other code of the process logged out, which ends the login of every session, or the token was reset; the key is found again once the process logs in again (opening a key of this token with its PIN does that)", ErrLoginLost, unprefixed(err)),
			errs: []error{ErrLoginLost, err},
		}
	}
	nh, ferr := o.refind(ctx, h)
	if ferr != nil {
		return &handleError{msg: fmt.Sprintf("%v; looking for the key again: %v", err, unprefixed(ferr)), errs: []error{err, ferr}}
	}
	return o.tok.pool.do(ctx, func(s p11.SessionHandle) error { return f(s, nh) })
}

// refind looks the key up again after the token dropped handle old, and
// returns its new handle. When another caller has found it again already
// it returns that handle.
func (o *object) refind(ctx context.Context, old p11.ObjectHandle) (p11.ObjectHandle, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.h != old {
		return o.h, nil
	}
	h, err := o.tok.findOne(ctx, o.cfg, o.class, o.keyType)
	if err != nil {
		return 0, err
	}
	if err := o.same(ctx, h); err != nil {
		return 0, errorf("the %s found again is not the key that was opened (%w): it was replaced, and is not used in its place; close the keyring and open it again to use the new key", className(o.class, o.keyType), err)
	}
	o.h = h
	o.refound++
	return h, nil
}

// keyFuncs are the functions that take the key's handle in the keys'
// operations.
var keyFuncs = map[string]bool{"C_EncryptInit": true, "C_DecryptInit": true, "C_DeriveKey": true}

// handleLost reports whether err says that the token does not know the
// key handle given to one of keyFuncs.
func handleLost(err error) bool {
	var e *Error
	return errors.As(err, &e) && keyFuncs[e.Func] &&
		(uint(e.Code) == p11.CKR_OBJECT_HANDLE_INVALID || uint(e.Code) == p11.CKR_KEY_HANDLE_INVALID)
}

// loginLost reports whether session s, of a token this package logged in
// to, is no longer logged in.
func (t *token) loginLost(s p11.SessionHandle) bool {
	if !t.login {
		return false
	}
	info, err := t.mod.ctx.GetSessionInfo(s)
	return err == nil && (info.State == p11.CKS_RO_PUBLIC_SESSION || info.State == p11.CKS_RW_PUBLIC_SESSION)
}

// handleError is the error of an operation whose key handle the token
// dropped: why, and what came of looking for the key again. A keyring
// that keeps the text of its key's errors out of its own (the raw RSA
// keyring does) shows this one whole when it reports a failure of the
// token (see rootFailure).
type handleError struct {
	msg  string
	errs []error
}

func (e *handleError) Error() string   { return e.msg }
func (e *handleError) Unwrap() []error { return e.errs }
