package envelope_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
)

// Hostile inputs: hand-built or patched messages must fail with clear
// errors, early, and without allocating what their length fields claim.

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// fenceReader serves b[:limit] and fails any read past it, to prove that
// a caller stopped at limit.
type fenceReader struct {
	b     []byte
	limit int
	off   int
}

var errPastFence = errors.New("read past the end of the header")

func (f *fenceReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.off >= f.limit {
		return 0, errPastFence
	}
	n := copy(p, f.b[f.off:f.limit])
	f.off += n
	return n, nil
}

// hostileV2Prefix is a version 2 header up to and including the encrypted
// data key count.
func hostileV2Prefix(count uint16) []byte {
	b := []byte{0x02, 0x04, 0x78}
	b = append(b, make([]byte, 32)...) // message id
	b = append(b, 0x00, 0x00)          // empty encryption context
	return binary.BigEndian.AppendUint16(b, count)
}

// validHeader marshals a well-formed header of suite id with a dummy data
// key, to be patched.
func validHeader(t *testing.T, id format.SuiteID, ct format.ContentType) []byte {
	t.Helper()
	s := format.MustSuite(id)
	h := &format.Header{
		Suite:             s,
		MessageID:         bytes.Repeat([]byte{0x11}, s.MessageIDLength()),
		EncryptionContext: map[string]string{"k": "v"},
		EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p", ProviderInfo: []byte("i"), Ciphertext: []byte("c")}},
		ContentType:       ct,
		SuiteData:         make([]byte, s.SuiteDataLength()),
		AuthTag:           make([]byte, format.TagLength),
	}
	if ct == format.Framed {
		h.FrameLength = 4096
	}
	if s.MessageVersion() == 1 {
		h.AuthIV = make([]byte, format.IVLength)
	}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, n, err := format.ParseHeader(b, format.Limits{}); err != nil || n != len(b) {
		t.Fatalf("valid header does not parse: %d, %v", n, err)
	}
	return b
}

// frameLengthOffset is where the frame length field of a header of n
// bytes starts.
func frameLengthOffset(s *format.Suite, n int) int {
	if s.MessageVersion() == 1 {
		return n - format.IVLength - format.TagLength - 4
	}
	return n - format.TagLength - format.CommitmentLength - 4
}

// checkHeaderErr parses b with ParseHeader, ReadHeader and a client and
// requires every one to fail with target.
func checkHeaderErr(t *testing.T, b []byte, target error, contains string) {
	t.Helper()
	checkHeaderErrLimits(t, b, target, contains, func(o *envelope.Options) { o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt })
}

func checkHeaderErrLimits(t *testing.T, b []byte, target error, contains string, fn func(*envelope.Options)) {
	t.Helper()
	if _, _, err := format.ParseHeader(b, format.Limits{}); !errors.Is(err, target) || !strings.Contains(err.Error(), contains) {
		t.Errorf("ParseHeader: %v, want %v mentioning %q", err, target, contains)
	}
	if _, _, err := format.ReadHeader(bytes.NewReader(b), format.Limits{}); !errors.Is(err, target) || !strings.Contains(err.Error(), contains) {
		t.Errorf("ReadHeader: %v, want %v mentioning %q", err, target, contains)
	}
	c := newClient(t, fn)
	pt, h, err := c.DecryptBytes(context.Background(), b, aesManager(t), nil)
	if !errors.Is(err, target) || pt != nil || h != nil {
		t.Errorf("DecryptBytes: %v (plaintext %v, header %v), want %v", err, pt != nil, h != nil, target)
	}
}

