//go:build cgo

package pkcs11

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// A PKCS #11 module is initialized once per process, and a token's login
// is shared by every session of the process: a second C_Initialize fails,
// a C_Finalize or C_Logout ends the work of every other user. So keyrings
// in one process that use the same module share one initialization, and
// keyrings on the same token share one login; the last to close finalizes
// or logs out.
var modules = struct {
	sync.Mutex
	m map[string]*module
}{m: map[string]*module{}}

// module is one loaded PKCS #11 library. It stays loaded once loaded:
// unloading a library that started threads or registered exit handlers
// (OpenSSL-based ones do) is not safe.
type module struct {
	path string
	ctx  *p11.Ctx
	// users counts the open handles; while it is above zero the module
	// is initialized.
	users int
	// finalize says that this package initialized the module, so it
	// finalizes it when the last user closes. It is false when someone
	// else in the process had initialized it already.
	finalize bool
	logins   map[uint]*login
}

// login is the user login on one token, shared by the keyrings of the
// process that use the token.
type login struct {
	users int
	// session is held open for as long as the login is in use: closing
	// the last session of a token logs the process out.
	session p11.SessionHandle
	// logout says this package logged in (rather than finding the token
	// logged in already), so it logs out at the end.
	logout bool
	// verified says the token accepted a PIN from this package (C_Login
	// returned CKR_OK); pinHash is then that PIN's hash. A PIN the token
	// did not check, because it was logged in already, is not kept.
	verified bool
	pinHash  [32]byte
}

// openModule loads and initializes the library at path, or takes another
// reference to it.
func openModule(path string) (*module, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: no module path given", ErrModuleNotFound)
	}
	key := path
	if strings.ContainsRune(path, filepath.Separator) {
		if _, err := os.Stat(path); err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%w: %q: %w", ErrModuleNotFound, path, err)
		}
		if p, err := filepath.EvalSymlinks(path); err == nil {
			key = p
		}
		if p, err := filepath.Abs(key); err == nil {
			key = p
		}
	}
	modules.Lock()
	defer modules.Unlock()
	m := modules.m[key]
	if m == nil {
		ctx := p11.New(path)
		if ctx == nil {
			return nil, fmt.Errorf("%w: %q could not be loaded as a PKCS #11 library (dlopen or C_GetFunctionList failed)", ErrModuleNotFound, path)
		}
		m = &module{path: key, ctx: ctx, logins: map[uint]*login{}}
		modules.m[key] = m
	}
	if m.users == 0 {
		err := m.ctx.Initialize()
		switch {
		case err == nil:
			m.finalize = true
		case hasCode(err, p11.CKR_CRYPTOKI_ALREADY_INITIALIZED):
			m.finalize = false
		default:
			return nil, fmt.Errorf("%w (module %q)", ckrErr("C_Initialize", err), path)
		}
	}
	m.users++
	return m, nil
}

// close drops a reference; the last one finalizes the module if this
// package initialized it.
func (m *module) close() error {
	modules.Lock()
	defer modules.Unlock()
	if m.users <= 0 {
		return nil
	}
	m.users--
	if m.users > 0 || !m.finalize {
		return nil
	}
	m.logins = map[uint]*login{}
	return ckrErr("C_Finalize", m.ctx.Finalize())
}

// tokenLabel trims the blank padding of a token label.
func tokenLabel(ti p11.TokenInfo) string {
	return strings.TrimRight(ti.Label, " \x00")
}

// findSlot returns the slot of the token that cfg selects.
func (m *module) findSlot(cfg Config) (uint, p11.TokenInfo, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return 0, p11.TokenInfo{}, ckrErr("C_GetSlotList", err)
	}
	var (
		found  []uint
		infos  []p11.TokenInfo
		labels []string
	)
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil || ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		labels = append(labels, fmt.Sprintf("%q (slot %d)", tokenLabel(ti), s))
		if cfg.SlotID != nil && *cfg.SlotID != s {
			continue
		}
		if cfg.TokenLabel != "" && cfg.TokenLabel != tokenLabel(ti) {
			continue
		}
		found = append(found, s)
		infos = append(infos, ti)
	}
	want := "any token"
	switch {
	case cfg.TokenLabel != "" && cfg.SlotID != nil:
		want = fmt.Sprintf("token %q in slot %d", cfg.TokenLabel, *cfg.SlotID)
	case cfg.TokenLabel != "":
		want = fmt.Sprintf("token %q", cfg.TokenLabel)
	case cfg.SlotID != nil:
		want = fmt.Sprintf("a token in slot %d", *cfg.SlotID)
	}
	have := "no initialized tokens"
	if len(labels) > 0 {
		have = "initialized tokens: " + strings.Join(labels, ", ")
	}
	switch len(found) {
	case 1:
		return found[0], infos[0], nil
	case 0:
		return 0, p11.TokenInfo{}, fmt.Errorf("%w: module %q has no %s; it has %s", ErrTokenNotFound, m.path, want, have)
	default:
		return 0, p11.TokenInfo{}, fmt.Errorf("esdk/pkcs11: module %q has %d tokens matching %s (%s); set the token label or slot id", m.path, len(found), want, have)
	}
}

