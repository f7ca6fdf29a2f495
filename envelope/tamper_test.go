package envelope_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/engine"
	"github.com/go-esdk/esdk/keyring"
)

// Tampering tests: every single-byte change, every truncation and an
// appended byte must make decryption fail, and the streaming reader must
// never release plaintext it has not authenticated.

const (
	tamperFrameLength = 32
	tamperPlaintext   = 3*tamperFrameLength + 7
)

var tamperContext = map[string]string{"purpose": "tamper", "ünï": "cödé"}

// span is a named byte range of a message. part is 0 for the header and
// for the non-framed body, k for the k-th regular frame, and -1 for the
// final frame and the footer.
type span struct {
	name       string
	start, end int
	part       int
}

// messageLayout splits a valid message into named regions that cover
// every byte, in order.
func messageLayout(t testing.TB, msg []byte) (spans []span, h *format.Header) {
	t.Helper()
	h, hl, err := format.ParseHeader(msg, format.Limits{})
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	off := 0
	add := func(name string, n, part int) {
		if n == 0 {
			return
		}
		spans = append(spans, span{name, off, off + n, part})
		off += n
	}
	u16 := func() int { return int(binary.BigEndian.Uint16(msg[off:])) }
	v1 := h.Version() == 1
	add("header: version", 1, 0)
	if v1 {
		add("header: type", 1, 0)
	}
	add("header: suite id", 2, 0)
	add("header: message id", len(h.MessageID), 0)
	ecLen := u16()
	add("header: context length", 2, 0)
	add("header: context", ecLen, 0)
	add("header: data key count", 2, 0)
	for range h.EncryptedDataKeys {
		for _, f := range []string{"provider id", "provider info", "ciphertext"} {
			n := u16()
			add("header: data key "+f+" length", 2, 0)
			add("header: data key "+f, n, 0)
		}
	}
	add("header: content type", 1, 0)
	if v1 {
		add("header: reserved", 4, 0)
		add("header: IV length", 1, 0)
	}
	add("header: frame length", 4, 0)
	add("header: suite data (commitment)", len(h.SuiteData), 0)
	add("header: auth IV", len(h.AuthIV), 0)
	add("header: auth tag", len(h.AuthTag), 0)
	if off != hl {
		t.Fatalf("layout: header regions end at %d, header is %d bytes", off, hl)
	}
	if h.ContentType == format.NonFramed {
		n := int(binary.BigEndian.Uint64(msg[off+format.IVLength:]))
		add("non-framed: IV", format.IVLength, 0)
		add("non-framed: length", 8, 0)
		add("non-framed: ciphertext", n, 0)
		add("non-framed: tag", format.TagLength, 0)
	} else {
		fl := int(h.FrameLength)
		for k := 1; binary.BigEndian.Uint32(msg[off:]) != engine.FinalFrameMarker; k++ {
			add("frame: sequence number", 4, k)
			add("frame: IV", format.IVLength, k)
			add("frame: ciphertext", fl, k)
			add("frame: tag", format.TagLength, k)
		}
		n := int(binary.BigEndian.Uint32(msg[off+4+4+format.IVLength:]))
		add("final frame: marker", 4, -1)
		add("final frame: sequence number", 4, -1)
		add("final frame: IV", format.IVLength, -1)
		add("final frame: length", 4, -1)
		add("final frame: ciphertext", n, -1)
		add("final frame: tag", format.TagLength, -1)
	}
	if h.Suite.Signed() {
		n := int(binary.BigEndian.Uint16(msg[off:]))
		add("footer: signature length", 2, -1)
		add("footer: signature", n, -1)
	}
	if off != len(msg) {
		t.Fatalf("layout: regions end at %d, message is %d bytes", off, len(msg))
	}
	return spans, h
}

func spanAt(spans []span, pos int) span {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].end > pos })
	return spans[i]
}

