package envelope_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// recorder passes requests on and keeps a copy of each.
type recorder struct {
	inner envelope.MaterialsManager
	enc   []envelope.EncryptionMaterialsRequest
	dec   []envelope.DecryptionMaterialsRequest
}

func (r *recorder) GetEncryptionMaterials(ctx context.Context, req envelope.EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	r.enc = append(r.enc, req)
	return r.inner.GetEncryptionMaterials(ctx, req)
}

func (r *recorder) DecryptMaterials(ctx context.Context, req envelope.DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	r.dec = append(r.dec, req)
	return r.inner.DecryptMaterials(ctx, req)
}

// A RequiredContextManager names its required keys in the requests to its
// inner manager, on encryption and decryption, adding to those it was
// asked for.
func TestRequiredKeysReachTheInnerManager(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{inner: aesManager(t)}
	inner, err := envelope.NewRequiredContextManager(rec, []string{"tenant"})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := envelope.NewRequiredContextManager(inner, []string{"region", "tenant"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t)
	ec := map[string]string{"tenant": "acme", "region": "eu", "stored": "yes"}
	ct, err := c.EncryptBytes(ctx, []byte("hi"), outer, ec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"region", "tenant"}
	if got := rec.enc[0].RequiredEncryptionContextKeys; !slices.Equal(got, want) {
		t.Errorf("inner manager asked to encrypt with required keys %q, want %q", got, want)
	}
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.EncryptionContext["region"]; ok || h.EncryptionContext["stored"] != "yes" {
		t.Errorf("header context %v", h.EncryptionContext)
	}
	repro := map[string]string{"tenant": "acme", "region": "eu"}
	if _, _, err := c.DecryptBytes(ctx, ct, outer, repro); err != nil {
		t.Fatal(err)
	}
	if got := rec.dec[0].RequiredEncryptionContextKeys; !slices.Equal(got, want) {
		t.Errorf("inner manager asked to decrypt with required keys %q, want %q", got, want)
	}

	// The caller's request is not changed.
	spare := []string{"stored", "-", "-", "-"}
	req := envelope.EncryptionMaterialsRequest{EncryptionContext: ec, RequiredEncryptionContextKeys: spare[:1]}
	if _, err := outer.GetEncryptionMaterials(ctx, req); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(spare, []string{"stored", "-", "-", "-"}) {
		t.Errorf("caller's required keys changed to %q", spare)
	}
	if got := rec.enc[1].RequiredEncryptionContextKeys; !slices.Equal(got, []string{"region", "stored", "tenant"}) {
		t.Errorf("inner manager got %q", got)
	}
}

// The default manager takes the required keys of the request: the
// message authenticates them without storing them, and a key missing from
// the context is an error.
func TestDefaultManagerRequiredKeys(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	ec := map[string]string{"tenant": "acme", "stored": "yes"}
	mat, err := mm.GetEncryptionMaterials(ctx, envelope.EncryptionMaterialsRequest{
		EncryptionContext:             ec,
		PlaintextLength:               -1,
		RequiredEncryptionContextKeys: []string{"tenant"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mat.RequiredEncryptionContextKeys, []string{"tenant"}) {
		t.Errorf("materials' required keys %q", mat.RequiredEncryptionContextKeys)
	}
	_, err = mm.GetEncryptionMaterials(ctx, envelope.EncryptionMaterialsRequest{
		EncryptionContext:             ec,
		RequiredEncryptionContextKeys: []string{"absent"},
	})
	if !errors.Is(err, envelope.ErrMissingRequiredContext) {
		t.Errorf("required key not in the context: %v", err)
	}

	// On decryption the required keys must be in the reproduced context.
	c := newClient(t)
	ct, err := c.EncryptBytes(ctx, []byte("x"), mm, ec)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	req := envelope.DecryptionMaterialsRequest{
		Suite:                         h.Suite,
		CommitmentPolicy:              envelope.RequireEncryptRequireDecrypt,
		EncryptedDataKeys:             h.EncryptedDataKeys,
		EncryptionContext:             h.EncryptionContext,
		RequiredEncryptionContextKeys: []string{"tenant"},
	}
	if _, err := mm.DecryptMaterials(ctx, req); !errors.Is(err, envelope.ErrMissingRequiredContext) {
		t.Errorf("required key not reproduced: %v", err)
	}
	req.ReproducedEncryptionContext = map[string]string{"tenant": "acme"}
	if d, err := mm.DecryptMaterials(ctx, req); err != nil || d.PlaintextDataKey == nil {
		t.Errorf("required key reproduced: %v", err)
	}
}
