package engine

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/go-esdk/esdk/format"
)

// message is one message sealed by a test, with what opening it needs.
type message struct {
	bytes   []byte
	headerN int
	dataKey []byte
	pub     *ecdsa.PublicKey
}

func testHeader(s *format.Suite, fl uint32) *format.Header {
	h := &format.Header{
		Suite:             s,
		EncryptionContext: map[string]string{"stored": "yes"},
		EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p", ProviderInfo: []byte("info"), Ciphertext: []byte("wrapped")}},
		ContentType:       format.Framed,
		FrameLength:       fl,
	}
	if fl == 0 {
		h.ContentType = format.NonFramed
	}
	return h
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var required = map[string]string{"required": "also"}

// newSealer starts a message of suite s with frame length fl (0:
// non-framed) into dst.
func newSealer(t testing.TB, dst io.Writer, s *format.Suite, fl uint32) (*Sealer, *message) {
	t.Helper()
	m := &message{dataKey: randBytes(s.KeyLength())}
	p := SealParams{Header: testHeader(s, fl), DataKey: bytes.Clone(m.dataKey), RequiredContext: required}
	if s.Signed() {
		key, err := GenerateSigningKey(s)
		if err != nil {
			t.Fatal(err)
		}
		p.SigningKey, m.pub = key, &key.PublicKey
	}
	sl, err := NewSealer(dst, p)
	if err != nil {
		t.Fatal(err)
	}
	return sl, m
}

// seal seals pt as one message.
func seal(t testing.TB, s *format.Suite, fl uint32, pt []byte) *message {
	t.Helper()
	var buf bytes.Buffer
	sl, m := newSealer(t, &buf, s, fl)
	if _, err := sl.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	m.bytes = buf.Bytes()
	_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})
	return m
}

func (m *message) openParams(t testing.TB, msg []byte) OpenParams {
	t.Helper()
	h, n, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return OpenParams{Header: h, RawHeader: msg[:n], DataKey: m.dataKey, RequiredContext: required, VerificationKey: m.pub}
}

// open opens msg (m's bytes or a changed copy) from src.
func (m *message) open(t testing.TB, msg []byte, src io.Reader) ([]byte, error) {
	t.Helper()
	o, err := NewOpener(src, m.openParams(t, msg))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(o)
}

func (m *message) body() []byte { return m.bytes[m.headerN:] }

// TestSealOpen seals and opens every suite around the frame length, and
// reads the body in every way the opener knows: from a source that lends
// its bytes, one that copies them, and one that returns a byte at a time.
func TestSealOpen(t *testing.T) {
	const fl = 100
	for _, s := range format.Suites() {
		for _, n := range []int{0, 1, fl - 1, fl, fl + 1, 2*fl + 50, 5 * fl} {
			for _, frameLength := range []uint32{fl, 0} {
				pt := randBytes(n)
				m := seal(t, s, frameLength, pt)
				for name, src := range map[string]func() io.Reader{
					"lends":      func() io.Reader { return bytes.NewBuffer(m.body()) },
					"copies":     func() io.Reader { return bytes.NewReader(m.body()) },
					"one byte":   func() io.Reader { return iotest.OneByteReader(bytes.NewReader(m.body())) },
					"half reads": func() io.Reader { return iotest.HalfReader(bytes.NewReader(m.body())) },
				} {
					got, err := m.open(t, m.bytes, src())
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("suite %s, %d bytes, frame length %d, source %s: %v", s.ID(), n, frameLength, name, err)
					}
				}
				o, err := NewOpener(bytes.NewReader(m.body()), m.openParams(t, m.bytes))
				if err != nil {
					t.Fatal(err)
				}
				if err := iotest.TestReader(o, pt); err != nil {
					t.Fatalf("suite %s, %d bytes: %v", s.ID(), n, err)
				}
			}
		}
	}
}

