package engine

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/go-esdk/esdk/format"
)

// anyParallel makes every call of three frames or more go parallel, and
// every goroutine claim one frame at a time, for the length of a test.
func anyParallel(t testing.TB) {
	old, grain := parallelMin.Swap(0), grainBytes.Swap(0)
	t.Cleanup(func() { parallelMin.Store(old); grainBytes.Store(grain) })
}

// sealWith seals pt with concurrency n, writing it in pieces of w bytes
// (0: one Write).
func sealWith(t testing.TB, s *format.Suite, fl uint32, pt []byte, n, w int) *message {
	t.Helper()
	var buf bytes.Buffer
	m := &message{dataKey: randBytes(s.KeyLength())}
	p := SealParams{Header: testHeader(s, fl), DataKey: bytes.Clone(m.dataKey), RequiredContext: required, Concurrency: n}
	if s.Signed() {
		key, err := GenerateSigningKey(s)
		if err != nil {
			t.Fatal(err)
		}
		p.SigningKey, m.pub = key, &key.PublicKey
	}
	sl, err := NewSealer(&buf, p)
	if err != nil {
		t.Fatal(err)
	}
	for rest := pt; ; {
		k := len(rest)
		if w > 0 {
			k = min(k, w)
		}
		if _, err := sl.Write(rest[:k]); err != nil {
			t.Fatal(err)
		}
		if rest = rest[k:]; len(rest) == 0 {
			break
		}
	}
	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	m.bytes = buf.Bytes()
	_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})
	return m
}

// openWith opens msg from src with concurrency n, reading r bytes at a
// time, and returns what was released and the error that ended it.
func (m *message) openWith(t testing.TB, msg []byte, src io.Reader, n, r int) ([]byte, error) {
	t.Helper()
	p := m.openParams(t, msg)
	p.Concurrency = n
	o, err := NewOpener(src, p)
	if err != nil {
		return nil, err
	}
	var got []byte
	buf := make([]byte, r)
	for {
		k, err := o.Read(buf)
		got = append(got, buf[:k]...)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
	}
}

