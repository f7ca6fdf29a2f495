package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func TestRequiredContextManager(t *testing.T) {
	ctx := context.Background()
	inner := aesManager(t)
	mm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner, Keys: []string{"tenant", "region"}})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{"tenant": "acme", "region": "eu", "stored": "yes"}
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES128GCMIV12Tag16HKDFSHA256} {
		s := format.MustSuite(id)
		c := newClient(t, func(o *envelope.Options) { o.CommitmentPolicy = policyFor(s); o.Suite = id })
		pt := randBytes(100)
		ct, err := c.EncryptBytes(ctx, pt, mm, ec)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := format.ParseHeader(ct, format.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h.EncryptionContext["tenant"]; ok {
			t.Fatalf("%s: required key stored in the header", id)
		}
		if h.EncryptionContext["stored"] != "yes" {
			t.Fatalf("%s: unrequired key missing from the header", id)
		}
		if strings.Contains(string(ct), "acme") {
			t.Fatalf("%s: required value written into the message", id)
		}

		// Decryption needs the required keys again, with their values.
		if _, _, err := c.DecryptBytes(ctx, ct, mm, nil); !errors.Is(err, envelope.ErrMissingRequiredContext) {
			t.Fatalf("%s: no reproduced context: %v", id, err)
		}
		if _, _, err := c.DecryptBytes(ctx, ct, inner, nil); !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("%s: default manager without the required keys: %v", id, err)
		}
		wrong := map[string]string{"tenant": "other", "region": "eu"}
		if _, _, err := c.DecryptBytes(ctx, ct, mm, wrong); !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("%s: wrong required value: %v", id, err)
		}
		if _, _, err := c.DecryptBytes(ctx, ct, mm, map[string]string{"tenant": "acme", "region": "eu", "stored": "no"}); !errors.Is(err, envelope.ErrContextMismatch) {
			t.Fatalf("%s: mismatched stored value: %v", id, err)
		}
		repro := map[string]string{"tenant": "acme", "region": "eu"}
		got, _, err := c.DecryptBytes(ctx, ct, mm, repro)
		if err != nil || string(got) != string(pt) {
			t.Fatalf("%s: decrypt with the required keys: %v", id, err)
		}
		// The default manager alone also decrypts when given them.
		d, err := c.Decrypt(ctx, strings.NewReader(string(ct)), inner, repro)
		if err != nil {
			t.Fatalf("%s: default manager with the required keys: %v", id, err)
		}
		want := maps.Clone(ec)
		gotEC := d.EncryptionContext()
		delete(gotEC, format.PublicKeyContextKey)
		if !maps.Equal(gotEC, want) {
			t.Fatalf("%s: decryptor context %v, want %v", id, gotEC, want)
		}
	}

	if _, err := newClient(t).EncryptBytes(ctx, nil, mm, map[string]string{"tenant": "acme"}); !errors.Is(err, envelope.ErrMissingRequiredContext) {
		t.Fatalf("encrypt without a required key: %v", err)
	}
	for _, keys := range [][]string{nil, {"aws-crypto-x"}} {
		if _, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner, Keys: keys}); err == nil {
			t.Fatalf("NewRequiredContextManager(%q) succeeded", keys)
		}
	}
}

// TestRequiredContextManagerOptions checks that the options name the
// missing field and that the functions after them apply in order.
func TestRequiredContextManagerOptions(t *testing.T) {
	inner := aesManager(t)
	for _, tc := range []struct {
		o     envelope.RequiredContextManagerOptions
		field string
	}{
		{envelope.RequiredContextManagerOptions{Keys: []string{"tenant"}}, "RequiredContextManagerOptions.Inner"},
		{envelope.RequiredContextManagerOptions{Inner: inner}, "RequiredContextManagerOptions.Keys"},
	} {
		if _, err := envelope.NewRequiredContextManager(tc.o); err == nil || !strings.Contains(err.Error(), tc.field) || !strings.HasPrefix(err.Error(), "esdk: ") {
			t.Errorf("got %v, want an error naming %s", err, tc.field)
		}
	}
	mm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Keys: []string{"a"}},
		func(o *envelope.RequiredContextManagerOptions) { o.Inner = inner },
		func(o *envelope.RequiredContextManagerOptions) { o.Keys = append(o.Keys, "tenant") },
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = newClient(t).EncryptBytes(context.Background(), nil, mm, map[string]string{"a": "x"})
	if !errors.Is(err, envelope.ErrMissingRequiredContext) || !strings.Contains(err.Error(), "tenant") {
		t.Errorf("got %v, want tenant to be required", err)
	}
}

