package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRedactSpec(t *testing.T) {
	const pin = "s3cr3t"
	for _, c := range []struct{ spec, shown string }{
		{"pkcs11:token=t?module-path=/m&pin-value=s3cr3t,namespace=n,name=n", "pkcs11:token=t?module-path=/m&pin-value=(hidden),namespace=n,name=n"},
		{"pkcs11=pkcs11:token=t?PIN-VALUE=s3cr3t", "pkcs11=pkcs11:token=t?PIN-VALUE=(hidden)"},
		{"pkcs11=token=t?Pin-Value=s3cr3t&module-path=/m", "pkcs11=token=t?Pin-Value=(hidden)&module-path=/m"},
		{"PKCS11:token=t;pin-value=s3cr3t;object=o", "PKCS11:token=t;pin-value=(hidden);object=o"},
		{"pkcs11:token=t?pin%2dvalue=s3cr3t", "pkcs11:token=t?pin%2dvalue=(hidden)"},
		{"pkcs11:token=t?pin-value=%73%33%63%72%33%74", "pkcs11:token=t?pin-value=(hidden)"},
		{"pkcs11:token=t?module-path=/m&s3cr3t", "pkcs11:token=t?module-path=/m&(hidden)"},
		{"pkcs11:token=t?pin-value=s3cr3t,x=y,name=n", "pkcs11:token=t?pin-value=(hidden),(hidden),name=n"},
		{"pkcs11:token=t?pin-source=/run/pin", "pkcs11:token=t?pin-source=/run/pin"},
		{"aes=k.bin,namespace=ns,name=n", "aes=k.bin,namespace=ns,name=n"},
	} {
		shown, secrets := redactSpec(c.spec)
		if shown != c.shown {
			t.Errorf("redactSpec(%q) = %q, want %q", c.spec, shown, c.shown)
		}
		if strings.Contains(c.spec, pin) || strings.Contains(c.spec, "%73") {
			if s := newScrubber(secrets).scrub("error: " + c.spec); strings.Contains(s, pin) || strings.Contains(s, "%73") {
				t.Errorf("scrubbed %q: %q", c.spec, s)
			}
		}
	}
}

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain \"text\" \\ ünï": "plain \"text\" \\ ünï",
		"a\x1b[31mb\a":          `a\x1b[31mb\a`,
		"line\nforged\r":        `line\nforged\r`,
		"\u202eevil\u009b\x7f":  `\u202eevil\u009b\x7f`,
		"bad\xffutf8":           `bad\xffutf8`,
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarshalJSONEscapes(t *testing.T) {
	v := map[string]string{"k\u202e\x1b": "v\u009b\x7f\n😀"}
	b, err := marshalJSON(v, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range string(b) {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e) {
			t.Fatalf("raw %U in %s", r, b)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(b, &back); err != nil || back["k\u202e\x1b"] != v["k\u202e\x1b"] {
		t.Fatalf("round trip: %v, %q", err, back)
	}
}
