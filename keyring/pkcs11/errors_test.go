//go:build cgo

package pkcs11

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	p11 "github.com/miekg/pkcs11"
)

func TestMissingModule(t *testing.T) {
	checkNoUsers(t)
	notLib := filepath.Join(t.TempDir(), "libnot-pkcs11.so")
	os.WriteFile(notLib, []byte("not a shared library"), 0o600)
	for _, path := range []string{filepath.Join(t.TempDir(), "libmissing.so"), notLib, ""} {
		cfg := Config{ModulePath: path, TokenLabel: "t", PIN: testPIN, KeyLabel: "k"}
		_, err := OpenAESKey(cfg)
		if !errors.Is(err, ErrModuleNotFound) || !strings.Contains(err.Error(), path) || (path == "" && !strings.Contains(err.Error(), "no module path")) {
			t.Errorf("%s: %v; want ErrModuleNotFound naming the path", path, err)
		}
		if _, err := OpenRSAKey(cfg); !errors.Is(err, ErrModuleNotFound) {
			t.Errorf("%s: OpenRSAKey: %v", path, err)
		}
	}
	checkNoUsers(t)
}

func TestWrongPIN(t *testing.T) {
	cfg := newToken(t, "pin")
	cfg.KeyLabel = "k"
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	for _, pin := range []string{"wrong-pin-9876", ""} {
		bad := cfg
		bad.PIN = pin
		_, err := OpenAESKey(bad)
		if !errors.Is(err, ErrPINIncorrect) {
			t.Fatalf("PIN %q: %v; want ErrPINIncorrect", pin, err)
		}
		if pin != "" {
			var e *Error
			var code p11.Error
			if !errors.As(err, &e) || e.Func != "C_Login" || !errors.As(err, &code) || code != p11.CKR_PIN_INCORRECT {
				t.Errorf("%v: want an *Error of C_Login holding CKR_PIN_INCORRECT", err)
			}
			if strings.Contains(err.Error(), pin) || strings.Contains(fmt.Sprintf("%v %+v %#v", bad, bad, bad), pin) {
				t.Errorf("the PIN shows in %q or in the printed configuration", err)
			}
		}
		checkNoUsers(t)
	}
	if !strings.Contains(fmt.Sprint(ErrPINIncorrect), "PIN incorrect") {
		t.Error(ErrPINIncorrect)
	}
}

// TestSharedLogin opens two keys on one token: they share the login, the
// first to close leaves the other working, and a key opened with another
// PIN while the process is logged in is refused.
func TestSharedLogin(t *testing.T) {
	cfg := newToken(t, "shared")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	importRSAKey(t, r, rsaKey(t), true)
	ak, err := OpenAESKey(a)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := OpenRSAKey(r)
	if err != nil {
		ak.Close()
		t.Fatal(err)
	}
	bad := a
	bad.PIN = "not-the-pin"
	if k, err := OpenAESKey(bad); !errors.Is(err, ErrPINIncorrect) {
		if k != nil {
			k.Close()
		}
		t.Errorf("a second key with another PIN: %v; want ErrPINIncorrect", err)
	}
	if err := ak.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ak.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if err := rk.selfTest(context.Background(), &rsa.OAEPOptions{Hash: crypto.SHA1}); err != nil {
		t.Fatalf("RSA key after the AES key closed: %v", err)
	}
	if _, err := ak.Seal(context.Background(), randBytes(12), randBytes(32), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Seal after Close: %v; want ErrClosed", err)
	}
	mod := rk.tok.mod
	if err := rk.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoUsers(t)
	if _, err := mod.ctx.GetSlotList(true); !hasCode(err, p11.CKR_CRYPTOKI_NOT_INITIALIZED) {
		t.Errorf("after the last Close the module answers %v; want CKR_CRYPTOKI_NOT_INITIALIZED (finalized)", err)
	}
}