func TestHostileDataKeyCount(t *testing.T) {
	b := append(hostileV2Prefix(0xFFFF), 0x00, 0x01, 'p', 0x00, 0x00, 0x00)
	countEnd := len(hostileV2Prefix(0xFFFF))

	t.Run("truncated", func(t *testing.T) {
		checkHeaderErrLimits(t, b, envelope.ErrMalformed, "truncated", func(o *envelope.Options) { o.MaxEncryptedDataKeys = 0xFFFF })
		_, _, err := format.ParseHeader(b, format.Limits{})
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ParseHeader: %v, want io.ErrUnexpectedEOF too", err)
		}
	})

	t.Run("allocations", func(t *testing.T) {
		c := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 0xFFFF })
		mm := aesManager(t)
		run := func() {
			format.ParseHeader(b, format.Limits{})
			format.ReadHeader(bytes.NewReader(b), format.Limits{})
			c.Decrypt(context.Background(), bytes.NewReader(b), mm, nil)
		}
		run()
		const rounds = 20
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range rounds {
			run()
		}
		runtime.ReadMemStats(&after)
		perRun := (after.TotalAlloc - before.TotalAlloc) / rounds
		if perRun > 64<<10 {
			t.Errorf("a 65,535-key header of %d bytes allocates %d bytes per parse", len(b), perRun)
		}
		if allocs := testing.AllocsPerRun(rounds, run); allocs > 100 {
			t.Errorf("a 65,535-key header allocates %.0f times per parse", allocs)
		}
		t.Logf("%d bytes in %d allocations per ParseHeader+ReadHeader+Decrypt", perRun, int(testing.AllocsPerRun(rounds, run)))
	})

	t.Run("limit", func(t *testing.T) {
		// Plenty of well-formed keys follow: only the limit can stop it.
		full := hostileV2Prefix(0xFFFF)
		for range 100 {
			full = append(full, 0, 1, 'p', 0, 1, 'i', 0, 1, 'c')
		}
		_, _, err := format.ParseHeader(full, format.Limits{MaxEncryptedDataKeys: 3})
		checkLimit(t, "ParseHeader", err, 0, countEnd, 3)
		r := &countingReader{r: bytes.NewReader(full)}
		_, _, err = format.ReadHeader(r, format.Limits{MaxEncryptedDataKeys: 3})
		checkLimit(t, "ReadHeader", err, r.n, countEnd, 3)
		c := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 3 })
		r = &countingReader{r: bytes.NewReader(full)}
		d, err := c.Decrypt(context.Background(), r, aesManager(t), nil)
		if d != nil {
			t.Error("Decrypt returned a Decryptor")
		}
		checkLimit(t, "Decrypt", err, r.n, countEnd, 3)
		// The default limit applies too.
		r = &countingReader{r: bytes.NewReader(full)}
		_, err = newClient(t).Decrypt(context.Background(), r, aesManager(t), nil)
		checkLimit(t, "Decrypt with the default limit", err, r.n, countEnd, envelope.DefaultMaxEncryptedDataKeys)
	})
}

// checkLimit requires err to be the MaxEncryptedDataKeys limit on a
// 65,535-key header, raised with no more than countEnd bytes read.
func checkLimit(t *testing.T, api string, err error, read, countEnd int, limit int64) {
	t.Helper()
	var le *format.LimitError
	if !errors.Is(err, envelope.ErrLimitExceeded) || !errors.Is(err, envelope.ErrTooManyEncryptedDataKeys) || !errors.As(err, &le) {
		t.Fatalf("%s: %v, want a LimitError", api, err)
	}
	if le.Limit != format.LimitEncryptedDataKeys || le.Max != limit || le.Got != 0xFFFF ||
		strings.HasPrefix(api, "Decrypt") && !strings.Contains(err.Error(), "Options.MaxEncryptedDataKeys") {
		t.Errorf("%s: %+v (%v)", api, *le, err)
	}
	if read > countEnd {
		t.Errorf("%s read %d bytes, the count ends at %d", api, read, countEnd)
	}
}

