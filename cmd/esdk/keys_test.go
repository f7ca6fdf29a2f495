package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
	"github.com/go-esdk/esdk/kmsprovider"
)

// kmsEDKs are n AWS KMS encrypted data keys of account, in n regions.
func kmsEDKs(n int, partition, account string) []format.EncryptedDataKey {
	var edks []format.EncryptedDataKey
	for i := range n {
		edks = append(edks, format.EncryptedDataKey{
			ProviderID:   kmsprovider.ProviderID,
			ProviderInfo: fmt.Appendf(nil, "arn:%s:kms:xx-test-%d:%s:key/1234abcd-12ab-34cd-56ef-1234567890ab", partition, i, account),
			Ciphertext:   make([]byte, 32),
		})
	}
	return edks
}

// failingKMS counts its calls and fails them.
type failingKMS struct{ calls *int }

func (f failingKMS) GenerateDataKey(context.Context, *kms.GenerateDataKeyInput, ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	*f.calls++
	return nil, errors.New("KMS is down")
}

func (f failingKMS) Encrypt(context.Context, *kms.EncryptInput, ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	*f.calls++
	return nil, errors.New("KMS is down")
}

func (f failingKMS) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	*f.calls++
	return nil, errors.New("KMS is down")
}

// TestDiscoveryClients: a message's regions make no KMS client unless the
// filter lets their keys through, and at most maxDiscoveryRegions do.
func TestDiscoveryClients(t *testing.T) {
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	for _, c := range []struct {
		name        string
		edks        []format.EncryptedDataKey
		filter      *kmsprovider.DiscoveryFilter
		regions     []string
		wantClients int
		wantErr     string
	}{
		{"other account", kmsEDKs(50, "aws", "444455556666"), &kmsprovider.DiscoveryFilter{Partition: "aws", AccountIDs: []string{"111122223333"}}, nil, 0, "is not in the discovery filter's accounts"},
		{"other partition", kmsEDKs(50, "aws", "111122223333"), &kmsprovider.DiscoveryFilter{Partition: "aws-cn", AccountIDs: []string{"111122223333"}}, nil, 0, "is not the discovery filter's aws-cn"},
		{"too many regions", kmsEDKs(50, "aws", "111122223333"), nil, nil, 0, "kms-discovery calls at most 5"},
		{"too many regions, filtered", kmsEDKs(6, "aws", "111122223333"), &kmsprovider.DiscoveryFilter{Partition: "aws", AccountIDs: []string{"111122223333"}}, nil, 0, "are in 6 regions"},
		{"at the limit", kmsEDKs(maxDiscoveryRegions, "aws", "111122223333"), nil, nil, maxDiscoveryRegions, "KMS is down"},
		{"regions given", kmsEDKs(50, "aws", "111122223333"), nil, []string{"xx-test-7", "xx-test-9"}, 2, "KMS is down"},
		{"not ARNs", []format.EncryptedDataKey{{ProviderID: kmsprovider.ProviderID, ProviderInfo: []byte("alias/x")}, {ProviderID: kmsprovider.ProviderID, ProviderInfo: []byte("arn:aws:kms:evil.example:1:key/x")}}, nil, nil, 0, "not an AWS KMS key ARN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clients, calls := 0, 0
			k := &regionalDiscovery{
				clients: kmsprovider.ClientSupplierFunc(func(region string) (kmsprovider.Client, error) {
					clients++
					return failingKMS{&calls}, nil
				}),
				filter:  c.filter,
				regions: c.regions,
			}
			m := &keyring.DecryptionMaterials{Suite: suite}
			err := k.OnDecrypt(context.Background(), m, c.edks)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("OnDecrypt: %v, want an error with %q", err, c.wantErr)
			}
			if clients != c.wantClients || calls != c.wantClients {
				t.Fatalf("%d clients made and %d calls, want %d of each", clients, calls, c.wantClients)
			}
		})
	}
}

// TestKeyFilesWiped: every buffer that held a key file's bytes is wiped
// once the key is parsed, AES key files and RSA PEM files alike, when
// parsing succeeds and when it fails.
func TestKeyFilesWiped(t *testing.T) {
	dir := t.TempDir()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
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
	aesKey := write("k.bin", bytes.Repeat([]byte{7}, 32))
	badAES := write("bad.bin", bytes.Repeat([]byte{7}, 20))
	rsaKey := write("r.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	badRSA := write("bad.pem", append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), "trailing"...))
	for _, spec := range []string{
		"aes=" + aesKey + ",namespace=ns,name=n",
		"aes=" + badAES + ",namespace=ns,name=n",
		"rsa=" + rsaKey + ",namespace=ns,name=n",
		"rsa=" + badRSA + ",namespace=ns,name=n",
	} {
		ks, err := parseKeys([]string{spec}, cmdDecrypt)
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
		if strings.Contains(spec, "bad") == (err == nil) {
			t.Errorf("%s: %v", spec, err)
		}
		if len(read) != 1 {
			t.Fatalf("%s: %d files read", spec, len(read))
		}
		if len(read[0]) == 0 || bytes.ContainsFunc(read[0], func(r rune) bool { return r != 0 }) {
			t.Errorf("%s: the key file's bytes are not wiped", spec)
		}
	}
}

func TestKeysUsageLimit(t *testing.T) {
	if !strings.Contains(keysUsage, fmt.Sprintf("more than %d regions", maxDiscoveryRegions)) {
		t.Errorf("esdk help keys does not give the limit of %d regions", maxDiscoveryRegions)
	}
}

func TestPINSourceFile(t *testing.T) {
	for uri, want := range map[string]string{
		"pkcs11:token=t?PIN-SOURCE=file:///run/pin%2Dfile":   "/run/pin-file",
		"pkcs11:token=t?pin-source=file://localhost/run/pin": "/run/pin",
		"pkcs11:token=t?pin-source=/run/pin&module-path=/m":  "/run/pin",
		"pkcs11:token=t?pin-source=file://host/run/pin":      "",
		"pkcs11:token=t?pin-source=env:PIN":                  "",
		"pkcs11:token=t?pin-value=1234":                      "",
	} {
		if got := pinSourceFile(uri); got != want {
			t.Errorf("pinSourceFile(%q) = %q, want %q", uri, got, want)
		}
	}
}

// TestURIKeyType: the type= of a pkcs11 URI is read as pkcs11.ParseURI
// reads it, in the path only.
func TestURIKeyType(t *testing.T) {
	for uri, want := range map[string]string{
		"pkcs11:token=t;object=k;type=private?module-path=/m": "private",
		"PKCS11:TYPE=secret%2Dkey;object=k":                   "secret-key",
		"pkcs11:token=t;object=k":                             "",
		"pkcs11:token=t?type=private":                         "",
		"pkcs11:token=t;type=%zz":                             "",
	} {
		if got := uriKeyType(uri); got != want {
			t.Errorf("uriKeyType(%q) = %q, want %q", uri, got, want)
		}
	}
}
