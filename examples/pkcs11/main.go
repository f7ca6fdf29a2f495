//go:build cgo

package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/keyring/pkcs11"
)

func main() {
	log.SetFlags(0)
	uri := flag.String("uri", "", "pkcs11: URI of an existing AES key (type=secret-key) or RSA private key (type=private); default: a temporary SoftHSM2 token")
	padding := flag.String("padding", "OAEP-SHA256", "RSA padding for an RSA key: PKCS1, OAEP-SHA1, OAEP-SHA256, OAEP-SHA384 or OAEP-SHA512")
	flag.Parse()
	var err error
	if *uri == "" {
		err = runSoftHSM(os.Stdout)
	} else {
		err = runURI(os.Stdout, *uri, *padding)
	}
	if err != nil {
		log.Fatal("pkcs11: ", err)
	}
}

// runSoftHSM makes a temporary SoftHSM2 token with an AES key, an RSA key
// pair and an elliptic-curve key pair in it and shows what keyrings over
// them do.
func runSoftHSM(w io.Writer) error {
	dir, err := os.MkdirTemp("", "esdk-pkcs11-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	token, err := newSoftHSMToken(dir, "esdk-example")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "made a SoftHSM2 token %q in %s\n", token.TokenLabel, dir)

	// The keys are generated in the token: sensitive, not extractable.
	aesCfg, rsaCfg := token, token
	aesCfg.KeyLabel, rsaCfg.KeyLabel = "esdk-aes", "esdk-rsa"
	if err := pkcs11.GenerateAESKey(aesCfg, 32); err != nil {
		return err
	}
	if err := pkcs11.GenerateRSAKey(rsaCfg, 2048); err != nil {
		return err
	}
	fmt.Fprintf(w, "generated in the token: AES-256 key %q, RSA-2048 key pair %q\n", aesCfg.KeyLabel, rsaCfg.KeyLabel)

	aesRing, err := pkcs11.NewAESKeyring(pkcs11.AESKeyringOptions{
		Namespace: "example",
		Name:      "hsm-aes-key",
		Config:    aesCfg,
	})
	if err != nil {
		return err
	}
	defer aesRing.Close()
	// SoftHSM2 decrypts RSA OAEP with SHA-1 only; NewRSA would say so for
	// OAEP-SHA256. Real HSMs usually do SHA-256 as well.
	rsaRing, err := pkcs11.NewRSAKeyring(pkcs11.RSAKeyringOptions{
		Namespace: "example",
		Name:      "hsm-rsa-key",
		Padding:   keyring.OAEPSHA1,
		Config:    rsaCfg,
	})
	if err != nil {
		return err
	}
	defer rsaRing.Close()

	ctx := context.Background()
	client, err := envelope.New()
	if err != nil {
		return err
	}
	both, err := keyring.NewMulti(keyring.MultiOptions{
		Generator: aesRing,
		Children:  []keyring.Keyring{rsaRing},
	})
	if err != nil {
		return err
	}
	plaintext := []byte("wrapped by keys that never leave the HSM")
	ec := map[string]string{"department": "finance"}
	mm, err := envelope.NewDefaultManager(both)
	if err != nil {
		return err
	}
	msg, err := client.EncryptBytes(ctx, plaintext, mm, ec)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "encrypted %d bytes into a %d-byte message with two encrypted data keys\n", len(plaintext), len(msg))
	for _, r := range []struct {
		name string
		kr   keyring.Keyring
	}{{"the AES key in the token", aesRing}, {"the RSA private key in the token", rsaRing}} {
		mm, err := envelope.NewDefaultManager(r.kr)
		if err != nil {
			return err
		}
		pt, _, err := client.DecryptBytes(ctx, msg, mm, ec)
		if err != nil {
			return fmt.Errorf("decrypting with %s: %w", r.name, err)
		}
		if !bytes.Equal(pt, plaintext) {
			return fmt.Errorf("%s gave back other bytes", r.name)
		}
		fmt.Fprintf(w, "decrypted with %s alone: %q\n", r.name, pt)
	}

	// The public key leaves the token: anyone holding it can encrypt
	// for the HSM, with an ordinary raw RSA keyring.
	pub := rsaRing.Key().Public().(*rsa.PublicKey)
	fmt.Fprintf(w, "public key read from the token: %d-bit RSA\n", pub.N.BitLen())
	outside, err := keyring.NewRawRSA(keyring.RawRSAOptions{
		Namespace: "example",
		Name:      "hsm-rsa-key",
		Padding:   keyring.OAEPSHA1,
		PublicKey: pub,
	})
	if err != nil {
		return err
	}
	if mm, err = envelope.NewDefaultManager(outside); err != nil {
		return err
	}
	msg2, err := client.EncryptBytes(ctx, []byte("for the HSM"), mm, nil)
	if err != nil {
		return err
	}
	if mm, err = envelope.NewDefaultManager(rsaRing); err != nil {
		return err
	}
	pt, _, err := client.DecryptBytes(ctx, msg2, mm, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "encrypted outside the HSM with its public key, decrypted inside: %q\n", pt)

	// AES-GCM in the token authenticates the encryption context: a data
	// key wrapped under one context does not unwrap under another. (The
	// envelope refuses a mismatched context before any keyring is asked;
	// here the keyring is called directly.)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	em := &keyring.EncryptionMaterials{Suite: suite, EncryptionContext: ec}
	if err := aesRing.OnEncrypt(ctx, em); err != nil {
		return err
	}
	dm := &keyring.DecryptionMaterials{Suite: suite, EncryptionContext: map[string]string{"department": "sales"}}
	err = aesRing.OnDecrypt(ctx, dm, em.EncryptedDataKeys)
	if !errors.Is(err, keyring.ErrNoMatchingKey) || !errors.Is(err, pkcs11.ErrAuthentication) {
		return fmt.Errorf("unwrapping under another encryption context: %v", err)
	}
	fmt.Fprintf(w, "unwrapping under another encryption context: %v\n", err)

	if err := runECDH(ctx, w, client, token); err != nil {
		return err
	}

	// The same configuration as a URI (the PIN is better kept in a file,
	// named with pin-source).
	fmt.Fprintf(w, "the AES key as a URI: pkcs11:token=%s;object=%s;type=secret-key?module-path=%s&pin-source=...\n",
		url.PathEscape(aesCfg.TokenLabel), url.PathEscape(aesCfg.KeyLabel), aesCfg.ModulePath)
	return nil
}