func TestHostileHeaderFields(t *testing.T) {
	t.Run("context length past the end", func(t *testing.T) {
		b := []byte{0x02, 0x04, 0x78}
		b = append(b, make([]byte, 32)...)
		b = append(b, 0xFF, 0xFF, 0x00, 0x01, 0x00, 0x01, 'k')
		checkHeaderErr(t, b, envelope.ErrMalformed, "truncated")
	})
	t.Run("framed with frame length 0", func(t *testing.T) {
		for _, id := range []format.SuiteID{format.AES128GCMIV12Tag16NoKDF, format.AES256GCMHKDFSHA512CommitKey} {
			b := validHeader(t, id, format.Framed)
			off := frameLengthOffset(format.MustSuite(id), len(b))
			binary.BigEndian.PutUint32(b[off:], 0)
			checkHeaderErr(t, b, envelope.ErrMalformed, "frame length 0")
		}
	})
	t.Run("non-framed with a frame length", func(t *testing.T) {
		b := validHeader(t, format.AES256GCMHKDFSHA512CommitKey, format.NonFramed)
		off := frameLengthOffset(format.MustSuite(format.AES256GCMHKDFSHA512CommitKey), len(b))
		binary.BigEndian.PutUint32(b[off:], 4096)
		checkHeaderErr(t, b, envelope.ErrMalformed, "non-framed")
	})
	t.Run("unknown content type", func(t *testing.T) {
		b := validHeader(t, format.AES256GCMIV12Tag16HKDFSHA256, format.Framed)
		b[frameLengthOffset(format.MustSuite(format.AES256GCMIV12Tag16HKDFSHA256), len(b))-6] = 0x03
		checkHeaderErr(t, b, envelope.ErrMalformed, "content type")
	})
	t.Run("wrong IV length v1", func(t *testing.T) {
		for _, iv := range []byte{0, 11, 13, 16, 0xFF} {
			b := validHeader(t, format.AES256GCMIV12Tag16HKDFSHA256, format.Framed)
			b[frameLengthOffset(format.MustSuite(format.AES256GCMIV12Tag16HKDFSHA256), len(b))-1] = iv
			checkHeaderErr(t, b, envelope.ErrMalformed, "IV length")
		}
	})
	t.Run("non-zero reserved bytes v1", func(t *testing.T) {
		for i := range 4 {
			b := validHeader(t, format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256, format.NonFramed)
			b[frameLengthOffset(format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256), len(b))-5+i] = 0x01
			checkHeaderErr(t, b, envelope.ErrMalformed, "reserved")
		}
	})
	t.Run("v1 header type", func(t *testing.T) {
		b := validHeader(t, format.AES256GCMIV12Tag16HKDFSHA256, format.Framed)
		b[1] = 0x81
		checkHeaderErr(t, b, envelope.ErrMalformed, "header type")
	})
	t.Run("unknown suite id", func(t *testing.T) {
		for _, id := range []uint16{0x0000, 0x0015, 0x0079, 0x0278, 0x0479, 0xFFFF} {
			for _, v := range []format.SuiteID{format.AES256GCMIV12Tag16HKDFSHA256, format.AES256GCMHKDFSHA512CommitKey} {
				b := validHeader(t, v, format.Framed)
				off := 2
				if v == format.AES256GCMHKDFSHA512CommitKey {
					off = 1
				}
				binary.BigEndian.PutUint16(b[off:], id)
				checkHeaderErr(t, b, envelope.ErrUnsupportedSuite, fmt.Sprintf("0x%04X", id))
			}
		}
	})
	t.Run("suite of the other version", func(t *testing.T) {
		b := validHeader(t, format.AES256GCMHKDFSHA512CommitKey, format.Framed)
		binary.BigEndian.PutUint16(b[1:], uint16(format.AES256GCMIV12Tag16HKDFSHA256))
		checkHeaderErr(t, b, envelope.ErrMalformed, "version")
	})
	t.Run("version byte", func(t *testing.T) {
		for _, v := range []byte{0x00, 0x03, 0x7B, 0x80, 0xFF} {
			b := validHeader(t, format.AES256GCMHKDFSHA512CommitKey, format.Framed)
			b[0] = v
			checkHeaderErr(t, b, envelope.ErrNotESDK, fmt.Sprintf("0x%02X", v))
		}
	})
	t.Run("no data keys", func(t *testing.T) {
		b := append(hostileV2Prefix(0), make([]byte, 64)...)
		checkHeaderErr(t, b, envelope.ErrMalformed, "no encrypted data keys")
	})
}

