//go:build cgo

package pkcs11

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// token is a logged-in connection to one token: the module, the login
// and a pool of sessions. Each key holds its own.
type token struct {
	mod   *module
	slot  uint
	label string
	pool  *pool
	mechs map[uint]bool
	// login says that the keys need the user login: a PIN was given.
	login bool

	// fault, when set (by tests), is given the result of each PKCS #11
	// call of the keys' operations, and returns the error to report in
	// its place.
	fault func(fn string, err error) error

	// released is closed once release has run; closeErr is its result.
	released  chan struct{}
	closeErr  error
	releasing sync.Once
}

// openToken loads the module, finds the token, logs in and reads the
// token's mechanism list. Nothing stays open when it fails.
func openToken(cfg Config) (*token, error) {
	mod, err := openModule(cfg.ModulePath)
	if err != nil {
		return nil, err
	}
	slot, ti, err := mod.findSlot(cfg)
	if err != nil {
		mod.close()
		return nil, err
	}
	if err := mod.login(slot, ti, cfg.PIN); err != nil {
		mod.close()
		return nil, err
	}
	t := &token{mod: mod, slot: slot, label: tokenLabel(ti), login: cfg.PIN != "", pool: newPool(mod.ctx, slot, cfg.maxSessions()), released: make(chan struct{})}
	t.pool.onDrained = t.release
	list, err := mod.ctx.GetMechanismList(slot)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("%w (token %q)", ckrErr("C_GetMechanismList", err), t.label)
	}
	t.mechs = make(map[uint]bool, len(list))
	for _, m := range list {
		t.mechs[m.Mechanism] = true
	}
	return t, nil
}

// shutdown closes the token to new operations and waits, until ctx ends,
// for those in progress to give their sessions back; then it closes the
// sessions, and logs out and finalizes the module unless other keys of
// the process still use them. When ctx ends first it returns ctx's error,
// and the last operation in progress releases all that when it ends: no
// goroutine is left waiting for it. Every call returns the same result
// once the release is done.
func (t *token) shutdown(ctx context.Context) error {
	t.pool.close()
	select {
	case <-t.released:
		return t.closeErr
	default:
	}
	select {
	case <-t.released:
		return t.closeErr
	case <-ctx.Done():
		switch n := t.pool.inUseCount(); n {
		case 0:
		case 1:
			return fmt.Errorf("esdk/pkcs11: closing the key on token %q: an operation in progress still holds its session: %w", t.label, ctx.Err())
		default:
			return fmt.Errorf("esdk/pkcs11: closing the key on token %q: %d operations in progress still hold sessions: %w", t.label, n, ctx.Err())
		}
		return fmt.Errorf("esdk/pkcs11: closing the key on token %q: still logging out: %w", t.label, ctx.Err())
	}
}

// close is shutdown with no deadline.
func (t *token) close() error { return t.shutdown(context.Background()) }

// release closes the idle sessions, logs out and drops the module once
// the pool is closed and drained. The pool calls it, from close or from
// the last put.
func (t *token) release() {
	t.releasing.Do(func() {
		t.closeErr = errors.Join(t.pool.closeIdle(), t.mod.logout(t.slot), t.mod.close())
		close(t.released)
	})
}

// requireMechanism says clearly when the token lacks mechanism mech.
func (t *token) requireMechanism(mech uint, name string) error {
	if !t.mechs[mech] {
		return fmt.Errorf("%w: token %q does not list %s", ErrMechanismNotSupported, t.label, name)
	}
	return nil
}

// findKey returns the one object of class class (and key type keyType)
// that has cfg's label and id.
func (t *token) findKey(ctx context.Context, cfg Config, class, keyType uint) (p11.ObjectHandle, error) {
	found, err := t.findObjects(ctx, cfg, class, keyType)
	if err != nil {
		return 0, fmt.Errorf("%w (looking for %s on token %q)", err, cfg.keyString(), t.label)
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("%w: token %q has no %s", ErrKeyNotFound, t.label, objectName(class, keyType, cfg))
	case 1:
		return found[0], nil
	default:
		return 0, fmt.Errorf("esdk/pkcs11: token %q has more than one %s; give both a label and an id, or make them unique", t.label, objectName(class, keyType, cfg))
	}
}

// findOne is findKey for a key already named in the error that the
// caller returns: its errors do not name it again.
func (t *token) findOne(ctx context.Context, cfg Config, class, keyType uint) (p11.ObjectHandle, error) {
	found, err := t.findObjects(ctx, cfg, class, keyType)
	switch {
	case err != nil:
		return 0, errorf("looking for the %s: %w", className(class, keyType), err)
	case len(found) == 0:
		return 0, errorf("%w: the token has no %s with this label and id", ErrKeyNotFound, className(class, keyType))
	case len(found) > 1:
		return 0, errorf("the token has more than one %s with this label and id", className(class, keyType))
	}
	return found[0], nil
}