// TestOpenerFailures checks the opener's key schedule: a wrong data key,
// a changed header, a missing required entry, a wrong verification key.
func TestOpenerFailures(t *testing.T) {
	for _, s := range format.Suites() {
		m := seal(t, s, 64, randBytes(200))
		try := func(what string, change func(*OpenParams)) {
			t.Helper()
			p := m.openParams(t, m.bytes)
			change(&p)
			if _, err := NewOpener(bytes.NewReader(m.body()), p); !errors.Is(err, ErrAuthentication) {
				t.Errorf("suite %s, %s: %v, want ErrAuthentication", s.ID(), what, err)
			}
		}
		try("other data key", func(p *OpenParams) { p.DataKey = randBytes(s.KeyLength()) })
		try("header changed", func(p *OpenParams) {
			p.RawHeader = bytes.Clone(p.RawHeader)
			p.RawHeader[len(p.RawHeader)-p.Header.AuthLength()-1] ^= 1
		})
		try("required entry left out", func(p *OpenParams) { p.RequiredContext = nil })
		if s.Signed() {
			other, _ := GenerateSigningKey(s)
			p := m.openParams(t, m.bytes)
			p.VerificationKey = &other.PublicKey
			got, err := func() ([]byte, error) {
				o, err := NewOpener(bytes.NewReader(m.body()), p)
				if err != nil {
					return nil, err
				}
				return io.ReadAll(o)
			}()
			if !errors.Is(err, ErrAuthentication) || len(got) > 3*64 {
				t.Errorf("suite %s, other verification key: %v, %d bytes released", s.ID(), err, len(got))
			}
		}
	}
}

// TestFrameIVChecked hand-makes messages whose body parts are sealed, with
// valid tags, under IVs other than those their sequence numbers give, as
// a writer that reuses nonces would: the opener refuses them.
func TestFrameIVChecked(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	for _, tc := range []struct {
		name string
		fl   uint32
		n    int
	}{{"regular frame", 32, 100}, {"final frame", 32, 10}, {"non-framed body", 0, 50}} {
		t.Run(tc.name, func(t *testing.T) {
			pt := randBytes(tc.n)
			m := seal(t, s, tc.fl, pt)
			p := m.openParams(t, m.bytes)
			aead, _, err := messageKeys(s, m.dataKey, p.Header.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			// The first body part: its IV field and its ciphertext.
			msg := bytes.Clone(m.bytes)
			off := m.headerN
			var kind Kind
			var length int
			switch {
			case tc.fl == 0:
				kind, length = NonFramedBody, tc.n
			case tc.n <= int(tc.fl):
				kind, length = FinalFrame, tc.n
				off += 8
			default:
				kind, length = RegularFrame, int(tc.fl)
				off += 4
			}
			ivField := msg[off : off+format.IVLength]
			ctOff := off + format.IVLength
			if kind != RegularFrame {
				ctOff += map[Kind]int{FinalFrame: 4, NonFramedBody: 8}[kind]
			}
			// Seal part 1 again under the IV of sequence number 2.
			var iv [format.IVLength]byte
			putFrameIV(iv[:], 2)
			copy(ivField, iv[:])
			aad := appendBodyAAD(nil, p.Header.MessageID, kind, 1, uint64(length))
			aead.Seal(msg[ctOff:ctOff], iv[:], pt[:length], aad)

			got, err := m.open(t, msg, bytes.NewReader(msg[m.headerN:]))
			if !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "IV") {
				t.Fatalf("IV of sequence number 2 on part 1: %v, want ErrAuthentication naming the IV", err)
			}
			if len(got) != 0 {
				t.Fatalf("released %d bytes", len(got))
			}
		})
	}
}

// TestFrameCountLimit checks the last sequence numbers without writing
// four billion frames: the counters start near the end. A message may
// have 2^32-1 frames: regular frames up to 2^32-2, the final frame 2^32-1.
func TestFrameCountLimit(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	const fl = 16
	pt := randBytes(2*fl + 5)
	var buf bytes.Buffer
	sl, m := newSealer(t, &buf, s, fl)
	sl.seq = MaxFrames - 2
	if _, err := sl.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := sl.Close(); err != nil {
		t.Fatalf("frames %d to %d: %v", uint32(MaxFrames-2), uint32(MaxFrames), err)
	}
	m.bytes = buf.Bytes()
	_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})
	body := m.body()
	if seq := binary.BigEndian.Uint32(body); seq != MaxFrames-2 {
		t.Fatalf("first frame %d", seq)
	}
	final := body[2*(regularHeaderLength+fl+format.TagLength):]
	if binary.BigEndian.Uint32(final) != FinalFrameMarker || binary.BigEndian.Uint32(final[4:]) != MaxFrames {
		t.Fatalf("final frame header %x", final[:8])
	}
	o, err := NewOpener(bytes.NewReader(body), m.openParams(t, m.bytes))
	if err != nil {
		t.Fatal(err)
	}
	o.r.seq = MaxFrames - 2
	if got, err := io.ReadAll(o); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("opening frames up to 2^32-1: %v", err)
	}

	// One frame more does not fit.
	sl, _ = newSealer(t, io.Discard, s, fl)
	sl.seq = MaxFrames - 1
	if _, err := sl.Write(pt); !errors.Is(err, format.ErrLimitExceeded) || !errors.Is(err, &format.LimitError{Limit: format.LimitFrameCount}) {
		t.Fatalf("frame 2^32: %v, want the frame-count limit", err)
	}
}