func TestHostileBase64Message(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	for _, id := range []format.SuiteID{format.AES256GCMIV12Tag16HKDFSHA256, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		enc := newClient(t, func(o *envelope.Options) {
			o.CommitmentPolicy = policyFor(format.MustSuite(id))
			o.Suite = id
		})
		msg, err := enc.EncryptBytes(ctx, []byte("hello"), mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		dec := newClient(t, func(o *envelope.Options) { o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt })
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
			text := []byte(enc.EncodeToString(msg))
			pt, _, err := dec.DecryptBytes(ctx, text, mm, nil)
			if !errors.Is(err, envelope.ErrNotESDK) || !strings.Contains(err.Error(), "base64") || pt != nil {
				t.Errorf("suite %s, base64 text %.8q...: %v, want ErrNotESDK mentioning base64", id, text, err)
			}
		}
	}
}

// encryptFor encrypts pt with suite id and the given options.
func encryptFor(t *testing.T, mm envelope.MaterialsManager, id format.SuiteID, pt []byte, ec map[string]string, fns ...func(*envelope.Options)) []byte {
	t.Helper()
	c := newClient(t, append([]func(*envelope.Options){func(o *envelope.Options) {
		o.CommitmentPolicy = policyFor(format.MustSuite(id))
		o.Suite = id
	}}, fns...)...)
	msg, err := c.EncryptBytes(context.Background(), pt, mm, ec)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestHostileCommitmentMismatch(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		msg := encryptFor(t, mm, id, randBytes(100), tamperContext)
		h, hl, err := format.ParseHeader(msg, format.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		start := hl - format.TagLength - format.CommitmentLength
		if !bytes.Equal(msg[start:start+format.CommitmentLength], h.SuiteData) {
			t.Fatal("commitment is not where expected")
		}
		for _, i := range []int{0, 1, 17, 31} {
			m := bytes.Clone(msg)
			m[start+i] ^= 0x80
			// A reader that fails past the header proves no body was read.
			d, err := c.Decrypt(ctx, &fenceReader{b: m, limit: hl}, mm, nil)
			if d != nil || !errors.Is(err, envelope.ErrAuthentication) || !strings.Contains(err.Error(), "commitment") {
				t.Errorf("suite %s, commitment byte %d changed: Decrypt = %v, %v; want ErrAuthentication about the commitment", id, i, d != nil, err)
			}
			pt, _, err := c.DecryptBytes(ctx, m, mm, nil)
			if pt != nil || !errors.Is(err, envelope.ErrAuthentication) {
				t.Errorf("suite %s, commitment byte %d changed: DecryptBytes: %v", id, i, err)
			}
		}
	}
}

func TestHostileLimits(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	pt := randBytes(3000)

	t.Run("MaxFrameLength", func(t *testing.T) {
		msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, pt, nil, func(o *envelope.Options) { o.FrameLength = 2048 })
		_, hl, _ := format.ParseHeader(msg, format.Limits{})
		c := newClient(t, func(o *envelope.Options) { o.MaxFrameLength, o.FrameLength = 1024, 1024 })
		d, err := c.Decrypt(ctx, &fenceReader{b: msg, limit: hl}, mm, nil)
		var le *format.LimitError
		if d != nil || !errors.Is(err, envelope.ErrLimitExceeded) || !strings.Contains(err.Error(), "MaxFrameLength") ||
			!errors.As(err, &le) || le.Max != 1024 || le.Got != 2048 {
			t.Errorf("frame length 2048, MaxFrameLength 1024: %v", err)
		}
		// The limit holds for a hostile header too, before its tag is checked.
		m := bytes.Clone(msg)
		binary.BigEndian.PutUint32(m[frameLengthOffset(format.MustSuite(format.AES256GCMHKDFSHA512CommitKey), hl):], format.MaxFrameLength)
		_, err = newClient(t).Decrypt(ctx, &fenceReader{b: m, limit: hl}, mm, nil)
		if !errors.Is(err, envelope.ErrLimitExceeded) || !strings.Contains(err.Error(), "MaxFrameLength") {
			t.Errorf("frame length 2^31-1, default MaxFrameLength: %v", err)
		}
		// Exactly at the limit is fine.
		c = newClient(t, func(o *envelope.Options) { o.MaxFrameLength, o.FrameLength = 2048, 2048 })
		if got, _, err := c.DecryptBytes(ctx, msg, mm, nil); err != nil || !bytes.Equal(got, pt) {
			t.Errorf("frame length 2048, MaxFrameLength 2048: %v", err)
		}
	})

	t.Run("MaxNonFramedBodySize", func(t *testing.T) {
		msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, pt, nil, func(o *envelope.Options) { envelope.SetNonFramed(o, true) })
		c := newClient(t, func(o *envelope.Options) { o.MaxNonFramedBodySize = 1000 })
		got, err := streamDecrypt(c, msg, mm, 5)
		if len(got) != 0 || !errors.Is(err, envelope.ErrLimitExceeded) || !strings.Contains(err.Error(), "MaxNonFramedBodySize") {
			t.Errorf("non-framed body of 3000 bytes, limit 1000: released %d bytes, %v", len(got), err)
		}
		// A hostile length claim: nothing near it is allocated.
		_, hl, _ := format.ParseHeader(msg, format.Limits{})
		lenOff := hl + format.IVLength
		for _, claim := range []uint64{1 << 40, engine.MaxNonFramedLength + 1, 1 << 30, 60 << 20} {
			m := bytes.Clone(msg)
			binary.BigEndian.PutUint64(m[lenOff:], claim)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := streamDecrypt(newClient(t), m, mm, 5)
			runtime.ReadMemStats(&after)
			if len(got) != 0 || !errors.Is(err, envelope.ErrLimitExceeded) && !errors.Is(err, envelope.ErrMalformed) {
				t.Errorf("non-framed length %d: released %d bytes, %v", claim, len(got), err)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 4<<20 {
				t.Errorf("non-framed length %d in a %d-byte message: allocated %d bytes", claim, len(m), a)
			}
		}
	})

	t.Run("MaxHeaderSize", func(t *testing.T) {
		ec := map[string]string{"big": strings.Repeat("x", 1000)}
		msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, pt, ec)
		c := newClient(t, func(o *envelope.Options) { o.MaxHeaderSize = 200 })
		r := &countingReader{r: bytes.NewReader(msg)}
		d, err := c.Decrypt(ctx, r, mm, nil)
		var le *format.LimitError
		if d != nil || !errors.Is(err, envelope.ErrLimitExceeded) || !strings.Contains(err.Error(), "MaxHeaderSize") ||
			!errors.As(err, &le) || le.Max != 200 {
			t.Errorf("header over 1000 bytes, MaxHeaderSize 200: %v", err)
		}
		if r.n > 200 {
			t.Errorf("read %d bytes with MaxHeaderSize 200", r.n)
		}
	})

	t.Run("MaxEncryptedDataKeys on encrypt", func(t *testing.T) {
		c := newClient(t, func(o *envelope.Options) { o.MaxEncryptedDataKeys = 1 })
		if _, err := c.EncryptBytes(ctx, pt, mm, nil); err != nil {
			t.Errorf("one data key, limit 1: %v", err)
		}
	})
}