// runECDH generates an elliptic-curve key pair in the token and shows
// messages going both ways between it and a key pair outside: each side
// holds its own private key and the other's public key, and agrees on
// the wrapping key with ECDH. The private key in the token only derives.
func runECDH(ctx context.Context, w io.Writer, client *envelope.Client, token pkcs11.Config) error {
	ecCfg := token
	ecCfg.KeyLabel = "esdk-ec"
	if err := pkcs11.GenerateECKey(ecCfg, ecdh.P256()); err != nil {
		return err
	}
	// The other party's key pair, outside the HSM.
	outsideKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	outsidePub, err := x509.MarshalPKIXPublicKey(outsideKey.PublicKey())
	if err != nil {
		return err
	}
	p8, err := x509.MarshalPKCS8PrivateKey(outsideKey)
	if err != nil {
		return err
	}
	outsidePriv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	clear(p8)
	defer clear(outsidePriv)

	inside, err := pkcs11.NewECDHKeyring(pkcs11.ECDHKeyringOptions{
		Schema:             pkcs11.HSMPrivateKeyToStaticPublicKey,
		Curve:              ecdh.P256(),
		RecipientPublicKey: outsidePub,
		Config:             ecCfg,
	})
	if err != nil {
		return err
	}
	defer inside.Close()
	// The token's public key is what the other party is given.
	hsmPub, err := x509.MarshalPKIXPublicKey(inside.PublicKey())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "generated in the token: P-256 key pair %q; its public key leaves the token, the private key only derives\n", ecCfg.KeyLabel)
	outside, err := keyring.NewRawECDH(keyring.RawECDHOptions{
		Schema:             keyring.RawPrivateKeyToStaticPublicKey,
		Curve:              ecdh.P256(),
		SenderPrivateKey:   outsidePriv,
		RecipientPublicKey: hsmPub,
	})
	if err != nil {
		return err
	}
	for _, r := range []struct {
		what     string
		from, to keyring.Keyring
	}{
		{"ECDH: encrypted in the HSM, decrypted outside with the raw ECDH keyring", inside, outside},
		{"ECDH: encrypted outside with the raw ECDH keyring, decrypted in the HSM", outside, inside},
	} {
		plaintext := []byte("agreed on with ECDH")
		mm, err := envelope.NewDefaultManager(r.from)
		if err != nil {
			return err
		}
		msg, err := client.EncryptBytes(ctx, plaintext, mm, nil)
		if err != nil {
			return err
		}
		if mm, err = envelope.NewDefaultManager(r.to); err != nil {
			return err
		}
		pt, _, err := client.DecryptBytes(ctx, msg, mm, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", r.what, err)
		}
		if !bytes.Equal(pt, plaintext) {
			return fmt.Errorf("%s: other bytes came back", r.what)
		}
		fmt.Fprintf(w, "%s: %q\n", r.what, pt)
	}
	return nil
}