// TestFrameCipherAnyOrder opens the frames of a message out of order and
// on several goroutines, from FrameReader's output: what parallel
// decryption stands on.
func TestFrameCipherAnyOrder(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	const fl = 50
	pt := randBytes(20*fl + 7)
	m := seal(t, s, fl, pt)
	p := m.openParams(t, m.bytes)
	sig := signatureHash(s)
	sig.Write(p.RawHeader)
	r := NewFrameReader(bytes.NewReader(m.body()), p.Header, sig, 0)
	var frames []Frame
	for {
		f, err := r.Next(nil)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.IV, f.Ciphertext = bytes.Clone(f.IV), bytes.Clone(f.Ciphertext)
		frames = append(frames, f)
	}
	if len(frames) != 21 || frames[20].Kind != FinalFrame || frames[3].Kind != RegularFrame || frames[3].Seq != 4 {
		t.Fatalf("%d frames", len(frames))
	}
	footer, err := r.ReadFooter()
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(m.pub, sig, footer); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckEnd(); err != nil {
		t.Fatal(err)
	}
	aead, _, _ := messageKeys(s, m.dataKey, p.Header.MessageID)
	fc := NewFrameCipher(aead, p.Header.MessageID)
	got := make([]byte, len(pt))
	var wg sync.WaitGroup
	errs := make([]error, len(frames))
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := fc.Clone()
			for i := len(frames) - 1 - w; i >= 0; i -= 4 {
				_, errs[i] = c.Open(got[i*fl:i*fl], frames[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("frames opened out of order: %v", err)
	}
	// A frame opened as another kind or number fails, naming it.
	for _, f := range []Frame{
		{Kind: FinalFrame, Seq: frames[0].Seq, IV: frames[0].IV, Ciphertext: frames[0].Ciphertext},
		{Kind: RegularFrame, Seq: 2, IV: frames[2].IV, Ciphertext: frames[0].Ciphertext},
		{Kind: RegularFrame, Seq: 1, IV: frames[0].IV, Ciphertext: frames[0].Ciphertext[:10]},
	} {
		if _, err := fc.Open(nil, f); !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), fmt.Sprintf("frame %d", f.Seq)) {
			t.Errorf("%v frame %d: %v", f.Kind, f.Seq, err)
		}
	}
}

// TestOpenerTruncated cuts a signed message at every byte of its body.
func TestOpenerTruncated(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	m := seal(t, s, 32, randBytes(80))
	for n := m.headerN; n < len(m.bytes); n++ {
		got, err := m.open(t, m.bytes, bytes.NewReader(m.bytes[m.headerN:n]))
		if !errors.Is(err, format.ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d of %d: %v", n, len(m.bytes), err)
		}
		if len(got) > 64 {
			t.Fatalf("cut at %d of %d: the final frame was released", n, len(m.bytes))
		}
	}
	if _, err := m.open(t, m.bytes, bytes.NewReader(append(bytes.Clone(m.body()), 0))); !errors.Is(err, format.ErrMalformed) {
		t.Fatalf("a byte after the message: %v", err)
	}
}

// TestOpenerVerify reads part of a message and lets Verify finish it.
func TestOpenerVerify(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	m := seal(t, s, 32, randBytes(300))
	o, err := NewOpener(bytes.NewReader(m.body()), m.openParams(t, m.bytes))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := o.Verify(); err != nil {
		t.Fatalf("Verify of a good message: %v", err)
	}
	bad := bytes.Clone(m.bytes)
	bad[len(bad)-1] ^= 1 // the signature
	o, err = NewOpener(bytes.NewReader(bad[m.headerN:]), m.openParams(t, bad))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Verify(); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Verify of a bad signature: %v", err)
	}
	if n, err := o.Read(make([]byte, 10)); n != 0 || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("Read after a failed Verify: %d, %v", n, err)
	}
}

