package pkcs11

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	pinFile := filepath.Join(t.TempDir(), "pin")
	os.WriteFile(pinFile, []byte("from-file\n"), 0o600)
	slot := uint(3)
	for _, c := range []struct {
		uri  string
		want Config
	}{
		{
			"pkcs11:token=My%20Token;object=wrapping-key;type=secret-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
			Config{ModulePath: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "My Token", KeyLabel: "wrapping-key", KeyType: "secret-key", PIN: "1234"},
		},
		{
			"PKCS11:slot-id=3;id=%01%AB%ff;type=private?pin-source=file:" + pinFile + "&module-path=libsofthsm2.so",
			Config{ModulePath: "libsofthsm2.so", SlotID: &slot, KeyID: []byte{1, 0xab, 0xff}, KeyType: "private", PIN: "from-file"},
		},
		{
			"pkcs11:object=k;;?pin-source=" + pinFile,
			Config{KeyLabel: "k", PIN: "from-file"},
		},
		{
			"pkcs11:object=a%3Bb%3Fc?pin-source=file://localhost" + pinFile,
			Config{KeyLabel: "a;b?c", PIN: "from-file"},
		},
		{"pkcs11:", Config{}},
	} {
		got, err := ParseURI(c.uri)
		if err != nil {
			t.Errorf("%s: %v", c.uri, err)
			continue
		}
		if got.String() != c.want.String() || got.PIN != c.want.PIN || !bytes.Equal(got.KeyID, c.want.KeyID) {
			t.Errorf("%s:\n got %v\nwant %v", c.uri, got, c.want)
		}
	}
}

func TestParseURIErrors(t *testing.T) {
	const pin = "s3cr3t-pin"
	for _, c := range []struct{ uri, says string }{
		{"pkcs12:token=x", `starts with "pkcs11:"`},
		{"pkcs11:token=a;token=b", "twice"},
		{"pkcs11:serial=1234", `attribute serial is not supported`},
		{"pkcs11:object=k?pin-value=" + pin + "&pin-value=" + pin, "twice"},
		{"pkcs11:object=k?pin-value=%zz" + pin, "percent escape"},
		{"pkcs11:object=k?pin-value=" + pin + "%4", "percent escape"},
		{"pkcs11:type=secret", "not one of"},
		{"pkcs11:slot-id=x1", "decimal"},
		{"pkcs11:object", `no "="`},
		{"pkcs11:pin-value=" + pin, "query part"},
		{"pkcs11:object=k?module-name=softhsm2", "module-path"},
		{"pkcs11:object=k?pin-value=" + pin + "&pin-source=/x", "both"},
		{"pkcs11:object=k?pin-source=https://example.com/pin", "only files"},
		{"pkcs11:object=k?pin-source=file://otherhost/pin", "another host"},
		{"pkcs11:object=k?pin-source=/does/not/exist", "pin-source"},
		{"pkcs11:object=k?x-vendor=1", "not supported"},
		{"pkcs11:object=k?a?b", `second "?"`},
		{"pkcs11:object=k#frag", "fragment"},

		// A PIN that lost its name, or took the place of one, or is the
		// value of an attribute that is wrong, is not repeated.
		{"pkcs11:object=k?" + pin, `query attribute 1 has no "="`},
		{"pkcs11:" + pin + ";object=k", `path attribute 1 has no "="`},
		{"pkcs11:object=k;" + pin, `path attribute 2 has no "="`},
		{"pkcs11:object=k;;" + pin + "?pin-value=1", `path attribute 3 has no "="`},
		{"pkcs11:object=k?module-path=/x&" + pin, `query attribute 2 has no "="`},
		{"pkcs11:" + pin + "=1", "path attribute 1 is not supported"},
		{"pkcs11:object=k?" + pin + "=1", "query attribute 1 is not supported"},
		{"pkcs11:object=k;" + pin + "=1;" + pin + "=2", "path attribute 2 is not supported"},
		{"pkcs11:=" + pin, "path attribute 1 has no name"},
		{"pkcs11:object=k?=" + pin, "query attribute 1 has no name"},
		{"pkcs11:type=" + pin, "not one of"},
		{"pkcs11:slot-id=" + pin, "decimal"},
		{"pkcs11:object=k?pin-source=" + pin, "pin-source: reading the file"},
		{"pkcs11:object=k?pin-source=file:/" + pin, "pin-source: reading the file"},
		{"pkcs11:object=k?pin-source=file://" + pin + "/x", "another host"},
		{"pkcs11:object=k?pin-source=" + pin + ":x", "only files"},
		{"pkcs11:object", `attribute object has no "="`},
	} {
		_, err := ParseURI(c.uri)
		if err == nil {
			t.Errorf("%s: no error; want one saying %q", c.uri, c.says)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error %q shows the PIN", c.uri, err)
		}
		if !strings.Contains(err.Error(), c.says) || !strings.HasPrefix(err.Error(), "esdk/pkcs11: ") {
			t.Errorf("%s: %v; want an error saying %q, with the package prefix", c.uri, err, c.says)
		}
	}
}

func TestConfigHidesPIN(t *testing.T) {
	slot := uint(7)
	c := Config{ModulePath: "/lib/x.so", TokenLabel: "tok", SlotID: &slot, PIN: "hunter2-pin", KeyLabel: "k", KeyID: []byte{0xbe, 0xef}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%v", &c)} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("printed configuration shows the PIN: %s", s)
		}
		for _, want := range []string{"/lib/x.so", `"tok"`, "slot 7", `"k"`, "beef", "PIN set"} {
			if !strings.Contains(s, want) {
				t.Errorf("%s lacks %s", s, want)
			}
		}
	}
}