// errClass names the exported error an error matches, for the summary.
func errClass(err error) string {
	switch {
	case errors.Is(err, envelope.ErrAuthentication) && errors.Is(err, keyring.ErrNoMatchingKey):
		return "ErrAuthentication+ErrNoMatchingKey"
	case errors.Is(err, envelope.ErrAuthentication):
		return "ErrAuthentication"
	case errors.Is(err, keyring.ErrNoMatchingKey):
		return "keyring.ErrNoMatchingKey"
	case errors.Is(err, envelope.ErrNotESDK):
		return "ErrNotESDK"
	case errors.Is(err, envelope.ErrUnsupportedSuite):
		return "ErrUnsupportedSuite"
	case errors.Is(err, envelope.ErrLimitExceeded):
		return "ErrLimitExceeded"
	case errors.Is(err, envelope.ErrCommitmentPolicy):
		return "ErrCommitmentPolicy"
	case errors.Is(err, envelope.ErrMalformed):
		return "ErrMalformed"
	}
	return "other"
}

// readMode is how a test reads a message through the streaming API: from
// a source that lends its bytes (a *bytes.Buffer) or one that copies them
// (a *bytes.Reader), bufSize bytes at a time. The sizes pick the
// decryptor's paths for the 32-byte frames of these tests: below a frame
// (buffered), a frame but not its tag, a frame and its tag (opened in the
// caller's buffer).
type readMode struct {
	lend    bool
	bufSize int
}

func (m readMode) String() string {
	if m.lend {
		return fmt.Sprintf("bytes.Buffer, reads of %d", m.bufSize)
	}
	return fmt.Sprintf("bytes.Reader, reads of %d", m.bufSize)
}

var readModes = []readMode{{false, 5}, {true, 40}, {false, 2*tamperFrameLength + 3}, {true, 2*tamperFrameLength + 3}}

// streamDecrypt decrypts msg from a bytes.Reader, reading bufSize bytes
// at a time, and returns every byte released along with the error that
// ended the stream (nil after io.EOF).
func streamDecrypt(c *envelope.Client, msg []byte, mm envelope.MaterialsManager, bufSize int) ([]byte, error) {
	got, _, err := streamRead(c, msg, mm, readMode{bufSize: bufSize})
	return got, err
}

// streamRead decrypts msg as mode says. It also returns the read buffer,
// whose contents after an error must hold no plaintext that was not
// released.
func streamRead(c *envelope.Client, msg []byte, mm envelope.MaterialsManager, mode readMode) (got, buf []byte, err error) {
	var src io.Reader = bytes.NewReader(msg)
	if mode.lend {
		src = bytes.NewBuffer(bytes.Clone(msg))
	}
	d, err := c.Decrypt(context.Background(), src, mm, nil)
	if err != nil {
		if d != nil {
			return nil, nil, fmt.Errorf("Decrypt returned a Decryptor with error %w", err)
		}
		return nil, nil, err
	}
	buf = make([]byte, mode.bufSize)
	for idle := 0; idle < 100; {
		n, err := d.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			return got, buf, nil
		}
		if err != nil {
			return got, buf, err
		}
		if n == 0 {
			idle++
		} else {
			idle = 0
		}
	}
	return got, buf, errors.New("Read keeps returning 0, nil")
}

// leaked reports whether buf holds a run of rest, the plaintext not
// released (random bytes, so a match of 5 or more is no accident).
func leaked(buf, rest []byte) bool {
	w := min(8, len(buf))
	if w < 5 {
		return false
	}
	for i := 0; i+w <= len(rest); i++ {
		if bytes.Contains(buf, rest[i:i+w]) {
			return true
		}
	}
	return false
}

// tamperStats collects which regions fail with which error classes.
type tamperStats struct {
	mu     sync.Mutex
	counts map[string]map[string]int
}

func (s *tamperStats) add(region, class string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]map[string]int{}
	}
	if s.counts[region] == nil {
		s.counts[region] = map[string]int{}
	}
	s.counts[region][class]++
}

