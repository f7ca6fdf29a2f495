package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// onePassReader counts the bytes read from r, and fails a read after
// io.EOF: a one-pass source that cannot be read twice.
type onePassReader struct {
	r   io.Reader
	n   int64
	eof bool
}

func (c *onePassReader) Read(p []byte) (int, error) {
	if c.eof {
		return 0, errors.New("read after io.EOF")
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.eof = err == io.EOF
	return n, err
}

// multiAES is a multi-keyring of n raw AES keys.
func multiAES(t *testing.T, n int) keyring.Keyring {
	t.Helper()
	var krs []keyring.Keyring
	for i := range n {
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "ns", Name: fmt.Sprint("k", i), WrappingKey: randBytes(32)})
		if err != nil {
			t.Fatal(err)
		}
		krs = append(krs, kr)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
	if err != nil {
		t.Fatal(err)
	}
	return multi
}

// headerLength is the length of msg's header.
func headerLength(t *testing.T, msg []byte) int64 {
	t.Helper()
	_, n, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return int64(n)
}

// TestReadHeaderThenDecrypt decrypts in two steps and counts what is
// read: the header once, by ReadHeader, and then the body only, once.
func TestReadHeaderThenDecrypt(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	for _, s := range format.Suites() {
		t.Run(s.ID().String(), func(t *testing.T) {
			c := newClient(t, func(o *envelope.Options) {
				o.CommitmentPolicy = policyFor(s)
				o.Suite = s.ID()
				o.FrameLength = 64
			})
			pt := randBytes(1000)
			msg, err := c.EncryptBytes(ctx, pt, mm, testContext)
			if err != nil {
				t.Fatal(err)
			}
			hlen := headerLength(t, msg)

			src := &onePassReader{r: bytes.NewReader(msg)}
			m, err := c.ReadHeader(src)
			if err != nil {
				t.Fatal(err)
			}
			if src.n != hlen {
				t.Fatalf("ReadHeader read %d bytes, the header has %d", src.n, hlen)
			}
			h := m.Header()
			stored := maps.Clone(h.EncryptionContext)
			delete(stored, "aws-crypto-public-key") // the signed suites'
			if h.Suite != s || !maps.Equal(stored, testContext) || len(h.EncryptedDataKeys) != 1 {
				t.Fatalf("header: suite %s, context %v, %d keys", h.Suite.ID(), h.EncryptionContext, len(h.EncryptedDataKeys))
			}
			d, err := m.Decrypt(ctx, mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(d)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatal("plaintext differs")
			}
			if src.n != int64(len(msg)) {
				t.Fatalf("read %d bytes of a %d-byte message", src.n, len(msg))
			}
			if !maps.Equal(d.Header().EncryptionContext, h.EncryptionContext) || d.Header().Suite != h.Suite {
				t.Error("the authenticated header differs from the header read")
			}

			// Client.Decrypt reads exactly as much, in one step.
			one := &onePassReader{r: bytes.NewReader(msg)}
			d1, err := c.Decrypt(ctx, one, mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(d1); err != nil {
				t.Fatal(err)
			}
			if one.n != src.n {
				t.Errorf("Client.Decrypt read %d bytes, the two steps %d", one.n, src.n)
			}
		})
	}
}

// TestReadHeaderTampered flips each byte of a header: either ReadHeader
// refuses it, or the second step does; never does a changed header give
// plaintext. A change that still parses (the message id, the tag) fails
// authentication in Decrypt.
func TestReadHeaderTampered(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	pt := randBytes(300)
	msg, err := c.EncryptBytes(ctx, pt, mm, testContext)
	if err != nil {
		t.Fatal(err)
	}
	h, hlen, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	idAt := 1 + 2 // version, suite id
	tagAt := hlen - len(h.AuthTag)
	parsed := 0
	for i := range hlen {
		bad := bytes.Clone(msg)
		bad[i] ^= 0x01
		m, err := c.ReadHeader(bytes.NewReader(bad))
		if err != nil {
			if i == idAt || i == tagAt {
				t.Fatalf("byte %d: ReadHeader: %v; the header still parses", i, err)
			}
			continue
		}
		parsed++
		d, err := m.Decrypt(ctx, mm, nil)
		if err == nil {
			_, err = io.ReadAll(d)
		}
		if err == nil {
			t.Fatalf("byte %d of the header flipped: decrypted", i)
		}
		if (i == idAt || i == tagAt) && !errors.Is(err, envelope.ErrAuthentication) {
			t.Fatalf("byte %d: %v, want ErrAuthentication", i, err)
		}
	}
	if parsed == 0 {
		t.Fatal("no flipped header parsed: the second step was never tried")
	}
}

// TestMessageHeaderIsACopy: what a caller does to the header it was
// given changes nothing that Decrypt authenticates or reports.
func TestMessageHeaderIsACopy(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	msg, err := c.EncryptBytes(ctx, []byte("copy"), mm, testContext)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.ReadHeader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header()
	h.EncryptionContext["purpose"] = "changed"
	h.EncryptedDataKeys[0].ProviderID = "changed"
	h.MessageID[0] ^= 1
	h.Suite = format.MustSuite(format.AES128GCMIV12Tag16NoKDF)
	d, err := m.Decrypt(ctx, mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(d); err != nil {
		t.Fatal(err)
	}
	if d.Header().EncryptionContext["purpose"] != testContext["purpose"] || d.Header().Suite.ID() != format.AES256GCMHKDFSHA512CommitKeyECDSAP384 ||
		m.Header().EncryptedDataKeys[0].ProviderID != "test-namespace" {
		t.Fatal("a change to the copy reached the message")
	}
}

func TestMessageDecryptOnce(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	msg, err := c.EncryptBytes(ctx, []byte("once"), mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.ReadHeader(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decrypt(ctx, nil, nil); err == nil {
		t.Fatal("Decrypt without a materials manager")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Decrypt(canceled, mm, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
	if _, err := m.Decrypt(ctx, mm, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decrypt(ctx, mm, nil); err == nil {
		t.Fatal("a second Decrypt of the same message")
	}
}

// TestReadHeaderLimits: the client's limits stop ReadHeader, with the
// errors Client.Decrypt gives.
func TestReadHeaderLimits(t *testing.T) {
	ctx := context.Background()
	mm3 := mustManager(t, multiAES(t, 3))
	msg, err := newClient(t).EncryptBytes(ctx, []byte("three keys"), mm3, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 2 })
	_, err = c.ReadHeader(bytes.NewReader(msg))
	if !errors.Is(err, envelope.ErrTooManyEncryptedDataKeys) {
		t.Fatalf("ReadHeader: %v, want ErrTooManyEncryptedDataKeys", err)
	}
	_, err2 := c.Decrypt(ctx, bytes.NewReader(msg), mm3, nil)
	if err2 == nil || err.Error() != err2.Error() {
		t.Fatalf("ReadHeader: %v; Decrypt: %v", err, err2)
	}
	c = newClient(t, func(o *envelope.Options) { o.MaxHeaderSize = 100 })
	if _, err := c.ReadHeader(bytes.NewReader(msg)); !errors.Is(err, envelope.ErrLimitExceeded) {
		t.Fatalf("ReadHeader: %v, want ErrLimitExceeded", err)
	}
	if _, err := c.ReadHeader(bytes.NewReader(msg[:50])); err == nil {
		t.Fatal("ReadHeader of a truncated header")
	}
}
