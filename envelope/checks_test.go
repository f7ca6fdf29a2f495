package envelope_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// keepingManager wraps a manager, keeps the materials it hands out, and
// lets a test change them on the way.
type keepingManager struct {
	inner   envelope.MaterialsManager
	enc     []*keyring.EncryptionMaterials
	dec     []*keyring.DecryptionMaterials
	editEnc func(*keyring.EncryptionMaterials)
	editDec func(*keyring.DecryptionMaterials)
}

func (m *keepingManager) GetEncryptionMaterials(ctx context.Context, req envelope.EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	mat, err := m.inner.GetEncryptionMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	if m.editEnc != nil {
		m.editEnc(mat)
	}
	m.enc = append(m.enc, mat)
	return mat, nil
}

func (m *keepingManager) DecryptMaterials(ctx context.Context, req envelope.DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	mat, err := m.inner.DecryptMaterials(ctx, req)
	if err != nil {
		return nil, err
	}
	if m.editDec != nil {
		m.editDec(mat)
	}
	m.dec = append(m.dec, mat)
	return mat, nil
}

func isZero(b []byte) bool {
	return len(b) > 0 && !slices.ContainsFunc(b, func(c byte) bool { return c != 0 })
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestDataKeysWiped checks that the plaintext data key of the materials
// is wiped once a message's keys are derived, on encryption and
// decryption, on success and on failure.
func TestDataKeysWiped(t *testing.T) {
	ctx := context.Background()
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES128GCMIV12Tag16NoKDF} {
		s := format.MustSuite(id)
		mm := &keepingManager{inner: aesManager(t)}
		c := newClient(t, func(o *envelope.Options) { o.CommitmentPolicy = policyFor(s); o.Suite = id })
		msg, err := c.EncryptBytes(ctx, []byte("secret"), mm, map[string]string{"a": "1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Encrypt(ctx, brokenWriter{}, mm, nil); err == nil {
			t.Fatal("writing the header to a broken writer succeeded")
		}
		if _, _, err := c.DecryptBytes(ctx, msg, mm, nil); err != nil {
			t.Fatal(err)
		}
		// A damaged header tag fails after the materials are made.
		_, hl, err := format.ParseHeader(msg, format.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(msg)
		bad[hl-1] ^= 1
		if _, _, err := c.DecryptBytes(ctx, bad, mm, nil); !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("damaged header tag: %v", err)
		}
		if len(mm.enc) != 2 || len(mm.dec) != 2 {
			t.Fatalf("%d and %d materials", len(mm.enc), len(mm.dec))
		}
		for i, m := range mm.enc {
			if !isZero(m.PlaintextDataKey) {
				t.Errorf("suite %s: encryption %d left the data key in the materials", id, i)
			}
		}
		for i, m := range mm.dec {
			if !isZero(m.PlaintextDataKey) {
				t.Errorf("suite %s: decryption %d left the data key in the materials", id, i)
			}
		}
	}
}

// TestCustomManagerKeysChecked checks what any materials manager returns,
// not only the default one.
func TestCustomManagerKeysChecked(t *testing.T) {
	ctx := context.Background()
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signed := newClient(t, func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKeyECDSAP384 })
	unsigned := newClient(t, func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey })
	base := aesManager(t)

	mm := &keepingManager{inner: base, editEnc: func(m *keyring.EncryptionMaterials) {
		m.SigningKey = p256
		m.EncryptionContext[format.PublicKeyContextKey] = engine.MarshalPublicKey(&p256.PublicKey)
	}}
	if _, err := signed.EncryptBytes(ctx, []byte("x"), mm, nil); err == nil || !strings.Contains(err.Error(), "curve") {
		t.Errorf("P-256 signing key for a P-384 suite: %v", err)
	}

	msg, err := signed.EncryptBytes(ctx, []byte("x"), base, nil)
	if err != nil {
		t.Fatal(err)
	}
	mm = &keepingManager{inner: base, editDec: func(m *keyring.DecryptionMaterials) { m.VerificationKey = &p256.PublicKey }}
	if _, _, err := signed.DecryptBytes(ctx, msg, mm, nil); err == nil || !strings.Contains(err.Error(), "curve") {
		t.Errorf("P-256 verification key for a P-384 suite: %v", err)
	}

	for _, k := range []string{"aws-crypto-anything", format.PublicKeyContextKey} {
		mm = &keepingManager{inner: aesManager(t), editEnc: func(m *keyring.EncryptionMaterials) { m.EncryptionContext[k] = "x" }}
		if _, err := unsigned.EncryptBytes(ctx, []byte("x"), mm, nil); !errors.Is(err, envelope.ErrReservedContextKey) {
			t.Errorf("manager adds %q on an unsigned suite: %v", k, err)
		}
	}
	mm = &keepingManager{inner: aesManager(t), editEnc: func(m *keyring.EncryptionMaterials) { m.EncryptionContext["aws-crypto-other"] = "x" }}
	if _, err := signed.EncryptBytes(ctx, []byte("x"), mm, nil); !errors.Is(err, envelope.ErrReservedContextKey) {
		t.Errorf("manager adds aws-crypto-other on a signed suite: %v", err)
	}
}