func (s *tamperStats) table() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var regions []string
	for r := range s.counts {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var b strings.Builder
	b.WriteString("| region | errors |\n|---|---|\n")
	for _, r := range regions {
		var classes []string
		for c, n := range s.counts[r] {
			classes = append(classes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(classes)
		fmt.Fprintf(&b, "| %s | %s |\n", r, strings.Join(classes, ", "))
	}
	return b.String()
}

// tamperCase checks one damaged message: streaming and whole-message
// decryption must both fail, the stream may release only a prefix of the
// plaintext made of whole authenticated frames, at most allowed bytes.
// It returns the error class of the streaming failure.
func tamperCase(t *testing.T, c *envelope.Client, mm envelope.MaterialsManager, msg, pt []byte, fl, allowed int, mode readMode, what string) string {
	t.Helper()
	what += " (" + mode.String() + ")"
	got, buf, err := streamRead(c, msg, mm, mode)
	if err == nil {
		t.Errorf("%s: streaming decryption succeeded (%d bytes)", what, len(got))
		return "none"
	}
	if !bytes.HasPrefix(pt, got) {
		t.Errorf("%s: released %d bytes that are not a prefix of the plaintext (%v)", what, len(got), err)
	}
	if fl > 0 && len(got)%fl != 0 {
		t.Errorf("%s: released %d bytes, not a whole number of %d-byte frames (%v)", what, len(got), fl, err)
	}
	if len(got) > allowed {
		t.Errorf("%s: released %d bytes, only %d were authenticated (%v)", what, len(got), allowed, err)
	}
	if bytes.HasPrefix(pt, got) && leaked(buf, pt[len(got):]) {
		t.Errorf("%s: the read buffer holds plaintext that was not released (%v)", what, err)
	}
	whole, h, err2 := c.DecryptBytes(context.Background(), msg, mm, nil)
	if err2 == nil || whole != nil || h != nil {
		t.Errorf("%s: DecryptBytes = %d bytes, header %v, error %v; want nil, nil, error", what, len(whole), h != nil, err2)
	}
	if err2 != nil && errClass(err2) != errClass(err) {
		t.Errorf("%s: streaming fails with %v, DecryptBytes with %v", what, err, err2)
	}
	return errClass(err)
}

func TestTamper(t *testing.T) {
	var stats tamperStats
	t.Run("suites", func(t *testing.T) {
		for _, s := range format.Suites() {
			for _, nonFramed := range []bool{false, true} {
				name := fmt.Sprintf("%04X/framed=%v", uint16(s.ID()), !nonFramed)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					tamperSuite(t, s, nonFramed, &stats)
				})
			}
		}
	})
	t.Logf("error classes of single-byte changes by region, of truncations and of appended bytes:\n%s", stats.table())
}