// TestParallelSameBytes checks that parallel sealing writes the bytes the
// sequential path writes, and that parallel opening reads every message
// back, from sources that lend their bytes and ones that do not.
func TestParallelSameBytes(t *testing.T) {
	anyParallel(t)
	const fl = 64
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES128GCMIV12Tag16NoKDF} {
		s := format.MustSuite(id)
		for _, size := range []int{0, 1, fl, 2 * fl, 2*fl + 1, 3 * fl, 3*fl + 1, 4 * fl, 100*fl - 1, 100 * fl, 100*fl + 1, 1000*fl + 5} {
			pt := randBytes(size)
			m := sealWith(t, s, fl, pt, 4, 0)
			// Sequential sealing of the same message, with the same key
			// and message id, gives the same bytes up to the signature.
			var seq bytes.Buffer
			h := testHeader(s, fl)
			h.MessageID = m.openParams(t, m.bytes).Header.MessageID
			sp := SealParams{Header: h, DataKey: bytes.Clone(m.dataKey), RequiredContext: required}
			if s.Signed() {
				sp.SigningKey, _ = GenerateSigningKey(s)
			}
			sl, err := NewSealer(&seq, sp)
			if err != nil {
				t.Fatal(err)
			}
			sl.Write(pt)
			if err := sl.Close(); err != nil {
				t.Fatal(err)
			}
			regular := 0
			if size > 0 {
				regular = (size - 1) / fl
			}
			bodyEnd := m.headerN + regular*(regularHeaderLength+fl+format.TagLength) + finalHeaderLength + size - regular*fl + format.TagLength
			if seq.Len() < bodyEnd || !bytes.Equal(seq.Bytes()[:bodyEnd], m.bytes[:bodyEnd]) {
				t.Fatalf("suite %s, %d bytes: parallel and sequential sealing differ", id, size)
			}
			// Parallel sealing into the room a destination has (for the
			// whole message, or too little), ending with WriteFinal or
			// with Write and Close, gives the same bytes too.
			for _, room := range []int{1 << 30, bodyEnd / 2} {
				for _, final := range []bool{true, false} {
					dst := &appender{max: room}
					h := testHeader(s, fl)
					h.MessageID = sp.Header.MessageID
					lp := SealParams{Header: h, DataKey: bytes.Clone(m.dataKey), RequiredContext: required, SigningKey: sp.SigningKey, Concurrency: 4}
					sl, err := NewSealer(dst, lp)
					if err != nil {
						t.Fatal(err)
					}
					if final {
						err = sl.WriteFinal(pt)
					} else {
						_, err = sl.Write(pt)
					}
					if err != nil {
						t.Fatal(err)
					}
					if err := sl.Close(); err != nil {
						t.Fatal(err)
					}
					if len(dst.b) < bodyEnd || !bytes.Equal(dst.b[:bodyEnd], m.bytes[:bodyEnd]) {
						t.Fatalf("suite %s, %d bytes, room for %d, WriteFinal %v: sealing into its room differs", id, size, room, final)
					}
					lm := &message{bytes: dst.b, dataKey: m.dataKey}
					if s.Signed() {
						lm.pub = &lp.SigningKey.PublicKey
					}
					_, lm.headerN, _ = format.ParseHeader(lm.bytes, format.Limits{})
					if got, err := lm.openWith(t, lm.bytes, bytes.NewBuffer(lm.body()), 2, len(pt)+1); err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("suite %s, %d bytes, room for %d, WriteFinal %v: %v", id, size, room, final, err)
					}
				}
			}
			for _, n := range []int{1, 2, 3, 8} {
				for _, r := range []int{fl - 1, 3 * fl, 7*fl + 3, len(pt) + 1000} {
					for name, src := range map[string]func() io.Reader{
						"lends":  func() io.Reader { return bytes.NewBuffer(m.body()) },
						"copies": func() io.Reader { return bytes.NewReader(m.body()) },
						"chunks": func() io.Reader { return struct{ io.Reader }{bytes.NewReader(m.body())} },
					} {
						got, err := m.openWith(t, m.bytes, src(), n, r)
						if err != nil || !bytes.Equal(got, pt) {
							t.Fatalf("suite %s, %d bytes, concurrency %d, reads of %d, source %s: %v (equal %v)", id, size, n, r, name, err, bytes.Equal(got, pt))
						}
					}
				}
			}
		}
	}
}

// TestParallelWritesOfEverySize writes a message in pieces of many sizes
// with concurrency 3 and reads it back.
func TestParallelWritesOfEverySize(t *testing.T) {
	anyParallel(t)
	const fl = 32
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	pt := randBytes(50*fl + 7)
	for _, w := range []int{1, fl - 1, fl, fl + 1, 3 * fl, 3*fl + 1, 5*fl - 1, 17 * fl} {
		m := sealWith(t, s, fl, pt, 3, w)
		if got, err := m.openWith(t, m.bytes, bytes.NewBuffer(m.body()), 3, len(pt)); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("writes of %d: %v", w, err)
		}
	}
}