// TestNoNonFramedEncryption: the specification forbids writing non-framed
// bodies, so the options offer no way to.
func TestNoNonFramedEncryption(t *testing.T) {
	typ := reflect.TypeOf(envelope.Options{})
	for i := range typ.NumField() {
		if f := typ.Field(i); f.IsExported() && strings.Contains(strings.ToLower(f.Name), "framed") && !strings.HasPrefix(f.Name, "Max") {
			t.Errorf("Options.%s lets callers choose the body layout", f.Name)
		}
	}
	msg, err := newClient(t).EncryptBytes(context.Background(), []byte("x"), aesManager(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, err := format.ParseHeader(msg, format.Limits{}); err != nil || h.ContentType != format.Framed {
		t.Fatalf("content type %v, %v", h.ContentType, err)
	}
}

// TestFrameLengthWithinOwnLimit: a client never writes a message its own
// limits refuse to read.
func TestFrameLengthWithinOwnLimit(t *testing.T) {
	if _, err := envelope.New(func(o *envelope.Options) { o.FrameLength = 2 << 20; o.MaxFrameLength = 1 << 20 }); err == nil || !strings.Contains(err.Error(), "MaxFrameLength") {
		t.Errorf("frame length 2 MiB, MaxFrameLength 1 MiB: %v", err)
	}
	if _, err := envelope.New(func(o *envelope.Options) { o.FrameLength = 128 << 20 }); err == nil {
		t.Error("frame length 128 MiB above the default MaxFrameLength accepted")
	}
	if _, err := envelope.New(func(o *envelope.Options) { o.FrameLength = 1 << 20; o.MaxFrameLength = 1 << 20 }); err != nil {
		t.Errorf("frame length at MaxFrameLength: %v", err)
	}
}

// readCounter counts the calls that reach a source.
type readCounter struct {
	r     io.Reader
	calls int
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.calls++
	return c.r.Read(p)
}

// TestDecryptReadsInChunks: an unbuffered source (a file, a socket) is
// read in large chunks, not twice per frame.
func TestDecryptReadsInChunks(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) { o.FrameLength = 1024 })
	pt := randBytes(1 << 20)
	msg, err := c.EncryptBytes(ctx, pt, mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bufSize := range []int{100, 1024, 64 << 10} {
		src := &readCounter{r: bytes.NewReader(msg)}
		d, err := c.Decrypt(ctx, src, mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		header := src.calls
		got, err := io.ReadAll(struct{ io.Reader }{readerOf(d, bufSize)})
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%v", err)
		}
		if body := src.calls - header; body > len(msg)/(32<<10)+4 {
			t.Errorf("reads of %d bytes: %d read calls for a body of 1024 frames", bufSize, body)
		}
	}
}

// readerOf reads r at most n bytes at a time.
func readerOf(r io.Reader, n int) io.Reader {
	return readerFunc(func(p []byte) (int, error) { return r.Read(p[:min(len(p), n)]) })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestDecryptorVerify: a caller that stops reading early gets the
// message's verdict, signature included, from Verify.
func TestDecryptorVerify(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) { o.FrameLength = 64 })
	msg, err := c.EncryptBytes(ctx, randBytes(1000), mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		msg   []byte
		want  error
		first int
	}{
		{"good", msg, nil, 10},
		{"good, read to the end", msg, nil, 2000},
		{"bad signature", append(bytes.Clone(msg[:len(msg)-1]), msg[len(msg)-1]^1), envelope.ErrAuthentication, 10},
		{"bad last frame", func() []byte { m := bytes.Clone(msg); m[len(m)-110] ^= 1; return m }(), envelope.ErrAuthentication, 10},
		{"cut", msg[:len(msg)-10], envelope.ErrMalformed, 10},
		{"trailing byte", append(bytes.Clone(msg), 0), envelope.ErrMalformed, 10},
	} {
		d, err := c.Decrypt(ctx, bytes.NewReader(tc.msg), mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadFull(d, make([]byte, tc.first))
		if err := d.Verify(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Verify gave %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestErrorsSayWhatHappened checks two errors that used to hide their
// cause: a missing or cut signature, and a context entry given on
// decryption that the message does not have.
func TestErrorsSayWhatHappened(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	msg, err := c.EncryptBytes(ctx, []byte("hello"), mm, map[string]string{"purpose": "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The footer: a 2-byte length and a DER P-384 signature of about 103
	// bytes.
	footer := 0
	for n := 90; n < 110; n++ {
		if int(msg[len(msg)-2-n])<<8|int(msg[len(msg)-1-n]) == n {
			footer = 2 + n
		}
	}
	if footer == 0 {
		t.Fatal("no footer found")
	}
	for _, tc := range []struct {
		cut  int
		want string
	}{{footer, "signature is missing"}, {footer - 1, "signature is cut short"}, {footer - 30, "signature is cut short"}} {
		_, _, err := c.DecryptBytes(ctx, msg[:len(msg)-tc.cut], mm, nil)
		if !errors.Is(err, envelope.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("message cut %d bytes before its end: %v, want %q", tc.cut, err, tc.want)
		}
	}

	_, _, err = c.DecryptBytes(ctx, msg, mm, map[string]string{"purpose": "test", "tenant": "acme"})
	if !errors.Is(err, envelope.ErrAuthentication) || !strings.Contains(err.Error(), `"tenant"`) || strings.Contains(err.Error(), "acme") {
		t.Errorf("extra context key: %v, want ErrAuthentication naming \"tenant\" and not its value", err)
	}
}

// TestNonFramedSizeAbove2GiB: a non-framed body may claim more than 2 GiB
// when MaxNonFramedBodySize allows it; on 32-bit platforms, where no
// slice holds that, decryption fails with an error, not a panic.
func TestNonFramedSizeAbove2GiB(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, randBytes(100), nil, func(o *envelope.Options) { envelope.SetNonFramed(o, true) })
	_, hl, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(o *envelope.Options) { o.MaxNonFramedBodySize = 3 << 30 })
	for _, claim := range []uint64{5 << 29, 3 << 30} {
		m := bytes.Clone(msg)
		binary.BigEndian.PutUint64(m[hl+format.IVLength:], claim)
		got, _, err := c.DecryptBytes(ctx, m, mm, nil)
		if len(got) != 0 || !errors.Is(err, envelope.ErrMalformed) && !errors.Is(err, envelope.ErrLimitExceeded) {
			t.Errorf("non-framed body claiming %d bytes: %v", claim, err)
		}
	}
}

// failAfter accepts n writes, then fails every one.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// TestEncryptorErrorsSticky: once a write fails, every later write, an
// empty one too, and Close report it.
func TestEncryptorErrorsSticky(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, func(o *envelope.Options) { o.FrameLength = 16 })
	w, err := c.Encrypt(ctx, &failAfter{n: 1}, aesManager(t), nil) // the header goes through
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 100)); err == nil {
		t.Fatal("writing frames to a full disk succeeded")
	}
	if _, err := w.Write(nil); err == nil {
		t.Error("an empty write after the failure reported no error")
	}
	if err := w.Close(); err == nil {
		t.Error("Close after the failure reported no error")
	}
}

// shortAfter takes the first n bytes written to it and no more: the write
// that would go past them, and every write after it, takes what still
// fits and reports no error, as a wrapper that breaks the io.Writer
// contract does. cut says whether it cut a write.
type shortAfter struct {
	n   int
	b   []byte
	cut bool
}

func (w *shortAfter) Write(p []byte) (int, error) {
	k := min(len(p), w.n-len(w.b))
	w.b = append(w.b, p[:k]...)
	w.cut = w.cut || k < len(p)
	return k, nil
}

// TestEncryptShortWrites cuts messages short, as a destination that
// takes fewer bytes than it is given without an error does: Encrypt, a
// Write or Close reports io.ErrShortWrite, later calls report it too, and
// Close never succeeds after it. Every offset of a small message, written
// with and without a declared length (which seals the end with the
// Encryptor's final write), and offsets all through a message whose
// frames go parallel.
func TestEncryptShortWrites(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	// encrypt writes pt into w: the error of the first call that fails.
	encrypt := func(c *envelope.Client, w io.Writer, pt []byte, declared bool) (*envelope.Encryptor, error) {
		var opts []func(*envelope.EncryptOptions)
		if declared {
			opts = append(opts, envelope.WithPlaintextLength(int64(len(pt))))
		}
		e, err := c.Encrypt(ctx, w, mm, testContext, opts...)
		if err != nil {
			return nil, err
		}
		if _, err := e.Write(pt); err != nil {
			return e, err
		}
		return e, e.Close()
	}
	check := func(what string, c *envelope.Client, pt []byte, declared bool, at int) (whole bool) {
		t.Helper()
		w := &shortAfter{n: at}
		e, err := encrypt(c, w, pt, declared)
		if !w.cut {
			if err != nil {
				t.Fatalf("%s: nothing was cut, yet %v", what, err)
			}
			got, _, err := c.DecryptBytes(ctx, w.b, mm, nil)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("%s: the whole message does not decrypt: %v", what, err)
			}
			return true
		}
		if !errors.Is(err, io.ErrShortWrite) {
			t.Fatalf("%s: %v, want io.ErrShortWrite", what, err)
		}
		if e != nil {
			if _, err := e.Write(nil); !errors.Is(err, io.ErrShortWrite) {
				t.Fatalf("%s: Write after the short write: %v", what, err)
			}
			if err := e.Close(); !errors.Is(err, io.ErrShortWrite) {
				t.Fatalf("%s: Close after the short write: %v", what, err)
			}
		}
		return false
	}
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		c := newClient(t, func(o *envelope.Options) { o.Suite = id; o.FrameLength = 64; o.Concurrency = 1 })
		pt := randBytes(3*64 + 5)
		for _, declared := range []bool{false, true} {
			for at := 0; !check(fmt.Sprintf("suite %04X, declared %v, cut at %d", uint16(id), declared, at), c, pt, declared, at); at++ {
			}
		}

		// Frames of 4 KiB in one call of 4 MiB go parallel.
		c = newClient(t, func(o *envelope.Options) { o.Suite = id; o.FrameLength = 4096; o.Concurrency = 2 })
		pt = randBytes(4<<20 + 5)
		whole, err := c.EncryptBytes(ctx, pt, mm, testContext)
		if err != nil {
			t.Fatal(err)
		}
		_, headerN, _ := format.ParseHeader(whole, format.Limits{})
		// (Signatures vary in length by a few bytes: the last cut is 8
		// bytes before the end.)
		const stride = 4 + 12 + 4096 + 16
		for _, declared := range []bool{false, true} {
			for _, at := range []int{headerN, headerN + 1, headerN + stride - 1, headerN + 3*stride, headerN + 100*stride + 7, headerN + 1000*stride, len(whole) - 120, len(whole) - 8} {
				if check(fmt.Sprintf("suite %04X, 4 MiB, declared %v, cut at %d", uint16(id), declared, at), c, pt, declared, at) {
					t.Fatalf("suite %04X: a cut at %d of %d bytes cut nothing", uint16(id), at, len(whole))
				}
			}
		}
	}
}