func TestHostileBody(t *testing.T) {
	mm := aesManager(t)
	pt := randBytes(tamperPlaintext)
	dec := newClient(t, func(o *envelope.Options) { o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt })
	for _, id := range []format.SuiteID{format.AES128GCMIV12Tag16NoKDF, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		msg := encryptFor(t, mm, id, pt, nil, func(o *envelope.Options) { o.FrameLength = tamperFrameLength })
		spans, _ := messageLayout(t, msg)
		frames := map[int]span{} // whole regular frames, by number
		var final span
		for _, sp := range spans {
			switch {
			case sp.part > 0:
				f, ok := frames[sp.part]
				if !ok {
					f = sp
				}
				f.end = sp.end
				frames[sp.part] = f
			case strings.HasPrefix(sp.name, "final frame: "):
				if final.end == 0 {
					final = sp
				}
				final.end = sp.end
			}
		}
		// check reads m every way: it must fail with want (either of
		// ErrMalformed and ErrAuthentication when nil) having released at
		// most allowed bytes of plaintext.
		check := func(name string, m []byte, allowed int, want error) {
			t.Helper()
			for _, mode := range readModes {
				got, _, err := streamRead(dec, m, mm, mode)
				if want == nil && !errors.Is(err, envelope.ErrMalformed) && !errors.Is(err, envelope.ErrAuthentication) ||
					want != nil && !errors.Is(err, want) {
					t.Errorf("suite %s, %s, %s: %v, want %v", id, name, mode, err, want)
				}
				if len(got) > allowed || !bytes.HasPrefix(pt, got) {
					t.Errorf("suite %s, %s, %s: released %d bytes, at most %d allowed", id, name, mode, len(got), allowed)
				}
			}
			if p, _, err := dec.DecryptBytes(context.Background(), m, mm, nil); p != nil || err == nil {
				t.Errorf("suite %s, %s: DecryptBytes returned plaintext", id, name)
			}
		}
		swap := func(i, j int) []byte {
			a, b := frames[i], frames[j]
			m := bytes.Clone(msg[:a.start])
			m = append(m, msg[b.start:b.end]...)
			m = append(m, msg[a.end:b.start]...)
			m = append(m, msg[a.start:a.end]...)
			return append(m, msg[b.end:]...)
		}
		check("frames 1 and 2 swapped", swap(1, 2), 0, nil)
		check("frames 2 and 3 swapped", swap(2, 3), tamperFrameLength, nil)
		dup := bytes.Clone(msg[:frames[2].start])
		dup = append(dup, msg[frames[1].start:frames[1].end]...)
		dup = append(dup, msg[frames[2].start:]...)
		check("frame 1 repeated", dup, tamperFrameLength, nil)
		skip := append(bytes.Clone(msg[:frames[2].start]), msg[frames[3].start:]...)
		check("frame 2 left out", skip, tamperFrameLength, nil)
		noFinal := append(bytes.Clone(msg[:final.start]), msg[final.end:]...)
		check("final frame left out", noFinal, 3*tamperFrameLength, nil)

		m := bytes.Clone(msg)
		binary.BigEndian.PutUint32(m[final.start+4:], 3)
		check("final frame numbered 3", m, 3*tamperFrameLength, nil)
		m = bytes.Clone(msg)
		binary.BigEndian.PutUint32(m[final.start+4:], 5)
		check("final frame numbered 5", m, 3*tamperFrameLength, nil)
		m = bytes.Clone(msg)
		binary.BigEndian.PutUint32(m[frames[1].start:], 0)
		check("frame numbered 0", m, 0, nil)
		for _, l := range []uint32{tamperFrameLength + 1, 1 << 31, 0xFFFFFFFF} {
			m = bytes.Clone(msg)
			binary.BigEndian.PutUint32(m[final.start+4+4+format.IVLength:], l)
			check(fmt.Sprintf("final frame length %d", l), m, 3*tamperFrameLength, envelope.ErrMalformed)
		}
	}
}