func tamperSuite(t *testing.T, s *format.Suite, nonFramed bool, stats *tamperStats) {
	ctx := context.Background()
	mm := aesManager(t)
	enc := newClient(t, func(o *envelope.Options) {
		o.CommitmentPolicy = policyFor(s)
		o.Suite = s.ID()
		o.FrameLength = tamperFrameLength
		envelope.SetNonFramed(o, nonFramed)
	})
	dec := newClient(t, func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
	})
	pt := randBytes(tamperPlaintext)
	msg, err := enc.EncryptBytes(ctx, pt, mm, tamperContext)
	if err != nil {
		t.Fatal(err)
	}
	// The untouched message decrypts, every way.
	for _, mode := range readModes {
		if got, _, err := streamRead(dec, msg, mm, mode); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("untouched message, %s: %v (equal %v)", mode, err, bytes.Equal(got, pt))
		}
	}
	spans, h := messageLayout(t, msg)
	fl := 0
	regular := 0
	if h.ContentType == format.Framed {
		fl = int(h.FrameLength)
		for _, sp := range spans {
			regular = max(regular, sp.part)
		}
		if regular != tamperPlaintext/tamperFrameLength {
			t.Fatalf("message has %d regular frames, want %d", regular, tamperPlaintext/tamperFrameLength)
		}
	}
	// allowedAt is how much plaintext may be released when the byte at
	// pos is damaged: the frames before it.
	allowedAt := func(sp span) int {
		switch {
		case fl == 0:
			return 0
		case sp.part == -1:
			return regular * fl
		}
		return max(sp.part-1, 0) * fl
	}

	// (a) single-byte changes, in two halves that run in parallel.
	for half := range 2 {
		t.Run(fmt.Sprintf("changes%d", half), func(t *testing.T) {
			t.Parallel()
			m := bytes.Clone(msg)
			for pos := half; pos < len(msg); pos += 2 {
				sp := spanAt(spans, pos)
				masks := []byte{0x01}
				if pos%7 == 0 || sp.part == 0 && pos%4 == 0 {
					masks = append(masks, 0xFF)
				}
				for i, mask := range masks {
					m[pos] ^= mask
					// Every change is read 5 bytes at a time; the sample once
					// more through the other paths in turn.
					mode := readModes[0]
					if i > 0 {
						mode = readModes[1+pos/7%(len(readModes)-1)]
					}
					what := fmt.Sprintf("byte %d (%s) ^ 0x%02X", pos, sp.name, mask)
					class := tamperCase(t, dec, mm, m, pt, fl, allowedAt(sp), mode, what)
					m[pos] ^= mask
					stats.add(sp.name, class)
					if !strings.HasPrefix(sp.name, "header: data key") && !strings.HasPrefix(sp.name, "header: context") &&
						class != "ErrAuthentication" && class != "ErrMalformed" && class != "ErrNotESDK" &&
						class != "ErrUnsupportedSuite" && class != "none" &&
						!(class == "ErrLimitExceeded" && sp.name == "non-framed: length") {
						t.Errorf("%s: unexpected error class %s", what, class)
					}
				}
			}
		})
	}

	// (b) every truncation and (c) one byte appended.
	t.Run("truncations", func(t *testing.T) {
		t.Parallel()
		for n := 0; n < len(msg); n++ {
			allowed := 0
			for _, sp := range spans {
				if sp.part > 0 && sp.name == "frame: tag" && sp.end <= n {
					allowed += fl
				}
			}
			class := tamperCase(t, dec, mm, msg[:n:n], pt, fl, allowed, readModes[n%len(readModes)], fmt.Sprintf("truncated to %d of %d bytes", n, len(msg)))
			if class != "ErrMalformed" && class != "none" {
				t.Errorf("truncated to %d of %d bytes: error class %s, want ErrMalformed", n, len(msg), class)
			}
			stats.add("(truncation)", class)
		}

		for i, b := range []byte{0x00, 0xFF, 0x01, 0x80} {
			long := append(bytes.Clone(msg), b)
			class := tamperCase(t, dec, mm, long, pt, fl, regular*fl, readModes[i], fmt.Sprintf("byte 0x%02X appended", b))
			if class != "ErrMalformed" && class != "none" {
				t.Errorf("byte 0x%02X appended: error class %s, want ErrMalformed", b, class)
			}
			stats.add("(appended byte)", class)
		}
	})
}

// TestFrameAuthErrorNamesDamagedFrame checks that the authentication error
// of a damaged frame names that frame, not the one after it.
func TestFrameAuthErrorNamesDamagedFrame(t *testing.T) {
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKey
		o.FrameLength = tamperFrameLength
	})
	msg, err := c.EncryptBytes(context.Background(), randBytes(tamperPlaintext), mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	spans, _ := messageLayout(t, msg)
	for _, sp := range spans {
		if sp.name != "frame: ciphertext" && sp.name != "final frame: ciphertext" {
			continue
		}
		want := sp.part
		if want == -1 {
			want = tamperPlaintext/tamperFrameLength + 1
		}
		m := bytes.Clone(msg)
		m[sp.start] ^= 1
		for _, mode := range readModes {
			_, _, err := streamRead(c, m, mm, mode)
			if !errors.Is(err, envelope.ErrAuthentication) {
				t.Fatalf("frame %d damaged: %v, want ErrAuthentication", want, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("frame %d does not verify", want)) {
				t.Errorf("frame %d damaged (%s): error %q names another frame", want, mode, err)
			}
		}
	}
}
