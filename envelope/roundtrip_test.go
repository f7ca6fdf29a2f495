package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

func aesManager(t testing.TB) *envelope.DefaultManager {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "test-namespace", Name: "test-key", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return mustManager(t, kr)
}

func mustManager(t testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	t.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		t.Fatal(err)
	}
	return mm
}

// policyFor returns a policy that lets s encrypt.
func policyFor(s *format.Suite) envelope.CommitmentPolicy {
	if s.Committing() {
		return envelope.RequireEncryptRequireDecrypt
	}
	return envelope.ForbidEncryptAllowDecrypt
}

func newClient(t testing.TB, fns ...func(*envelope.Options)) *envelope.Client {
	t.Helper()
	c, err := envelope.New(fns...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var testContext = map[string]string{"purpose": "test", "zeta": "last", "ünï": "cödé"}

func TestRoundTripEverySuiteAndSize(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	const n = 128
	for _, s := range format.Suites() {
		for _, nonFramed := range []bool{false, true} {
			c := newClient(t, func(o *envelope.Options) {
				o.CommitmentPolicy = policyFor(s)
				o.Suite = s.ID()
				o.FrameLength = n
				envelope.SetNonFramed(o, nonFramed)
			})
			for _, size := range []int{0, 1, n - 1, n, n + 1, 2 * n, 3*n + 7} {
				name := fmt.Sprintf("%04X/framed=%v/%d", uint16(s.ID()), !nonFramed, size)
				t.Run(name, func(t *testing.T) {
					pt := randBytes(size)
					ct, err := c.EncryptBytes(ctx, pt, mm, testContext)
					if err != nil {
						t.Fatal(err)
					}
					got, h, err := c.DecryptBytes(ctx, ct, mm, nil)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatalf("plaintext differs")
					}
					if h.Suite != s {
						t.Fatalf("suite %s, want %s", h.Suite.ID(), s.ID())
					}
					for k, v := range testContext {
						if h.EncryptionContext[k] != v {
							t.Fatalf("context %q = %q, want %q", k, h.EncryptionContext[k], v)
						}
					}
					_, hasPub := h.EncryptionContext[format.PublicKeyContextKey]
					if hasPub != s.Signed() {
						t.Fatalf("public key in context: %v, signed suite: %v", hasPub, s.Signed())
					}
					// Streaming, through the iotest readers.
					d, err := c.Decrypt(ctx, iotest.HalfReader(bytes.NewReader(ct)), mm, nil)
					if err != nil {
						t.Fatal(err)
					}
					if err := iotest.TestReader(d, pt); err != nil {
						t.Fatal(err)
					}
					for _, r := range []io.Reader{iotest.OneByteReader(bytes.NewReader(ct)), iotest.DataErrReader(bytes.NewReader(ct))} {
						d, err := c.Decrypt(ctx, r, mm, nil)
						if err != nil {
							t.Fatal(err)
						}
						got, err := io.ReadAll(iotest.OneByteReader(d))
						if err != nil || !bytes.Equal(got, pt) {
							t.Fatalf("streaming decrypt: %v, equal %v", err, bytes.Equal(got, pt))
						}
					}
				})
			}
		}
	}
}

// TestFinalFrameLayout checks the body layout: regular frames then one
// final frame, full when the plaintext is a whole number of frames.
func TestFinalFrameLayout(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKey
		o.FrameLength = 100
	})
	for _, tc := range []struct{ size, frames, last int }{
		{0, 1, 0}, {1, 1, 1}, {100, 1, 100}, {101, 2, 1}, {300, 3, 100}, {307, 4, 7},
	} {
		ct, err := c.EncryptBytes(ctx, randBytes(tc.size), mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, hl, err := format.ParseHeader(ct, format.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		body := ct[hl:]
		regular := (tc.frames - 1) * (4 + 12 + 100 + 16)
		final := body[regular:]
		if got := len(final); got != 4+4+12+4+tc.last+16 {
			t.Errorf("size %d: final frame is %d bytes, want %d", tc.size, got, 4+4+12+4+tc.last+16)
		}
	}
}

func TestStreamingWritesOfEverySize(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKeyECDSAP384
		o.FrameLength = 64
	})
	pt := randBytes(1000)
	for _, chunk := range []int{1, 7, 63, 64, 65, 128, 999, 1000} {
		var buf bytes.Buffer
		w, err := c.Encrypt(ctx, &buf, mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		for p := pt; len(p) > 0; {
			k := min(chunk, len(p))
			if n, err := w.Write(p[:k]); err != nil || n != k {
				t.Fatalf("Write = %d, %v", n, err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte{1}); !errors.Is(err, envelope.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
		got, _, err := c.DecryptBytes(ctx, buf.Bytes(), mm, nil)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
	}
}

// TestNonFramedEverySize encrypts non-framed bodies of every size up to
// past two buffer growths, in one write and in odd-sized writes, so that
// sealing in place meets every spare capacity the buffer can have.
func TestNonFramedEverySize(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKey
		envelope.SetNonFramed(o, true)
	})
	all := randBytes(8300)
	for n := 0; n <= len(all); n++ {
		pt := all[:n]
		ct, err := c.EncryptBytes(ctx, pt, mm, nil)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		var buf bytes.Buffer
		w, err := c.Encrypt(ctx, &buf, mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		for p := pt; len(p) > 0; p = p[min(777, len(p)):] {
			w.Write(p[:min(777, len(p))])
		}
		if err := w.Close(); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		for _, msg := range [][]byte{ct, buf.Bytes()} {
			got, _, err := c.DecryptBytes(ctx, msg, mm, nil)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("size %d: %v", n, err)
			}
		}
	}
}

// TestEncryptBytesSizedOnce: EncryptBytes allocates the message once, at
// its exact length for unsigned suites and at most a few bytes longer for
// signed ones (DER signatures vary in length).
func TestEncryptBytesSizedOnce(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	const fl = 128
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256, format.AES256GCMIV12Tag16NoKDF} {
		c := newClient(t, func(o *envelope.Options) {
			o.Suite, o.FrameLength = id, fl
			o.CommitmentPolicy = envelope.ForbidEncryptAllowDecrypt
			if format.MustSuite(id).Committing() {
				o.CommitmentPolicy = envelope.RequireEncryptRequireDecrypt
			}
		})
		for _, n := range []int{0, 1, fl - 1, fl, fl + 1, 3 * fl, 3*fl + 5} {
			msg, err := c.EncryptBytes(ctx, randBytes(n), mm, testContext)
			if err != nil {
				t.Fatalf("%s, %d bytes: %v", id, n, err)
			}
			spare, most := cap(msg)-len(msg), 0
			if format.MustSuite(id).Signed() {
				most = 8 + 104 - 72 // a P-256 signature is up to 32 bytes shorter than the bound
			}
			if spare < 0 || spare > most {
				t.Errorf("%s, %d bytes: a %d-byte message in a %d-byte array", id, n, len(msg), cap(msg))
			}
		}
	}
}

// TestMessageBufferTooLarge: a message too large for one slice is an
// error, not a panic.
func TestMessageBufferTooLarge(t *testing.T) {
	w := envelope.NewMessageBuffer(math.MaxInt64 - 100)
	if _, err := w.Write(make([]byte, 200)); err == nil || !strings.Contains(err.Error(), "stream it with Encrypt") {
		t.Fatalf("Write = %v, want an error", err)
	}
	w = envelope.NewMessageBuffer(10)
	if n, err := w.Write([]byte("header")); n != 6 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
}
