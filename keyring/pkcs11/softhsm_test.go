//go:build cgo

package pkcs11

import (
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	p11 "github.com/miekg/pkcs11"
)

// The tests run against SoftHSM2. ESDK_PKCS11_MODULE names its library;
// otherwise the usual install paths are tried. Without it the tests skip,
// except under CI (CI=true), where they fail.
const moduleEnv = "ESDK_PKCS11_MODULE"

var softHSMPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib64/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

const (
	testPIN   = "1234-user"
	testSOPIN = "5678-so"
)

// softHSM returns the SoftHSM2 library, or skips (fails under CI) the
// test when there is none.
func softHSM(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(moduleEnv); p != "" {
		return p
	}
	for _, p := range softHSMPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("SoftHSM2 not found (set %s to libsofthsm2.so, or install the softhsm2 package)", moduleEnv)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newToken makes a SoftHSM2 token store in a temporary directory with one
// token, labelled label, and returns the configuration that reaches it
// (without a key). Lines of confExtra are added to the SoftHSM2
// configuration. The module is finalized when newToken returns, so that
// the next open reads the new SOFTHSM2_CONF.
func newToken(t testing.TB, label string, confExtra ...string) Config {
	t.Helper()
	module := softHSM(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	for _, l := range confExtra {
		text += l + "\n"
	}
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)
	checkNoUsers(t)

	m, err := openModule(module)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := m.close(); err != nil {
			t.Fatal(err)
		}
	}()
	ctx := m.ctx
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		t.Fatal(err)
	}
	free, ok := uint(0), false
	for _, s := range slots {
		ti, err := ctx.GetTokenInfo(s)
		if err == nil && ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			free, ok = s, true
			break
		}
	}
	if !ok {
		t.Fatal("SoftHSM2 shows no free slot")
	}
	if err := ctx.InitToken(free, testSOPIN, label); err != nil {
		t.Fatal("C_InitToken:", err)
	}
	cfg := Config{ModulePath: module, TokenLabel: label, PIN: testPIN}
	slot, _, err := m.findSlot(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.CloseSession(s)
	if err := ctx.Login(s, p11.CKU_SO, testSOPIN); err != nil {
		t.Fatal("C_Login as SO:", err)
	}
	if err := ctx.InitPIN(s, testPIN); err != nil {
		t.Fatal("C_InitPIN:", err)
	}
	if err := ctx.Logout(s); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkNoUsers fails when a module is still open: a test left a key
// unclosed.
func checkNoUsers(t testing.TB) {
	t.Helper()
	modules.Lock()
	defer modules.Unlock()
	for _, m := range modules.m {
		if m.users != 0 || len(m.logins) != 0 {
			t.Fatalf("module %s still has %d users and %d logins", m.path, m.users, len(m.logins))
		}
	}
}

// closeAtEnd closes c when the test ends and checks that nothing was left
// open.
func closeAtEnd(t testing.TB, c interface{ Close() error }) {
	t.Helper()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// withRWSession runs f in a read-write session logged in as the user.
func withRWSession(t testing.TB, cfg Config, f func(ctx *p11.Ctx, s p11.SessionHandle)) {
	t.Helper()
	tok, err := openToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.close()
	s, err := tok.mod.ctx.OpenSession(tok.slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		t.Fatal(err)
	}
	defer tok.mod.ctx.CloseSession(s)
	f(tok.mod.ctx, s)
}

// importAESKey puts key material into the token (C_CreateObject), as a
// sensitive, non-extractable key like a generated one.
func importAESKey(t testing.TB, cfg Config, key []byte) {
	t.Helper()
	tmpl := append(keyTemplate(cfg), secretTemplate()...)
	tmpl = append(tmpl,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_SECRET_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_AES),
		p11.NewAttribute(p11.CKA_VALUE, key),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
	)
	withRWSession(t, cfg, func(ctx *p11.Ctx, s p11.SessionHandle) {
		if _, err := ctx.CreateObject(s, tmpl); err != nil {
			t.Fatal("C_CreateObject:", err)
		}
	})
}

// importRSAKey puts an RSA private key into the token (C_CreateObject),
// as a sensitive, non-extractable key like a generated one. The public
// key object is created only when withPublic is set.
func importRSAKey(t testing.TB, cfg Config, key *rsa.PrivateKey, withPublic bool) {
	t.Helper()
	key.Precompute()
	e := bigEndian(int64(key.E))
	priv := append(keyTemplate(cfg), secretTemplate()...)
	priv = append(priv,
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
		p11.NewAttribute(p11.CKA_DECRYPT, true),
		p11.NewAttribute(p11.CKA_MODULUS, key.N.Bytes()),
		p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, e),
		p11.NewAttribute(p11.CKA_PRIVATE_EXPONENT, key.D.Bytes()),
		p11.NewAttribute(p11.CKA_PRIME_1, key.Primes[0].Bytes()),
		p11.NewAttribute(p11.CKA_PRIME_2, key.Primes[1].Bytes()),
		p11.NewAttribute(p11.CKA_EXPONENT_1, key.Precomputed.Dp.Bytes()),
		p11.NewAttribute(p11.CKA_EXPONENT_2, key.Precomputed.Dq.Bytes()),
		p11.NewAttribute(p11.CKA_COEFFICIENT, key.Precomputed.Qinv.Bytes()),
	)
	pub := append(keyTemplate(cfg),
		p11.NewAttribute(p11.CKA_CLASS, p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_KEY_TYPE, p11.CKK_RSA),
		p11.NewAttribute(p11.CKA_ENCRYPT, true),
		p11.NewAttribute(p11.CKA_MODULUS, key.N.Bytes()),
		p11.NewAttribute(p11.CKA_PUBLIC_EXPONENT, e),
	)
	withRWSession(t, cfg, func(ctx *p11.Ctx, s p11.SessionHandle) {
		if _, err := ctx.CreateObject(s, priv); err != nil {
			t.Fatal("C_CreateObject (private key):", err)
		}
		if withPublic {
			if _, err := ctx.CreateObject(s, pub); err != nil {
				t.Fatal("C_CreateObject (public key):", err)
			}
		}
	})
}

// bigEndian is the big-endian minimal encoding of a positive integer.
func bigEndian(v int64) []byte {
	var b []byte
	for ; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return b
}