// findObjects returns the objects (at most two) of class and keyType that
// have cfg's label and id.
func (t *token) findObjects(ctx context.Context, cfg Config, class, keyType uint) ([]p11.ObjectHandle, error) {
	tmpl := []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_KEY_TYPE, keyType),
	}
	if cfg.KeyLabel != "" {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_LABEL, cfg.KeyLabel))
	}
	if cfg.KeyID != nil {
		tmpl = append(tmpl, p11.NewAttribute(p11.CKA_ID, cfg.KeyID))
	}
	var found []p11.ObjectHandle
	err := t.pool.do(ctx, func(s p11.SessionHandle) error {
		if err := t.mod.ctx.FindObjectsInit(s, tmpl); err != nil {
			return ckrErr("C_FindObjectsInit", err)
		}
		objs, _, err := t.mod.ctx.FindObjects(s, 2)
		if err != nil {
			t.mod.ctx.FindObjectsFinal(s)
			return ckrErr("C_FindObjects", err)
		}
		found = objs
		return ckrErr("C_FindObjectsFinal", t.mod.ctx.FindObjectsFinal(s))
	})
	return found, err
}

// attrs reads attributes of obj.
func (t *token) attrs(ctx context.Context, obj p11.ObjectHandle, types ...uint) ([]*p11.Attribute, error) {
	tmpl := make([]*p11.Attribute, len(types))
	for i, typ := range types {
		tmpl[i] = p11.NewAttribute(typ, nil)
	}
	var out []*p11.Attribute
	err := t.pool.do(ctx, func(s p11.SessionHandle) error {
		var err error
		out, err = t.mod.ctx.GetAttributeValue(s, obj, tmpl)
		return ckrErr("C_GetAttributeValue", err)
	})
	return out, err
}

func className(class, keyType uint) string {
	switch {
	case class == p11.CKO_SECRET_KEY && keyType == p11.CKK_AES:
		return "AES secret key"
	case class == p11.CKO_PRIVATE_KEY && keyType == p11.CKK_RSA:
		return "RSA private key"
	case class == p11.CKO_PUBLIC_KEY && keyType == p11.CKK_RSA:
		return "RSA public key"
	case class == p11.CKO_PRIVATE_KEY && keyType == p11.CKK_EC:
		return "EC private key"
	case class == p11.CKO_PUBLIC_KEY && keyType == p11.CKK_EC:
		return "EC public key"
	}
	return "object"
}

// objectName names the object of class and keyType that cfg selects,
// such as `AES secret key label "k"`.
func objectName(class, keyType uint, cfg Config) string {
	return className(class, keyType) + " " + strings.TrimPrefix(cfg.keyString(), "key ")
}

// attrBool reads a CK_BBOOL attribute value.
func attrBool(a *p11.Attribute) bool {
	return len(a.Value) == 1 && a.Value[0] != 0
}

// attrUint reads a CK_ULONG attribute value in the host's byte order.
func attrUint(a *p11.Attribute) (uint, bool) {
	switch len(a.Value) {
	case 8:
		return uint(binary.NativeEndian.Uint64(a.Value)), true
	case 4:
		return uint(binary.NativeEndian.Uint32(a.Value)), true
	}
	return 0, false
}

// The PKCS #11 calls of the keys' operations go through these methods, so
// that tests can change what the token answers.

// faulted returns what the test hook makes of err, the result of the
// call fn; err itself when there is no hook.
func (t *token) faulted(fn string, err error) error {
	if t.fault == nil {
		return err
	}
	return t.fault(fn, err)
}

func (t *token) encryptInit(s p11.SessionHandle, m []*p11.Mechanism, key p11.ObjectHandle) error {
	return t.faulted("C_EncryptInit", t.mod.ctx.EncryptInit(s, m, key))
}

func (t *token) encrypt(s p11.SessionHandle, data []byte) ([]byte, error) {
	out, err := t.mod.ctx.Encrypt(s, data)
	if ferr := t.faulted("C_Encrypt", err); ferr != err {
		return nil, ferr
	}
	return out, err
}

func (t *token) decryptInit(s p11.SessionHandle, m []*p11.Mechanism, key p11.ObjectHandle) error {
	return t.faulted("C_DecryptInit", t.mod.ctx.DecryptInit(s, m, key))
}

func (t *token) decrypt(s p11.SessionHandle, data []byte) ([]byte, error) {
	out, err := t.mod.ctx.Decrypt(s, data)
	if ferr := t.faulted("C_Decrypt", err); ferr != err {
		clear(out)
		return nil, ferr
	}
	return out, err
}

func (t *token) deriveKey(s p11.SessionHandle, m []*p11.Mechanism, base p11.ObjectHandle, tmpl []*p11.Attribute) (p11.ObjectHandle, error) {
	h, err := t.mod.ctx.DeriveKey(s, m, base, tmpl)
	if ferr := t.faulted("C_DeriveKey", err); ferr != err {
		if err == nil {
			t.mod.ctx.DestroyObject(s, h)
		}
		return 0, ferr
	}
	return h, err
}

func (t *token) getAttributeValue(s p11.SessionHandle, obj p11.ObjectHandle, tmpl []*p11.Attribute) ([]*p11.Attribute, error) {
	a, err := t.mod.ctx.GetAttributeValue(s, obj, tmpl)
	if ferr := t.faulted("C_GetAttributeValue", err); ferr != err {
		for _, at := range a {
			clear(at.Value)
		}
		return nil, ferr
	}
	return a, err
}

func (t *token) destroyObject(s p11.SessionHandle, obj p11.ObjectHandle) error {
	return t.faulted("C_DestroyObject", t.mod.ctx.DestroyObject(s, obj))
}
