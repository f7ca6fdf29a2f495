package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
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
	inner, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: rec, Keys: []string{"tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: inner, Keys: []string{"region", "tenant"}})
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

// WithPlaintextLength tells the materials manager the length of a
// streamed message, and the Encryptor holds the stream to it.
func TestDeclaredPlaintextLength(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{inner: aesManager(t)}
	c := newClient(t, func(o *envelope.Options) { o.FrameLength = 16 })
	pt := randBytes(40)

	encrypt := func(opts ...func(*envelope.EncryptOptions)) (*envelope.Encryptor, *bytes.Buffer) {
		t.Helper()
		var buf bytes.Buffer
		w, err := c.Encrypt(ctx, &buf, rec, testContext, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return w, &buf
	}

	// Exactly the declared length, in several writes.
	w, buf := encrypt(envelope.WithPlaintextLength(40))
	for _, chunk := range [][]byte{pt[:10], pt[10:10], pt[10:33], pt[33:]} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.DecryptBytes(ctx, buf.Bytes(), rec, nil); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("declared-length message: %v", err)
	}
	if got := rec.enc[0].PlaintextLength; got != 40 {
		t.Errorf("manager told length %d, want 40", got)
	}
	rec.enc = rec.enc[:0]

	// The last write starts on a frame boundary, so the rest of the
	// message is sealed straight from it; an empty write may follow.
	w, buf = encrypt(envelope.WithPlaintextLength(40))
	for _, chunk := range [][]byte{pt[:32], pt[32:], pt[40:]} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.DecryptBytes(ctx, buf.Bytes(), rec, nil); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("declared-length message ending on a frame boundary: %v", err)
	}
	rec.enc = rec.enc[:0]

	// Without the option the length is unknown; EncryptBytes knows it.
	w, _ = encrypt()
	w.Write(pt)
	w.Close()
	if _, err := c.EncryptBytes(ctx, pt, rec, testContext); err != nil {
		t.Fatal(err)
	}
	if got := []int64{rec.enc[0].PlaintextLength, rec.enc[1].PlaintextLength}; got[0] != -1 || got[1] != 40 {
		t.Errorf("manager told lengths %d, want -1 and 40", got)
	}

	// More bytes than declared: the write that would pass the length is
	// refused whole, and the message never completes.
	w, buf = encrypt(envelope.WithPlaintextLength(30))
	if _, err := w.Write(pt[:20]); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write(pt[20:]); n != 0 || !errors.Is(err, envelope.ErrPlaintextLength) {
		t.Errorf("write past the declared length: %d, %v", n, err)
	}
	if _, err := w.Write(pt[:1]); !errors.Is(err, envelope.ErrPlaintextLength) {
		t.Errorf("write after the length error: %v", err)
	}
	if err := w.Close(); !errors.Is(err, envelope.ErrPlaintextLength) {
		t.Errorf("Close after the length error: %v", err)
	}
	if _, _, err := c.DecryptBytes(ctx, buf.Bytes(), rec, nil); err == nil {
		t.Error("an over-long message decrypted")
	}

	// Fewer bytes than declared: Close fails, the message is incomplete.
	for _, n := range []int{0, 10, 39} {
		w, buf = encrypt(envelope.WithPlaintextLength(40))
		if _, err := w.Write(pt[:n]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); !errors.Is(err, envelope.ErrPlaintextLength) {
			t.Errorf("Close after %d of 40 bytes: %v", n, err)
		}
		if _, _, err := c.DecryptBytes(ctx, buf.Bytes(), rec, nil); err == nil {
			t.Errorf("a message of %d of 40 declared bytes decrypted", n)
		}
	}

	// Zero is a length; a negative one is an error.
	w, buf = encrypt(envelope.WithPlaintextLength(0))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := c.DecryptBytes(ctx, buf.Bytes(), rec, nil); err != nil || len(got) != 0 {
		t.Errorf("empty declared message: %v", err)
	}
	if _, err := c.Encrypt(ctx, new(bytes.Buffer), rec, testContext, envelope.WithPlaintextLength(-2)); err == nil || !strings.Contains(err.Error(), "EncryptOptions.PlaintextLength") {
		t.Errorf("a negative declared length: got %v, want an error naming EncryptOptions.PlaintextLength", err)
	}

	// The options start from -1, which declares nothing, and the
	// functions apply in order: the last one wins.
	rec.enc = rec.enc[:0]
	w, _ = encrypt(func(o *envelope.EncryptOptions) {
		if o.PlaintextLength != -1 {
			t.Errorf("Encrypt starts from PlaintextLength %d, want -1", o.PlaintextLength)
		}
	})
	w.Close()
	w, _ = encrypt(envelope.WithPlaintextLength(10), func(o *envelope.EncryptOptions) { o.PlaintextLength = 0 })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := []int64{rec.enc[0].PlaintextLength, rec.enc[1].PlaintextLength}; got[0] != -1 || got[1] != 0 {
		t.Errorf("manager told lengths %d, want -1 and 0", got)
	}
}