// TestLoginByOthers: while other code of the process holds the login to
// the token, C_Login checks no PIN. A key opened with a wrong PIN then
// works (the token is open to the whole process), but its PIN is not
// remembered, so a key with the right PIN is not refused after it; in
// either order. A PIN the token does check is remembered: once the other
// code has logged out, the right PIN logs in again and a wrong one is
// refused.
func TestLoginByOthers(t *testing.T) {
	cfg := newToken(t, "others")
	cfg.KeyLabel = "aes"
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	wrong := cfg
	wrong.PIN = "not-the-pin-4321"
	seal := func(name string, k *AESKey) {
		t.Helper()
		if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); err != nil {
			t.Errorf("%s: Seal: %v", name, err)
		}
	}

	// The other code: the same module, a session of its own, logged in.
	m, err := openModule(cfg.ModulePath)
	if err != nil {
		t.Fatal(err)
	}
	slot, _, err := m.findSlot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		m.close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.ctx.CloseSession(s)
		if err := m.close(); err != nil {
			t.Error(err)
		}
	})
	if err := m.ctx.Login(s, p11.CKU_USER, testPIN); err != nil {
		t.Fatal(err)
	}
	for _, order := range []struct {
		name  string
		first Config
		then  Config
	}{{"wrong PIN, then right", wrong, cfg}, {"right PIN, then wrong", cfg, wrong}} {
		k1, err := OpenAESKey(order.first)
		if err != nil {
			t.Fatalf("%s: first key: %v", order.name, err)
		}
		k2, err := OpenAESKey(order.then)
		if err != nil {
			k1.Close()
			t.Fatalf("%s: second key: %v", order.name, err)
		}
		seal(order.name+", first key", k1)
		seal(order.name+", second key", k2)
		if err := errors.Join(k1.Close(), k2.Close()); err != nil {
			t.Fatal(err)
		}
	}

	// A key opened while the other code is logged in, which stays open;
	// then the other code logs out, and with it every session of the
	// process.
	k1, err := OpenAESKey(wrong)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k1)
	if err := m.ctx.Logout(s); err != nil {
		t.Fatal(err)
	}
	// The next key's PIN is checked: a wrong one is refused, the right
	// one logs in and is remembered. (SoftHSM2 forgets the handles of
	// private objects at a logout: the first key finds its key again
	// once the process is logged in again.)
	if k, err := OpenAESKey(wrong); !errors.Is(err, ErrPINIncorrect) {
		if k != nil {
			k.Close()
		}
		t.Errorf("a wrong PIN with the token logged out: %v; want ErrPINIncorrect", err)
	}
	k2, err := OpenAESKey(cfg)
	if err != nil {
		t.Fatalf("the right PIN with the token logged out: %v", err)
	}
	closeAtEnd(t, k2)
	seal("the key that logged in", k2)
	seal("the key opened before the logout", k1)
	if k, err := OpenAESKey(wrong); !errors.Is(err, ErrPINIncorrect) {
		if k != nil {
			k.Close()
		}
		t.Errorf("a wrong PIN after the right one logged in: %v; want ErrPINIncorrect", err)
	}
}

func TestMissingTokenAndKey(t *testing.T) {
	cfg := newToken(t, "present")
	aesCfg := cfg
	aesCfg.KeyLabel, aesCfg.KeyID = "aes", []byte{1}
	if err := GenerateAESKey(aesCfg, 32); err != nil {
		t.Fatal(err)
	}
	rsaCfg := cfg
	rsaCfg.KeyLabel = "rsa"
	importRSAKey(t, rsaCfg, rsaKey(t), false)

	wrongToken := aesCfg
	wrongToken.TokenLabel = "absent"
	_, err := OpenAESKey(wrongToken)
	if !errors.Is(err, ErrTokenNotFound) || !strings.Contains(err.Error(), `"absent"`) || !strings.Contains(err.Error(), `"present"`) {
		t.Errorf("missing token: %v; want ErrTokenNotFound naming it and the tokens there are", err)
	}
	var slot uint = 4242
	wrongSlot := aesCfg
	wrongSlot.TokenLabel, wrongSlot.SlotID = "", &slot
	if _, err := OpenAESKey(wrongSlot); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("missing slot: %v", err)
	}
	anyToken := aesCfg
	anyToken.TokenLabel = ""
	k, err := OpenAESKey(anyToken)
	if err != nil {
		t.Fatalf("the only token, by no label: %v", err)
	}
	bySlot := anyToken
	bySlot.SlotID = &k.tok.slot
	k.Close()
	if k, err := OpenAESKey(bySlot); err != nil {
		t.Errorf("the token by its slot id: %v", err)
	} else {
		k.Close()
	}
	bySlot.TokenLabel = "absent"
	if _, err := OpenAESKey(bySlot); !errors.Is(err, ErrTokenNotFound) {
		t.Errorf("the right slot with the wrong label: %v", err)
	}

	for name, c := range map[string]struct {
		cfg  Config
		open func(Config) error
	}{
		"AES label":        {with(aesCfg, "nope", nil), openAES},
		"AES id":           {with(aesCfg, "aes", []byte{2}), openAES},
		"RSA label":        {with(rsaCfg, "nope", nil), openRSA},
		"RSA key as AES":   {with(rsaCfg, "rsa", nil), openAES},
		"AES key as RSA":   {with(aesCfg, "aes", nil), openRSA},
		"RSA id, no label": {with(rsaCfg, "", []byte{7}), openRSA},
	} {
		err := c.open(c.cfg)
		if !errors.Is(err, ErrKeyNotFound) || !strings.Contains(err.Error(), `token "present"`) {
			t.Errorf("%s: %v; want ErrKeyNotFound naming the token", name, err)
		}
		if c.cfg.KeyLabel != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", c.cfg.KeyLabel)) {
			t.Errorf("%s: %v does not name the key", name, err)
		}
	}
	noKey := cfg
	if _, err := OpenAESKey(noKey); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("no key in the configuration: %v", err)
	}
	typed := aesCfg
	typed.KeyType = "private"
	if _, err := OpenAESKey(typed); err == nil {
		t.Error("OpenAESKey accepted type=private")
	}
	checkNoUsers(t)
}