// login logs in to the token in slot with pin, or takes another reference
// to the login of an earlier keyring. A PIN the token accepted is kept as
// a hash, to refuse a later keyring whose PIN differs from it. When the
// token was logged in already (by other code of the process), C_Login
// checks no PIN, and none is kept: each later keyring tries its own PIN
// again, and the first one the token accepts is kept.
func (m *module) login(slot uint, ti p11.TokenInfo, pin string) error {
	modules.Lock()
	defer modules.Unlock()
	if l := m.logins[slot]; l != nil {
		if pin != "" {
			if err := m.checkLogin(slot, l, ti); err != nil {
				return err
			}
		}
		if l.verified {
			h := sha256.Sum256([]byte(pin))
			if subtle.ConstantTimeCompare(h[:], l.pinHash[:]) != 1 {
				return fmt.Errorf("%w: the PIN differs from the one this process logged in to token %q with", ErrPINIncorrect, tokenLabel(ti))
			}
		} else if err := m.userLogin(l, ti, pin); err != nil {
			return err
		}
		l.users++
		return nil
	}
	s, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("%w (token %q)", ckrErr("C_OpenSession", err), tokenLabel(ti))
	}
	l := &login{users: 1, session: s}
	if err := m.userLogin(l, ti, pin); err != nil {
		m.ctx.CloseSession(s)
		return err
	}
	m.logins[slot] = l
	return nil
}

// checkLogin finds out whether the process is still logged in to the
// token of l: other code of the process may have logged out (C_Logout in
// any session ends the login of all of them) or closed every session
// (C_CloseAllSessions), which logs out too. Then the next keyring to open
// logs in again, with its own PIN, which the token checks: the hash of
// the PIN of the lost login is forgotten. The keys opened before are
// looked up again once they are needed (see object).
func (m *module) checkLogin(slot uint, l *login, ti p11.TokenInfo) error {
	info, err := m.ctx.GetSessionInfo(l.session)
	if err == nil && info.State != p11.CKS_RO_PUBLIC_SESSION && info.State != p11.CKS_RW_PUBLIC_SESSION {
		return nil
	}
	if err != nil {
		// The session that held the login is gone: hold it in a new one.
		s, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION)
		if err != nil {
			return fmt.Errorf("%w (token %q)", ckrErr("C_OpenSession", err), tokenLabel(ti))
		}
		l.session = s
	}
	l.logout, l.verified, l.pinHash = false, false, [32]byte{}
	return nil
}

// userLogin logs in l's session as the user with pin, and keeps the PIN's
// hash if the token checked it.
func (m *module) userLogin(l *login, ti p11.TokenInfo, pin string) error {
	if pin == "" {
		if ti.Flags&p11.CKF_LOGIN_REQUIRED != 0 {
			return fmt.Errorf("%w: token %q needs a PIN and none was given", ErrPINIncorrect, tokenLabel(ti))
		}
		return nil
	}
	err := m.ctx.Login(l.session, p11.CKU_USER, pin)
	switch {
	case err == nil:
		l.logout, l.verified, l.pinHash = true, true, sha256.Sum256([]byte(pin))
	case hasCode(err, p11.CKR_USER_ALREADY_LOGGED_IN):
		// Logged in by other code of this process: the PIN was not checked.
	default:
		return fmt.Errorf("%w (token %q)", ckrErr("C_Login", err), tokenLabel(ti))
	}
	return nil
}

// logout drops a reference to the login on slot; the last one logs out
// and closes the session that held the login.
func (m *module) logout(slot uint) error {
	modules.Lock()
	defer modules.Unlock()
	l := m.logins[slot]
	if l == nil {
		return nil
	}
	l.users--
	if l.users > 0 {
		return nil
	}
	delete(m.logins, slot)
	var err error
	if l.logout {
		err = ckrErr("C_Logout", m.ctx.Logout(l.session))
	}
	return errors.Join(err, ckrErr("C_CloseSession", m.ctx.CloseSession(l.session)))
}