// runURI encrypts and decrypts a message with the key uri names.
func runURI(w io.Writer, uri, padding string) error {
	cfg, err := pkcs11.ParseURI(uri)
	if err != nil {
		return err
	}
	var kr interface {
		keyring.Keyring
		Close() error
	}
	switch cfg.KeyType {
	case "", "secret-key":
		kr, err = pkcs11.NewAESKeyring(pkcs11.AESKeyringOptions{Namespace: "example", Name: "hsm-aes-key", Config: cfg})
	case "private":
		p, ok := map[string]keyring.RSAPadding{
			"PKCS1": keyring.PKCS1, "OAEP-SHA1": keyring.OAEPSHA1, "OAEP-SHA256": keyring.OAEPSHA256,
			"OAEP-SHA384": keyring.OAEPSHA384, "OAEP-SHA512": keyring.OAEPSHA512,
		}[padding]
		if !ok {
			return fmt.Errorf("unknown padding %q", padding)
		}
		kr, err = pkcs11.NewRSAKeyring(pkcs11.RSAKeyringOptions{Namespace: "example", Name: "hsm-rsa-key", Padding: p, Config: cfg})
	default:
		return fmt.Errorf("the URI names a %q object; want secret-key (AES) or private (RSA)", cfg.KeyType)
	}
	if err != nil {
		return err
	}
	defer kr.Close()
	fmt.Fprintf(w, "using %v\n", cfg)
	ctx := context.Background()
	client, err := envelope.New()
	if err != nil {
		return err
	}
	plaintext := []byte("wrapped by a key that never leaves the HSM")
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		return err
	}
	msg, err := client.EncryptBytes(ctx, plaintext, mm, map[string]string{"purpose": "example"})
	if err != nil {
		return err
	}
	pt, _, err := client.DecryptBytes(ctx, msg, mm, nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(pt, plaintext) {
		return errors.New("the round trip gave back other bytes")
	}
	fmt.Fprintf(w, "encrypted and decrypted %d bytes: %q\n", len(pt), pt)
	return nil
}

// Places where distributions install the SoftHSM2 library.
var softHSMPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
	"/usr/lib64/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",
}

// findSoftHSM returns the SoftHSM2 library: ESDK_PKCS11_MODULE, or the
// first of the usual places that exists.
func findSoftHSM() (string, error) {
	if p := os.Getenv("ESDK_PKCS11_MODULE"); p != "" {
		return p, nil
	}
	for _, p := range softHSMPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("SoftHSM2 not found: install it (Debian and Ubuntu: apt-get install softhsm2), set ESDK_PKCS11_MODULE to libsofthsm2.so, or give -uri for another HSM")
}

// newSoftHSMToken makes a SoftHSM2 token store in dir with one token and
// returns the configuration that reaches it. SoftHSM2 finds its store
// through SOFTHSM2_CONF, read when the library is initialized, so it is
// set for this process. The PINs are throwaway values for a throwaway
// token; a real PIN belongs in a file or a secret store.
func newSoftHSMToken(dir, label string) (pkcs11.Config, error) {
	module, err := findSoftHSM()
	if err != nil {
		return pkcs11.Config{}, err
	}
	util, err := exec.LookPath("softhsm2-util")
	if err != nil {
		return pkcs11.Config{}, fmt.Errorf("softhsm2-util, which makes the token, is not on PATH (it comes with the softhsm2 package): %w", err)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return pkcs11.Config{}, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", tokens)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return pkcs11.Config{}, err
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return pkcs11.Config{}, err
	}
	const pin, soPIN = "example-user-pin", "example-so-pin"
	cmd := exec.Command(util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", soPIN)
	if out, err := cmd.CombinedOutput(); err != nil {
		return pkcs11.Config{}, fmt.Errorf("softhsm2-util --init-token: %w: %s", err, bytes.TrimSpace(out))
	}
	return pkcs11.Config{ModulePath: module, TokenLabel: label, PIN: pin}, nil
}