// TestParallelTamper damages one frame of a message (its ciphertext, its
// tag, its sequence number or IV), or the signature, and opens it with
// concurrency 4: the frames before the damaged one may be released, and
// nothing from it on, neither as bytes returned nor left in the buffer.
func TestParallelTamper(t *testing.T) {
	anyParallel(t)
	const fl = 64
	const frames = 40
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		s := format.MustSuite(id)
		pt := randBytes(frames*fl + 10) // 40 regular frames and a final one
		m := sealWith(t, s, fl, pt, 4, 0)
		frameAt := func(k int) int { return m.headerN + (k-1)*(regularHeaderLength+fl+format.TagLength) }
		type damage struct {
			what    string
			pos     int
			allowed int // plaintext bytes that may be released
		}
		var cases []damage
		for _, k := range []int{1, 2, 3, 7, 20, 39, 40} {
			cases = append(cases,
				damage{fmt.Sprintf("frame %d sequence number", k), frameAt(k) + 3, (k - 1) * fl},
				damage{fmt.Sprintf("frame %d IV", k), frameAt(k) + 4 + 11, (k - 1) * fl},
				damage{fmt.Sprintf("frame %d ciphertext", k), frameAt(k) + regularHeaderLength + fl/2, (k - 1) * fl},
				damage{fmt.Sprintf("frame %d tag", k), frameAt(k) + regularHeaderLength + fl + 3, (k - 1) * fl},
			)
		}
		cases = append(cases, damage{"final frame ciphertext", frameAt(frames+1) + finalHeaderLength + 2, frames * fl})
		if s.Signed() {
			cases = append(cases, damage{"signature", len(m.bytes) - 1, frames * fl})
		}
		for _, c := range cases {
			bad := bytes.Clone(m.bytes)
			bad[c.pos] ^= 0x10
			for _, r := range []int{5 * fl, 16*fl + 1, len(pt) + 100} {
				for _, lend := range []bool{true, false} {
					var src io.Reader = bytes.NewReader(bad[m.headerN:])
					if lend {
						src = bytes.NewBuffer(bytes.Clone(bad[m.headerN:]))
					}
					p := m.openParams(t, bad)
					p.Concurrency = 4
					o, err := NewOpener(src, p)
					if err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, r)
					var got []byte
					for {
						k, err2 := o.Read(buf)
						got = append(got, buf[:k]...)
						if err2 != nil {
							err = err2
							break
						}
					}
					what := fmt.Sprintf("suite %s, %s, reads of %d, lends %v", id, c.what, r, lend)
					if err == io.EOF || err == nil {
						t.Fatalf("%s: no error", what)
					}
					if !bytes.HasPrefix(pt, got) || len(got) > c.allowed || len(got)%fl != 0 {
						t.Fatalf("%s: released %d bytes (allowed %d): %v", what, len(got), c.allowed, err)
					}
					for i := len(got); i+8 <= len(pt); i += fl {
						if bytes.Contains(buf, pt[i:i+8]) {
							t.Fatalf("%s: the buffer holds plaintext of frame %d, not released", what, i/fl+1)
						}
					}
				}
			}
		}
	}
}

// TestParallelNoGoroutineLeft abandons openers and sealers mid-message
// and checks that no goroutine of theirs is left.
func TestParallelNoGoroutineLeft(t *testing.T) {
	anyParallel(t)
	const fl = 128
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	pt := randBytes(500 * fl)
	m := sealWith(t, s, fl, pt, 4, 0)
	base := runtime.NumGoroutine()
	for range 20 {
		p := m.openParams(t, m.bytes)
		p.Concurrency = 4
		o, err := NewOpener(bytes.NewReader(m.body()), p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(o, make([]byte, 100*fl)); err != nil {
			t.Fatal(err)
		}
		sl, _ := newSealerN(t, io.Discard, s, fl, 4)
		if _, err := sl.Write(pt[:200*fl]); err != nil {
			t.Fatal(err)
		}
		// Both abandoned here.
	}
	// A goroutine that has finished its work may take a moment to exit.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Fatalf("%d goroutines left running, %d before", n, base)
	}
}