func with(c Config, label string, id []byte) Config {
	c.KeyLabel, c.KeyID = label, id
	return c
}

func openAES(c Config) error {
	k, err := OpenAESKey(c)
	if err == nil {
		k.Close()
	}
	return err
}

func openRSA(c Config) error {
	k, err := OpenRSAKey(c)
	if err == nil {
		k.Close()
	}
	return err
}

// TestMissingMechanism turns mechanisms off in SoftHSM2: the AES key
// refuses to open without CKM_AES_GCM, the RSA key to decrypt without
// CKM_RSA_PKCS_OAEP, saying so.
func TestMissingMechanism(t *testing.T) {
	// SoftHSM 2.6 reads the first name of a "-" list with its "-" and
	// finds no such mechanism; every name is given both ways so that the
	// list works whichever way the version reads it.
	cfg := newToken(t, "no-gcm", "slots.mechanisms = -CKM_AES_GCM,CKM_AES_GCM,-CKM_RSA_PKCS_OAEP,CKM_RSA_PKCS_OAEP")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	importRSAKey(t, r, rsaKey(t), false)
	err := openAES(a)
	if !errors.Is(err, ErrMechanismNotSupported) || !strings.Contains(err.Error(), "CKM_AES_GCM") {
		t.Errorf("OpenAESKey without CKM_AES_GCM: %v", err)
	}
	k, err := OpenRSAKey(r)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	err = k.selfTest(context.Background(), &rsa.OAEPOptions{Hash: crypto.SHA1})
	if !errors.Is(err, ErrMechanismNotSupported) || !strings.Contains(err.Error(), "CKM_RSA_PKCS_OAEP") {
		t.Errorf("OAEP without CKM_RSA_PKCS_OAEP: %v", err)
	}
	if err := k.selfTest(context.Background(), nil); err != nil {
		t.Errorf("PKCS #1 v1.5 is still there: %v", err)
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Func: "C_Login", Code: p11.CKR_PIN_INCORRECT}
	if got, want := e.Error(), "esdk/pkcs11: C_Login: CKR_PIN_INCORRECT (0xA0): the PIN is incorrect"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	v := &Error{Func: "C_Decrypt", Code: p11.Error(p11.CKR_VENDOR_DEFINED + 5)}
	if !strings.Contains(v.Error(), "CKR_VENDOR_DEFINED+0x5") {
		t.Error(v)
	}
	for code, target := range map[uint]error{
		p11.CKR_PIN_INCORRECT:           ErrPINIncorrect,
		p11.CKR_PIN_LOCKED:              ErrPINLocked,
		p11.CKR_MECHANISM_INVALID:       ErrMechanismNotSupported,
		p11.CKR_TOKEN_NOT_PRESENT:       ErrTokenNotFound,
		p11.CKR_KEY_HANDLE_INVALID:      ErrKeyNotFound,
		p11.CKR_MECHANISM_PARAM_INVALID: ErrMechanismNotSupported,
	} {
		if err := error(&Error{Func: "f", Code: p11.Error(code)}); !errors.Is(err, target) || errors.Is(err, ErrAuthentication) {
			t.Errorf("%v: does not match %v only", err, target)
		}
	}
}

// saysOnce fails the test unless err's text says this package's prefix
// at most once, and names the key (its label, as in `label "aes"`) at most
// once: an error that wraps another of this package, or of the same key,
// leaves the inner prefix and the inner name of the key out.
func saysOnce(t *testing.T, what string, err error, label string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	s := err.Error()
	if n := strings.Count(s, "esdk/pkcs11: "); n > 1 {
		t.Errorf("%s: %q says \"esdk/pkcs11: \" %d times", what, s, n)
	}
	if n := strings.Count(s, fmt.Sprintf("label %q", label)); n > 1 {
		t.Errorf("%s: %q names the key %q %d times", what, s, label, n)
	}
}