func TestHostileUnsignedOnly(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
		o.DecryptUnsignedOnly = true
	})
	for _, s := range format.Suites() {
		msg := encryptFor(t, mm, s.ID(), randBytes(100), nil)
		_, hl, err := format.ParseHeader(msg, format.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Signed() {
			d, err := c.Decrypt(ctx, &fenceReader{b: msg, limit: hl}, mm, nil)
			if d != nil || !errors.Is(err, envelope.ErrSignedMessage) {
				t.Errorf("signed suite %s with DecryptUnsignedOnly: %v, want ErrSignedMessage", s.ID(), err)
			}
			continue
		}
		if _, _, err := c.DecryptBytes(ctx, msg, mm, nil); err != nil {
			t.Errorf("unsigned suite %s with DecryptUnsignedOnly: %v", s.ID(), err)
		}
	}
}

func TestHostileCommitmentPolicy(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	strict := newClient(t) // RequireEncryptRequireDecrypt
	for _, s := range format.Suites() {
		if s.Committing() {
			continue
		}
		msg := encryptFor(t, mm, s.ID(), randBytes(10), nil)
		_, hl, _ := format.ParseHeader(msg, format.Limits{})
		d, err := strict.Decrypt(ctx, &fenceReader{b: msg, limit: hl}, mm, nil)
		if d != nil || !errors.Is(err, envelope.ErrCommitmentPolicy) {
			t.Errorf("v1 suite %s under RequireEncryptRequireDecrypt: %v, want ErrCommitmentPolicy", s.ID(), err)
		}
	}
	// Encryption with a non-committing suite is refused by the require policies.
	for _, p := range []envelope.CommitmentPolicy{envelope.RequireEncryptRequireDecrypt, envelope.RequireEncryptAllowDecrypt} {
		_, err := envelope.New(func(o *envelope.Options) {
			o.CommitmentPolicy = p
			o.Suite = format.AES256GCMIV12Tag16HKDFSHA256
		})
		if !errors.Is(err, envelope.ErrCommitmentPolicy) {
			t.Errorf("%s with suite 0x0178: %v, want ErrCommitmentPolicy", p, err)
		}
	}
}