// TestDecryptBytesWipesOnFailure: when a frame after the first or the
// signature does not verify, DecryptBytes returns no plaintext and leaves
// none in its buffer, though the frames before had verified and been
// opened into it; on one goroutine and with frames on a team.
func TestDecryptBytesWipesOnFailure(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	const fl = 4096
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, conc := range []int{1, 2} {
			c := newClient(t, func(o *envelope.Options) { o.Suite = id; o.FrameLength = fl; o.Concurrency = conc })
			pt := bytes.Repeat([]byte{0xA5}, 4<<20+100) // in one call of 4 MiB, frames go parallel
			msg, err := c.EncryptBytes(ctx, pt, mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, headerN, err := format.ParseHeader(msg, format.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			damage := map[string]int{
				"a frame near the end": headerN + 1000*(4+12+fl+16) + 100,
				"the final frame":      headerN + 1024*(4+12+fl+16) + 30,
			}
			if id == format.AES256GCMHKDFSHA512CommitKeyECDSAP384 {
				damage["the signature"] = len(msg) - 10
			}
			for what, at := range damage {
				bad := bytes.Clone(msg)
				bad[at] ^= 1
				buf := make([]byte, 0, len(bad))
				got, err := envelope.DecryptBytesInto(c, ctx, bad, mm, nil, buf)
				if !errors.Is(err, envelope.ErrAuthentication) || got != nil {
					t.Fatalf("suite %04X, concurrency %d, %s damaged: %d bytes, %v", uint16(id), conc, what, len(got), err)
				}
				if i := bytes.IndexByte(buf[:cap(buf)], 0xA5); i >= 0 {
					t.Errorf("suite %04X, concurrency %d, %s damaged: plaintext left in the buffer at %d", uint16(id), conc, what, i)
				}
			}
		}
	}
}