func newSealerN(t testing.TB, dst io.Writer, s *format.Suite, fl uint32, n int) (*Sealer, *message) {
	t.Helper()
	m := &message{dataKey: randBytes(s.KeyLength())}
	p := SealParams{Header: testHeader(s, fl), DataKey: bytes.Clone(m.dataKey), RequiredContext: required, Concurrency: n}
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

// failAfter accepts n writes, then fails every one.
type failAfter struct{ n int }

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// shortAfter takes the first n bytes written to it and no more: the write
// that would go past them, and every write after it, takes what still
// fits (nothing, in the end) and reports no error, as a wrapper that
// breaks the io.Writer contract does. cut says whether it cut a write.
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

// TestShortWrites cuts a small message short at every offset, for every
// way of writing it (one Write and Close, Writes of a few frames each,
// WriteFinal), on one goroutine and on a team: the sealer's calls report
// io.ErrShortWrite from the one that wrote past the cut, the error is
// sticky, and Close never succeeds after it; when nothing is cut the
// message is whole.
func TestShortWrites(t *testing.T) {
	anyParallel(t)
	const fl = 32
	pt := randBytes(5*fl + 7)
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		s := format.MustSuite(id)
		dataKey := randBytes(s.KeyLength())
		var key *ecdsa.PrivateKey
		if s.Signed() {
			key, _ = GenerateSigningKey(s)
		}
		for _, conc := range []int{1, 4} {
			for _, way := range []string{"Write", "pieces", "WriteFinal"} {
				// write writes pt with the sealer: the error of the first
				// call that fails, or of Close.
				write := func(sl *Sealer) error {
					switch way {
					case "Write":
						if _, err := sl.Write(pt); err != nil {
							return err
						}
					case "pieces":
						for p := pt; len(p) > 0; {
							k := min(len(p), 3*fl+5) // three frames: a team's call
							if _, err := sl.Write(p[:k]); err != nil {
								return err
							}
							p = p[k:]
						}
					case "WriteFinal":
						if err := sl.WriteFinal(pt); err != nil {
							return err
						}
					}
					return sl.Close()
				}
				for at := 0; ; at++ {
					what := fmt.Sprintf("suite %s, concurrency %d, %s, cut at %d", id, conc, way, at)
					w := &shortAfter{n: at}
					sl, err := NewSealer(w, SealParams{Header: testHeader(s, fl), DataKey: bytes.Clone(dataKey), RequiredContext: required, SigningKey: key, Concurrency: conc})
					if err == nil {
						err = write(sl)
					}
					if !w.cut {
						if err != nil {
							t.Fatalf("%s: nothing was cut, yet %v", what, err)
						}
						m := &message{bytes: w.b, dataKey: dataKey}
						if key != nil {
							m.pub = &key.PublicKey
						}
						_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})
						if got, err := m.open(t, m.bytes, bytes.NewReader(m.body())); err != nil || !bytes.Equal(got, pt) {
							t.Fatalf("%s: the whole message does not open: %v", what, err)
						}
						break
					}
					if !errors.Is(err, io.ErrShortWrite) {
						t.Fatalf("%s: %v, want io.ErrShortWrite", what, err)
					}
					if sl == nil {
						continue // the header was cut: there is no sealer
					}
					if _, err := sl.Write(pt[:1]); !errors.Is(err, io.ErrShortWrite) {
						t.Fatalf("%s: Write after the short write: %v", what, err)
					}
					if err := sl.Close(); !errors.Is(err, io.ErrShortWrite) {
						t.Fatalf("%s: Close after the short write: %v", what, err)
					}
				}
			}
		}
	}
}

// TestParallelWriteFails checks that a sealer whose writer fails in the
// middle of a parallel call stops, returns the error, keeps it, and
// leaves no plaintext behind.
func TestParallelWriteFails(t *testing.T) {
	anyParallel(t)
	const fl = 64
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	sl, _ := newSealerN(t, &failAfter{n: 3}, s, fl, 4)
	pt := bytes.Repeat([]byte{0xA5}, 20000*fl) // runs of a quarter ring at most: many writes
	if _, err := sl.Write(pt); err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk full")) {
		t.Fatalf("Write: %v", err)
	}
	if _, err := sl.Write(pt[:10]); err == nil {
		t.Fatal("the error is not sticky")
	}
	if err := sl.Close(); err == nil {
		t.Fatal("Close after a failed write succeeded")
	}
	if bytes.Contains(sl.buf[:cap(sl.buf)], []byte{0xA5, 0xA5, 0xA5, 0xA5}) {
		t.Fatal("plaintext left in the sealer")
	}
}

