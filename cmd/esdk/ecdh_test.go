package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/go-esdk/esdk/kmsprovider/kmstest"
)

// ecdhCurveArg is a script's name of a curve.
var ecdhCurveArg = map[string]ecdh.Curve{"P-256": ecdh.P256(), "P-384": ecdh.P384(), "P-521": ecdh.P521()}

// ecdhScriptCmds are the scripts' commands for ECDH keys.
var ecdhScriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// genecdh NAME CURVE: an ECDH key pair on CURVE (P-256, P-384, P-521)
	// in NAME.key (PKCS #8 PEM, mode 600), NAME.sec1.key (SEC 1 PEM with
	// its EC PARAMETERS block, as openssl ecparam -genkey writes it),
	// NAME.pub.pem (SubjectPublicKeyInfo PEM) and NAME.pub.der (DER).
	"genecdh": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 || ecdhCurveArg[args[1]] == nil {
			ts.Fatalf("usage: genecdh NAME P-256|P-384|P-521")
		}
		priv, err := ecdhCurveArg[args[1]].GenerateKey(rand.Reader)
		ts.Check(err)
		p8, err := x509.MarshalPKCS8PrivateKey(priv)
		ts.Check(err)
		der, err := x509.MarshalPKIXPublicKey(priv.PublicKey())
		ts.Check(err)
		ek, err := x509.ParsePKCS8PrivateKey(p8)
		ts.Check(err)
		sec1, err := x509.MarshalECPrivateKey(ek.(*ecdsa.PrivateKey))
		ts.Check(err)
		params := map[string][]byte{ // the DER of each curve's OID
			"P-256": {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07},
			"P-384": {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22},
			"P-521": {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23},
		}[args[1]]
		sec1PEM := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: params}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".sec1.key"), sec1PEM, 0o600))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
		ts.Check(os.WriteFile(ts.MkAbs(args[0]+".pub.der"), der, 0o644))
	},
	// kmskey VAR SPEC USAGE [PUBFILE]: a key of key spec SPEC and key
	// usage USAGE in the script's KMS (us-west-2), its ARN in $VAR, and
	// for an asymmetric key its public key in PUBFILE (PEM).
	"kmskey": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 && len(args) != 4 {
			ts.Fatalf("usage: kmskey VAR SPEC USAGE [PUBFILE]")
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c := ts.Value(kmsServerKey{}).(*kmstest.Server).Client(kmsRegion, "")
		out, err := c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpec(args[1]), KeyUsage: types.KeyUsageType(args[2])})
		ts.Check(err)
		ts.Setenv(args[0], *out.KeyMetadata.Arn)
		if len(args) == 4 {
			pub, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: out.KeyMetadata.Arn})
			ts.Check(err)
			ts.Check(os.WriteFile(ts.MkAbs(args[3]), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub.PublicKey}), 0o644))
		}
	},
}

// TestECDHKeyFilesWiped: every buffer that held an ECDH key file's bytes
// is wiped once the key is parsed, whether parsing succeeds or not.
func TestECDHKeyFilesWiped(t *testing.T) {
	dir := t.TempDir()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := x509.ParsePKCS8PrivateKey(p8)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ek.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(peer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("k.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
	sec1Key := write("k.sec1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}))
	badKey := write("bad.pem", append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})...))
	pub := write("p.der", der)
	for _, c := range []struct {
		spec  string
		files int
		ok    bool
	}{
		{"ecdh=" + key, 1, true},
		{"ecdh=" + sec1Key, 1, true},
		{"ecdh=" + key + ",peer=" + pub, 2, true},
		{"ecdh=" + badKey, 1, false},
		{"ecdh=" + pub + ",peer=" + key, 1, false},
	} {
		ks, err := parseKeys([]string{c.spec}, cmdDecrypt)
		if err != nil {
			t.Fatal(err)
		}
		var read [][]byte
		ks.read = func(path string) ([]byte, fs.FileInfo, error) {
			b, fi, err := readKeyFile(path)
			read = append(read, b)
			return b, fi, err
		}
		_, err = ks.keyring(context.Background(), cmdDecrypt)
		if c.ok != (err == nil) {
			t.Errorf("%s: %v", c.spec, err)
		}
		if len(read) != c.files {
			t.Fatalf("%s: %d files read, want %d", c.spec, len(read), c.files)
		}
		for i, b := range read {
			if len(b) == 0 || bytes.ContainsFunc(b, func(r rune) bool { return r != 0 }) {
				t.Errorf("%s: the bytes of key file %d are not wiped", c.spec, i)
			}
		}
	}
}
