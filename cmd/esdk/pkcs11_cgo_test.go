//go:build cgo

package main

import (
	"crypto/ecdh"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/keyring/pkcs11"
)

// SoftHSM2 token of the pkcs11 scripts.
const (
	softHSMLabel = "esdk-test"
	softHSMPIN   = "1234-user"
	softHSMSOPIN = "5678-so"
)

// softHSMModule is where SoftHSM2's library is, from ESDK_PKCS11_MODULE or
// the usual install paths, or "".
func softHSMModule() string {
	if p := os.Getenv("ESDK_PKCS11_MODULE"); p != "" {
		return p
	}
	for _, p := range []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so",
		"/usr/lib64/softhsm/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/opt/homebrew/lib/softhsm/libsofthsm2.so",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// softHSMCommands are the programs the pkcs11 scripts run.
func softHSMCommands() map[string]func() int {
	return map[string]func() int{
		// softhsm-setup makes a SoftHSM2 token store where SOFTHSM2_CONF
		// says, with one token holding an AES-256 key "esdk-aes", an
		// RSA-2048 key pair "esdk-rsa" and EC key pairs "esdk-ec" (P-256)
		// and "esdk-ec384" (P-384), generated in the token; the public
		// keys of the EC pairs, as read from the token, are in
		// esdk-ec.pub.pem and esdk-ec384.pub.pem next to SOFTHSM2_CONF.
		"softhsm-setup": func() int {
			if err := softHSMSetup(); err != nil {
				fmt.Fprintln(os.Stderr, "softhsm-setup:", err)
				return 1
			}
			return 0
		},
	}
}

func softHSMSetup() error {
	module := os.Getenv("SOFTHSM_MODULE")
	conf := os.Getenv("SOFTHSM2_CONF")
	if module == "" || conf == "" {
		return fmt.Errorf("needs SOFTHSM_MODULE and SOFTHSM2_CONF")
	}
	tokens := filepath.Join(filepath.Dir(conf), "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return err
	}
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	ctx := p11.New(module)
	if ctx == nil {
		return fmt.Errorf("cannot load %s", module)
	}
	defer ctx.Destroy()
	if err := ctx.Initialize(); err != nil {
		return err
	}
	defer ctx.Finalize()
	slots, err := ctx.GetSlotList(true)
	if err != nil {
		return err
	}
	free, ok := uint(0), false
	for _, s := range slots {
		if ti, err := ctx.GetTokenInfo(s); err == nil && ti.Flags&p11.CKF_TOKEN_INITIALIZED == 0 {
			free, ok = s, true
			break
		}
	}
	if !ok {
		return fmt.Errorf("no free slot")
	}
	if err := ctx.InitToken(free, softHSMSOPIN, softHSMLabel); err != nil {
		return fmt.Errorf("C_InitToken: %w", err)
	}
	slots, err = ctx.GetSlotList(true)
	if err != nil {
		return err
	}
	var slot uint
	ok = false
	for _, s := range slots {
		if ti, err := ctx.GetTokenInfo(s); err == nil && strings.TrimRight(ti.Label, " ") == softHSMLabel {
			slot, ok = s, true
		}
	}
	if !ok {
		return fmt.Errorf("the new token is not listed")
	}
	s, err := ctx.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
	if err != nil {
		return err
	}
	if err := ctx.Login(s, p11.CKU_SO, softHSMSOPIN); err != nil {
		return fmt.Errorf("C_Login as SO: %w", err)
	}
	if err := ctx.InitPIN(s, softHSMPIN); err != nil {
		return fmt.Errorf("C_InitPIN: %w", err)
	}
	ctx.Logout(s)
	ctx.CloseSession(s)
	ctx.Finalize()

	cfg := pkcs11.Config{ModulePath: module, TokenLabel: softHSMLabel, PIN: softHSMPIN}
	aesCfg, rsaCfg := cfg, cfg
	aesCfg.KeyLabel, rsaCfg.KeyLabel = "esdk-aes", "esdk-rsa"
	if err := pkcs11.GenerateAESKey(aesCfg, 32); err != nil {
		return err
	}
	if err := pkcs11.GenerateRSAKey(rsaCfg, 2048); err != nil {
		return err
	}
	for label, curve := range map[string]ecdh.Curve{"esdk-ec": ecdh.P256(), "esdk-ec384": ecdh.P384()} {
		ecCfg := cfg
		ecCfg.KeyLabel = label
		if err := pkcs11.GenerateECKey(ecCfg, curve); err != nil {
			return err
		}
		if err := writeECPublicKey(ecCfg, filepath.Join(filepath.Dir(conf), label+".pub.pem")); err != nil {
			return err
		}
	}
	return nil
}

// writeECPublicKey writes the public key of the EC key that cfg names, as
// the token shows it, to file as PEM.
func writeECPublicKey(cfg pkcs11.Config, file string) error {
	k, err := pkcs11.OpenECDHKey(cfg)
	if err != nil {
		return err
	}
	defer k.Close()
	der, err := x509.MarshalPKIXPublicKey(k.PublicKey())
	if err != nil {
		return err
	}
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// softHSMCondition is the [softhsm] condition: SoftHSM2 is installed. Its
// absence fails the scripts under CI (CI=true) instead of skipping them.
func softHSMCondition() (bool, error) {
	if softHSMModule() != "" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("SoftHSM2 not found and CI=true: install the softhsm2 package or set ESDK_PKCS11_MODULE")
	}
	return false, nil
}

// cgoBuild is the [cgo] condition: PKCS #11 keyrings are built in.
const cgoBuild = true
