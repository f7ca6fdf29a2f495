//go:build cgo

package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/keyring/pkcs11"
)

// needSoftHSM skips the test, or fails it under CI, without SoftHSM2.
func needSoftHSM(t *testing.T) {
	t.Helper()
	_, err := findSoftHSM()
	if err == nil {
		_, err = exec.LookPath("softhsm2-util")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func TestSoftHSMExample(t *testing.T) {
	needSoftHSM(t)
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("SOFTHSM2_CONF", "") // restored after the test; runSoftHSM sets it
	var out bytes.Buffer
	if err := runSoftHSM(&out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		"decrypted with the AES key in the token alone",
		"decrypted with the RSA private key in the token alone",
		"encrypted outside the HSM with its public key, decrypted inside",
		"unwrapping under another encryption context: esdk/keyring: no encrypted data key",
		"pkcs11:token=esdk-example;object=esdk-aes;type=secret-key?module-path=",
		`ECDH: encrypted in the HSM, decrypted outside with the raw ECDH keyring: "agreed on with ECDH"`,
		`ECDH: encrypted outside with the raw ECDH keyring, decrypted in the HSM: "agreed on with ECDH"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "example-user-pin") {
		t.Error("the output shows the PIN")
	}
	if entries, _ := os.ReadDir(os.Getenv("TMPDIR")); len(entries) != 0 {
		t.Errorf("the temporary token was left behind: %v", entries)
	}
}

func TestURIExample(t *testing.T) {
	needSoftHSM(t)
	t.Setenv("SOFTHSM2_CONF", "")
	cfg, err := newSoftHSMToken(t.TempDir(), "uri-token")
	if err != nil {
		t.Fatal(err)
	}
	pinFile := t.TempDir() + "/pin"
	os.WriteFile(pinFile, []byte(cfg.PIN+"\n"), 0o600)
	uri := "pkcs11:token=uri-token;object=k;type=secret-key?module-path=" + cfg.ModulePath + "&pin-source=" + pinFile
	var out bytes.Buffer
	if err := runURI(&out, uri, ""); err == nil || !strings.Contains(err.Error(), "key not found") {
		t.Fatalf("a URI naming no key: %v", err)
	}
	cfg.KeyLabel = "k"
	// The key is made here; the example only uses keys that exist.
	if err := pkcs11.GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	if err := runURI(&out, uri, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "encrypted and decrypted") || strings.Contains(out.String(), cfg.PIN) {
		t.Errorf("output:\n%s", out.String())
	}
	rsaURI := "pkcs11:token=uri-token;object=r;type=private?module-path=" + cfg.ModulePath + "&pin-source=" + pinFile
	cfg.KeyLabel = "r"
	if err := pkcs11.GenerateRSAKey(cfg, 2048); err != nil {
		t.Fatal(err)
	}
	if err := runURI(&out, rsaURI, "OAEP-SHA1"); err != nil {
		t.Fatal(err)
	}
	if err := runURI(&out, rsaURI, "OAEP-SHA7"); err == nil {
		t.Error("an unknown padding was accepted")
	}
}