// TestNewAEADWipesKey checks that the derived key does not outlive the
// cipher made from it.
func TestNewAEADWipesKey(t *testing.T) {
	key := randBytes(32)
	if _, err := newAEAD(key); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("key after newAEAD: %x", key)
	}
}

// TestSealerWipesOnError checks that a sealer that fails does not keep
// the plaintext it held.
func TestSealerWipesOnError(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	for _, fl := range []uint32{64, 0} {
		sl, _ := newSealer(t, &failAfter{n: 1}, s, fl) // the header goes through
		held := sl.buf                                 // where the sealer will hold the plaintext
		if fl > 0 {
			held = sl.frameBuffer()
		}
		held = held[:cap(held)]
		pt := bytes.Repeat([]byte{0xA5}, 100)
		_, werr := sl.Write(pt)
		cerr := sl.Close()
		if werr == nil && cerr == nil {
			t.Fatalf("frame length %d: writing to a full disk succeeded", fl)
		}
		if len(sl.buf) != 0 {
			t.Errorf("frame length %d: the sealer keeps its buffer after failing", fl)
		}
		if !bytes.Equal(held, make([]byte, len(held))) {
			t.Fatalf("frame length %d: the sealer's buffer is not wiped after %v / %v", fl, werr, cerr)
		}
	}
}

// TestKeyCurvesChecked refuses signing and verification keys on the wrong
// curve, and keys for unsigned suites.
func TestKeyCurvesChecked(t *testing.T) {
	p256 := format.MustSuite(format.AES128GCMIV12Tag16HKDFSHA256ECDSAP256)
	p384 := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	unsigned := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	k256, _ := GenerateSigningKey(p256)
	for _, tc := range []struct {
		s   *format.Suite
		key *ecdsa.PrivateKey
	}{{p384, k256}, {unsigned, k256}, {p384, nil}} {
		_, err := NewSealer(io.Discard, SealParams{Header: testHeader(tc.s, 64), DataKey: randBytes(tc.s.KeyLength()), SigningKey: tc.key})
		if err == nil {
			t.Errorf("suite %s sealed with key %v", tc.s.ID(), tc.key != nil)
		}
	}
	m := seal(t, p384, 64, []byte("x"))
	p := m.openParams(t, m.bytes)
	p.VerificationKey = &k256.PublicKey
	if _, err := NewOpener(bytes.NewReader(m.body()), p); err == nil || !strings.Contains(err.Error(), "curve") {
		t.Errorf("P-384 message opened with a P-256 key: %v", err)
	}
}

func TestBodyLayout(t *testing.T) {
	mid := bytes.Repeat([]byte{0xAB}, 32)
	for kind, s := range map[Kind]string{
		RegularFrame:  "AWSKMSEncryptionClient Frame",
		FinalFrame:    "AWSKMSEncryptionClient Final Frame",
		NonFramedBody: "AWSKMSEncryptionClient Single Block",
	} {
		aad := appendBodyAAD(nil, mid, kind, 7, 1<<33)
		want := append(bytes.Clone(mid), s...)
		want = append(want, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 0)
		if !bytes.Equal(aad, want) {
			t.Errorf("%v: AAD %x, want %x", kind, aad, want)
		}
		if len(aad) > maxBodyAADLength {
			t.Errorf("%v: AAD of %d bytes exceeds maxBodyAADLength %d", kind, len(aad), maxBodyAADLength)
		}
	}
	b := appendRegularHeader(nil, 0x01020304)
	if !bytes.Equal(b, []byte{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}) || !isFrameIV(b[4:], 0x01020304) || isFrameIV(b[4:], 5) {
		t.Errorf("regular frame header %x", b)
	}
	b = appendFinalHeader(nil, 3, 9)
	if len(b) != finalHeaderLength || binary.BigEndian.Uint32(b) != FinalFrameMarker ||
		binary.BigEndian.Uint32(b[4:]) != 3 || !isFrameIV(b[8:20], 3) || binary.BigEndian.Uint32(b[20:]) != 9 {
		t.Errorf("final frame header %x", b)
	}
	if b := appendNonFramedHeader(nil, 1<<35); len(b) != nonFramedHeaderLength || !isFrameIV(b[:12], 1) || binary.BigEndian.Uint64(b[12:]) != 1<<35 {
		t.Errorf("non-framed header %x", b)
	}
	if b := appendFooter(nil, []byte{1, 2, 3}); !bytes.Equal(b, []byte{0, 3, 1, 2, 3}) {
		t.Errorf("footer %x", b)
	}
}