// TestParallelNoAllocations checks that parallel calls allocate nothing
// once a message is under way.
func TestParallelNoAllocations(t *testing.T) {
	anyParallel(t)
	const fl = 1024
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		s := format.MustSuite(id)
		sl, _ := newSealerN(t, io.Discard, s, fl, 3)
		chunk := randBytes(64 * fl)
		sl.Write(chunk) // the first parallel call makes the team
		if a := testing.AllocsPerRun(50, func() { sl.Write(chunk) }); a != 0 {
			t.Errorf("suite %s: %v allocations per parallel Write of 64 frames", id, a)
		}
		pt := randBytes(3000 * fl)
		m := sealWith(t, s, fl, pt, 3, 0)
		for _, lend := range []bool{true, false} {
			var src io.Reader = bytes.NewReader(m.body())
			if lend {
				src = bytes.NewBuffer(m.body())
			}
			p := m.openParams(t, m.bytes)
			p.Concurrency = 3
			o, err := NewOpener(src, p)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 32*fl)
			io.ReadFull(o, buf)
			if a := testing.AllocsPerRun(50, func() { io.ReadFull(o, buf) }); a != 0 {
				t.Errorf("suite %s, lends %v: %v allocations per parallel Read of 32 frames", id, lend, a)
			}
		}
	}
}

// TestRingBounded checks the memory a team's ring may take.
func TestRingBounded(t *testing.T) {
	for _, c := range []struct{ n, fl, want int }{
		{2, 4096, 256},      // 1 MiB of 4 KiB frames
		{128, 4096, 512},    // four per goroutine
		{2, 1 << 20, 8},     // four per goroutine
		{64, 1 << 20, 64},   // 64 MiB at most
		{2, 64 << 20, 2},    // two frames when they are larger
		{1000, 32 << 20, 2}, // whatever the goroutines
		{4, 100, 10486},     // 1 MiB rounded up
	} {
		if got := ringSlots(c.n, c.fl); got != c.want {
			t.Errorf("ringSlots(%d, %d) = %d, want %d", c.n, c.fl, got, c.want)
		}
	}
}

// TestTeamGivenBack: a message that ends (closed, read to its end, or
// failed) gives its team back for the next message, and the team keeps
// nothing of it: no key, no work, no reference to the caller's bytes.
func TestTeamGivenBack(t *testing.T) {
	anyParallel(t)
	const fl = 64
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	pt := randBytes(50 * fl)
	kept := func(what string, tm *team) {
		t.Helper()
		if tm.work != nil {
			t.Errorf("%s: the team given back keeps its work", what)
		}
		for _, c := range tm.ciphers {
			if c.aead != nil || c.messageID != nil {
				t.Errorf("%s: the team given back keeps the message's key", what)
			}
		}
		for _, j := range tm.jobs {
			if j.Ciphertext != nil || j.IV != nil {
				t.Fatalf("%s: the team given back keeps frames of the message", what)
			}
		}
	}

	var buf bytes.Buffer
	sl, m := newSealerN(t, &buf, s, fl, 3)
	if _, err := sl.Write(pt); err != nil {
		t.Fatal(err)
	}
	tm := sl.team
	if tm == nil {
		t.Fatal("no team after a parallel Write")
	}
	if err := sl.Close(); err != nil {
		t.Fatal(err)
	}
	if sl.team != nil {
		t.Error("a closed sealer keeps its team")
	}
	kept("sealer", tm)
	m.bytes = buf.Bytes()
	_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})

	sl, _ = newSealerN(t, &failAfter{n: 2}, s, fl, 3)
	if _, err := sl.Write(pt); err == nil {
		t.Fatal("writing to a failing writer succeeded")
	}
	if sl.team != nil {
		t.Error("a failed sealer keeps its team")
	}

	for _, tamper := range []bool{false, true} {
		msg := bytes.Clone(m.bytes)
		if tamper {
			msg[len(msg)-20] ^= 1 // the final frame
		}
		p := m.openParams(t, msg)
		p.Concurrency = 3
		o, err := NewOpener(bytes.NewBuffer(msg[m.headerN:]), p)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 10*fl)
		if _, err := io.ReadFull(o, out); err != nil {
			t.Fatal(err)
		}
		tm := o.team
		if tm == nil {
			t.Fatal("no team after a parallel Read")
		}
		_, err = io.ReadAll(o)
		if (err != nil) != tamper {
			t.Fatalf("tampered %v: %v", tamper, err)
		}
		if o.team != nil {
			t.Errorf("tampered %v: an opener at the end of its message keeps its team", tamper)
		}
		kept(fmt.Sprintf("opener, tampered %v", tamper), tm)
	}
}