func TestHostileEncryptionContext(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t)
	ec := map[string]string{"tenant": "a", "purpose": "x"}
	msg := encryptFor(t, mm, format.AES256GCMHKDFSHA512CommitKey, []byte("secret"), ec)

	if _, _, err := c.DecryptBytes(ctx, msg, mm, map[string]string{"tenant": "a"}); err != nil {
		t.Errorf("matching reproduced context: %v", err)
	}
	for _, rep := range []map[string]string{{"tenant": "b"}, {"tenant": ""}, {"tenant": "a", "purpose": "y"}} {
		pt, _, err := c.DecryptBytes(ctx, msg, mm, rep)
		if pt != nil || !errors.Is(err, envelope.ErrContextMismatch) {
			t.Errorf("reproduced context %v: %v, want ErrContextMismatch", rep, err)
		}
	}
	// A reproduced key the message does not store becomes authenticated
	// only, and fails the header tag.
	pt, _, err := c.DecryptBytes(ctx, msg, mm, map[string]string{"extra": "1"})
	if pt != nil || !errors.Is(err, envelope.ErrAuthentication) {
		t.Errorf("reproduced context with an extra key: %v, want ErrAuthentication", err)
	}

	for _, k := range []string{"aws-crypto-x", "aws-crypto-", format.PublicKeyContextKey} {
		var dst bytes.Buffer
		w, err := c.Encrypt(ctx, &dst, mm, map[string]string{k: "v", "ok": "v"})
		if w != nil || !errors.Is(err, envelope.ErrReservedContextKey) || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("encrypt with context key %q: %v, want a reserved-prefix error", k, err)
		}
		if dst.Len() != 0 {
			t.Errorf("encrypt with context key %q wrote %d bytes", k, dst.Len())
		}
		if ct, err := c.EncryptBytes(ctx, []byte("x"), mm, map[string]string{k: "v"}); ct != nil || err == nil {
			t.Errorf("EncryptBytes with context key %q: %v", k, err)
		}
		if _, err := envelope.NewRequiredContextManager(envelope.RequiredContextManagerOptions{Inner: mm, Keys: []string{k}}); !errors.Is(err, envelope.ErrReservedContextKey) {
			t.Errorf("required context key %q accepted", k)
		}
	}
	// Keys that only look similar are fine.
	for _, k := range []string{"aws-crypto", "AWS-CRYPTO-x", "x-aws-crypto-"} {
		if _, err := c.EncryptBytes(ctx, []byte("x"), mm, map[string]string{k: "v"}); err != nil {
			t.Errorf("context key %q: %v", k, err)
		}
	}
}