// appender is a destination with room to seal into, as EncryptBytes'
// buffer is, of at most max bytes in all (room runs out past it).
type appender struct {
	b   []byte
	max int
}

func (a *appender) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

func (a *appender) Room(n int) []byte {
	if len(a.b)+n > a.max {
		return nil
	}
	a.b = slices.Grow(a.b, n)
	return a.b[len(a.b) : len(a.b)+n]
}

func (a *appender) Commit(n int) { a.b = a.b[:len(a.b)+n] }

// TestWriteFinal: sealing the end of the plaintext with WriteFinal, into
// a plain writer or into the room a destination has (all of it, part of it
// or none), writes the same bytes as Write and Close, for every way the
// plaintext can arrive; and nothing can be written after it.
func TestWriteFinal(t *testing.T) {
	const fl = 100
	id := randBytes(32)
	for _, sid := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES128GCMIV12Tag16HKDFSHA256} {
		s := format.MustSuite(sid)
		dk := randBytes(s.KeyLength())
		start := func(dst io.Writer) *Sealer {
			h := testHeader(s, fl)
			h.MessageID = bytes.Clone(id[:s.MessageIDLength()])
			sl, err := NewSealer(dst, SealParams{Header: h, DataKey: bytes.Clone(dk), RequiredContext: required})
			if err != nil {
				t.Fatal(err)
			}
			return sl
		}
		for _, n := range []int{0, 1, fl - 1, fl, fl + 1, 2*fl + 50, 5 * fl} {
			pt := randBytes(n)
			var want bytes.Buffer
			sl := start(&want)
			if _, err := sl.Write(pt); err != nil {
				t.Fatal(err)
			}
			if err := sl.Close(); err != nil {
				t.Fatal(err)
			}
			for _, split := range []int{0, min(n, 37), min(n, fl), min(n, fl+1)} {
				for _, room := range []int{1 << 20, len(want.Bytes()) - 60, 0} {
					dst := &appender{max: room}
					sl := start(dst)
					if _, err := sl.Write(pt[:split]); err != nil {
						t.Fatal(err)
					}
					if err := sl.WriteFinal(pt[split:]); err != nil {
						t.Fatal(err)
					}
					if _, err := sl.Write([]byte{1}); !errors.Is(err, ErrClosed) {
						t.Fatalf("Write after WriteFinal: %v", err)
					}
					if err := sl.WriteFinal([]byte{1}); !errors.Is(err, ErrClosed) {
						t.Fatalf("WriteFinal after WriteFinal: %v", err)
					}
					if err := sl.Close(); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(dst.b, want.Bytes()) {
						t.Fatalf("suite %s, %d bytes, %d written first, room for %d: WriteFinal wrote other bytes than Write and Close", sid, n, split, room)
					}
				}
			}
		}
	}
}

// TestOpenerWipesPooledBuffer: the buffer the final frame is opened in,
// which comes from the pool, holds no plaintext once the plaintext is
// read, and goes back to the pool.
func TestOpenerWipesPooledBuffer(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	pt := bytes.Repeat([]byte{0xA5}, 150)
	m := seal(t, s, 100, pt)
	o, err := NewOpener(bytes.NewReader(m.body()), m.openParams(t, m.bytes))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 120) // the regular frame, and the final one's start
	if _, err := io.ReadFull(o, got); err != nil {
		t.Fatal(err)
	}
	if o.r.box == nil {
		t.Fatal("the final frame was not read into a pooled buffer")
	}
	held := o.r.buf[:cap(o.r.buf)]
	if !bytes.Contains(held, pt[:16]) {
		t.Fatal("the final frame's plaintext is not where the test looks")
	}
	rest, err := io.ReadAll(o)
	if err != nil || !bytes.Equal(append(got, rest...), pt) {
		t.Fatalf("read %d bytes, %v", len(got)+len(rest), err)
	}
	if !bytes.Equal(held, make([]byte, len(held))) {
		t.Error("the pooled buffer still holds plaintext after the message was read")
	}
	if o.r.box != nil || o.r.buf != nil {
		t.Error("the reader keeps its buffer after the message was read")
	}
}