func TestMaxEncryptedDataKeysOnEncrypt(t *testing.T) {
	ctx := context.Background()
	var krs []keyring.Keyring
	for _, name := range []string{"a", "b", "c"} {
		key := make([]byte, 16)
		rand.Read(key)
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: name, WrappingKey: key})
		if err != nil {
			t.Fatal(err)
		}
		krs = append(krs, kr)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
	if err != nil {
		t.Fatal(err)
	}
	mm := mustManager(t, multi)
	two := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 2 })
	_, err = two.EncryptBytes(ctx, []byte("x"), mm, nil)
	if !errors.Is(err, envelope.ErrTooManyEncryptedDataKeys) || !errors.Is(err, envelope.ErrLimitExceeded) || !strings.Contains(err.Error(), "MaxEncryptedDataKeys") {
		t.Fatalf("3 keys under a limit of 2: %v", err)
	}
	three := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 3 })
	ct, err := three.EncryptBytes(ctx, []byte("x"), mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := two.DecryptBytes(ctx, ct, mm, nil); !errors.Is(err, envelope.ErrTooManyEncryptedDataKeys) {
		t.Fatalf("decrypting 3 keys under a limit of 2: %v", err)
	}
	// Each of the three keys alone decrypts.
	for i, kr := range krs {
		if _, _, err := three.DecryptBytes(ctx, ct, mustManager(t, kr), nil); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
}

func TestClientOptions(t *testing.T) {
	c := newClient(t)
	o := c.Options()
	if o.CommitmentPolicy != envelope.RequireEncryptRequireDecrypt || o.FrameLength != 4096 || o.MaxEncryptedDataKeys != envelope.DefaultMaxEncryptedDataKeys {
		t.Fatalf("defaults: %+v", o)
	}
	if got := envelope.ForbidEncryptAllowDecrypt.DefaultSuite().ID(); got != format.AES256GCMIV12Tag16HKDFSHA384ECDSAP384 {
		t.Fatalf("forbid default suite %s", got)
	}
	if got := envelope.RequireEncryptAllowDecrypt.DefaultSuite().ID(); got != format.AES256GCMHKDFSHA512CommitKeyECDSAP384 {
		t.Fatalf("require default suite %s", got)
	}
	for name, fn := range map[string]func(*envelope.Options){
		"committing suite under forbid":   func(o *envelope.Options) { o.CommitmentPolicy = envelope.ForbidEncryptAllowDecrypt; o.Suite = 0x0478 },
		"non-committing suite by default": func(o *envelope.Options) { o.Suite = 0x0178 },
		"unknown suite":                   func(o *envelope.Options) { o.Suite = 0x1234 },
		"frame length too large":          func(o *envelope.Options) { o.FrameLength, o.MaxFrameLength = math.MaxInt, math.MaxInt },
		"negative frame length":           func(o *envelope.Options) { o.FrameLength = -1 },
		"unknown policy":                  func(o *envelope.Options) { o.CommitmentPolicy = 7 },
		"too many keys":                   func(o *envelope.Options) { o.MaxEncryptedDataKeys = 70000 },
		"negative limit":                  func(o *envelope.Options) { o.MaxHeaderSize = -1 },
	} {
		if _, err := envelope.New(fn); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// sharingManager hands out materials whose required-key slice shares its
// array with every other result, as a careless cache might.
type sharingManager struct {
	envelope.MaterialsManager
	shared []string
}

func (m *sharingManager) GetEncryptionMaterials(ctx context.Context, req envelope.EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	mat, err := m.MaterialsManager.GetEncryptionMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	mat.EncryptionContext["inner"] = "x"
	mat.RequiredEncryptionContextKeys = m.shared[:1]
	return mat, nil
}

// TestMaterialsOwnership: the required-context manager does not write
// into its inner manager's result, and a message's header owns its
// encrypted data keys.
func TestMaterialsOwnership(t *testing.T) {
	ctx := context.Background()
	inner := &sharingManager{MaterialsManager: aesManager(t), shared: append(make([]string, 0, 4), "inner", "untouched")}
	mm, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner, Keys: []string{"tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	if _, err := c.EncryptBytes(ctx, []byte("x"), mm, map[string]string{"tenant": "acme"}); err != nil {
		t.Fatal(err)
	}
	if got := inner.shared[:2]; got[1] != "untouched" {
		t.Fatalf("the required-context manager wrote %q into its inner manager's array", got[1])
	}

	keep := &keepingManager{inner: aesManager(t)}
	w, err := c.Encrypt(ctx, io.Discard, keep, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(w.Header().EncryptedDataKeys[0].Ciphertext)
	mat := keep.enc[0]
	mat.EncryptedDataKeys[0].Ciphertext[0] ^= 1
	mat.EncryptedDataKeys[0].ProviderID = "changed"
	if got := w.Header().EncryptedDataKeys[0]; !bytes.Equal(got.Ciphertext, want) || got.ProviderID == "changed" {
		t.Fatal("changing the materials changed the header of the message")
	}

	msg, err := c.EncryptBytes(ctx, []byte("x"), keep, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Decrypt(ctx, bytes.NewReader(msg), keep, nil)
	if err != nil {
		t.Fatal(err)
	}
	edks := d.EncryptedDataKeys()
	edks[0].Ciphertext[0] ^= 1
	if bytes.Equal(d.Header().EncryptedDataKeys[0].Ciphertext, edks[0].Ciphertext) {
		t.Fatal("EncryptedDataKeys shares its bytes with the header")
	}
}
