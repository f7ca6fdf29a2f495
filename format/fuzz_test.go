package format_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
)

// vectorSample picks about n vector messages spread over suites and body
// layouts, round robin, so that every kind is represented.
func vectorSample(tb testing.TB, n int) []vectorMessage {
	msgs := loadVectorMessages(tb)
	buckets := map[string][]vectorMessage{}
	var order []string
	for _, m := range msgs {
		k := fmt.Sprintf("%s/%v/%d", m.suite, m.framed, m.frameLength)
		if _, ok := buckets[k]; !ok {
			order = append(order, k)
		}
		buckets[k] = append(buckets[k], m)
	}
	var out []vectorMessage
	for round := 0; len(out) < n && len(out) < len(msgs); round++ {
		for _, k := range order {
			if round < len(buckets[k]) && len(out) < n {
				out = append(out, buckets[k][round])
			}
		}
	}
	return out
}

func FuzzParseHeader(f *testing.F) {
	for _, m := range vectorSample(f, 50) {
		_, n, err := format.ParseHeader(m.data, format.Limits{})
		if err != nil {
			f.Fatalf("%s: %v", m.name, err)
		}
		// The header and the first bytes of the body, which must be ignored.
		f.Add(m.data[:min(n+8, len(m.data))])
	}
	for _, id := range []format.SuiteID{format.AES128GCMIV12Tag16NoKDF, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		s := format.MustSuite(id)
		h := &format.Header{
			Suite: s, MessageID: make([]byte, s.MessageIDLength()),
			EncryptionContext: map[string]string{"a": "b"},
			EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p"}},
			ContentType:       format.NonFramed,
			SuiteData:         make([]byte, s.SuiteDataLength()),
			AuthTag:           make([]byte, format.TagLength),
		}
		if s.MessageVersion() == 1 {
			h.AuthIV = make([]byte, format.IVLength)
		}
		b, err := h.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	unsorted, _ := unsortedHeader(f)
	f.Add(unsorted)
	f.Add([]byte{})
	f.Add([]byte{0x01, 0x80})
	f.Add([]byte("AYAAFA=="))
	f.Add(append([]byte{0x02, 0x04, 0x78}, make([]byte, 34)...))

	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := format.ParseHeader(b, format.Limits{})
		h2, raw, err2 := format.ReadHeader(bytes.NewReader(b), format.Limits{})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ParseHeader: %v; ReadHeader: %v", err, err2)
		}
		if err != nil {
			if h != nil || n != 0 || h2 != nil || raw != nil {
				t.Fatalf("an error with results: %v", err)
			}
			if !errors.Is(err, format.ErrMalformed) && !errors.Is(err, format.ErrNotESDK) && !errors.Is(err, format.ErrUnsupportedSuite) {
				t.Fatalf("error of no known class: %v", err)
			}
			if errClass(err) != errClass(err2) {
				t.Fatalf("ParseHeader: %v; ReadHeader: %v", err, err2)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("ParseHeader took %d of %d bytes", n, len(b))
		}
		m, err := h.Marshal()
		if err != nil {
			t.Fatalf("a parsed header does not marshal: %v", err)
		}
		// Marshal gives back the bytes parsed, but for a context out of
		// canonical order, which it sorts.
		at := 1 + 2 + h.Suite.MessageIDLength()
		if h.Version() == 1 {
			at++
		}
		end := at + 2 + int(binary.BigEndian.Uint16(b[at:]))
		if len(m) != n || !bytes.Equal(m[:at], b[:at]) || !bytes.Equal(m[end:], b[end:n]) {
			t.Fatalf("Marshal differs from the %d bytes parsed:\n%x\n%x", n, m, b[:n])
		}
		checkCanonical(t, b[at+2:end], h.EncryptionContext)
		if canon, _ := format.MarshalEncryptionContext(h.EncryptionContext); !bytes.Equal(m[at+2:end], canon) {
			t.Fatalf("Marshal wrote the context %x, want %x", m[at+2:end], canon)
		}
		if !bytes.Equal(raw, b[:n]) {
			t.Fatalf("ReadHeader took %d bytes, ParseHeader %d", len(raw), n)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("ReadHeader and ParseHeader disagree:\n%+v\n%+v", h, h2)
		}
		if _, n2, err := format.ParseHeader(b[:n], format.Limits{}); err != nil || n2 != n {
			t.Fatalf("the header alone: %d, %v", n2, err)
		}
	})
}

// checkCanonical checks a context parsed from b: it marshals back to b
// exactly when b's keys are in canonical order, and to a reordering of b
// that parses to the same map otherwise.
func checkCanonical(t *testing.T, b []byte, ec map[string]string) {
	t.Helper()
	m, err := format.MarshalEncryptionContext(ec)
	if err != nil {
		t.Fatalf("a parsed context does not marshal: %v", err)
	}
	var keys []string
	for rest := b[min(2, len(b)):]; len(rest) > 0; {
		n := int(binary.BigEndian.Uint16(rest))
		keys = append(keys, string(rest[2:2+n]))
		rest = rest[2+n:]
		rest = rest[2+int(binary.BigEndian.Uint16(rest)):]
	}
	if sorted := slices.IsSorted(keys); sorted != bytes.Equal(m, b) {
		t.Fatalf("keys %q sorted %v, but the context marshals to %x from %x", keys, sorted, m, b)
	}
	if back, err := format.ParseEncryptionContext(m); len(m) != len(b) || err != nil || !maps.Equal(back, ec) {
		t.Fatalf("a parsed context marshals to %x (%v), want a reordering of %x", m, err, b)
	}
}

func errClass(err error) string {
	for _, e := range []error{format.ErrMalformed, format.ErrNotESDK, format.ErrUnsupportedSuite, format.ErrLimitExceeded} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return "other"
}

// fuzzContext builds a map from b: NUL-separated strings taken as
// alternating keys and values, made valid UTF-8.
func fuzzContext(b []byte) map[string]string {
	parts := strings.Split(string(b), "\x00")
	ec := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		ec[strings.ToValidUTF8(parts[i], "\uFFFD")] = strings.ToValidUTF8(parts[i+1], "\uFFFD")
	}
	return ec
}

func FuzzEncryptionContext(f *testing.F) {
	for _, m := range vectorSample(f, 50) {
		h, _, err := format.ParseHeader(m.data, format.Limits{})
		if err != nil {
			f.Fatal(err)
		}
		b, err := format.MarshalEncryptionContext(h.EncryptionContext)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range [][]byte{
		{},
		{0, 0},
		ecBytes(2, "a", "1", "aa", "2"),
		ecBytes(2, "aa", "1", "a", "2"),
		ecBytes(2, "a", "1", "a", "2"),
		ecBytes(3, "c", "1", "B", "2", "a", "3"),
		ecBytes(1, "\xff", ""),
		ecBytes(2, "\uFFFF", "x", "\U00010000", "y"),
		[]byte("key\x00value\x00ünï\x00cödé"),
	} {
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		ec, err := format.ParseEncryptionContext(b)
		if err != nil {
			if ec != nil || !errors.Is(err, format.ErrMalformed) {
				t.Fatalf("%v, %v; want nil and ErrMalformed", ec, err)
			}
		} else {
			checkCanonical(t, b, ec)
		}

		ec = fuzzContext(b)
		m, err := format.MarshalEncryptionContext(ec)
		if err != nil {
			if !errors.Is(err, format.ErrLimitExceeded) {
				t.Fatalf("Marshal of %d valid entries: %v", len(ec), err)
			}
			return
		}
		if len(m) > format.MaxContextSize || (len(ec) == 0) != (len(m) == 0) {
			t.Fatalf("%d entries marshal to %d bytes", len(ec), len(m))
		}
		back, err := format.ParseEncryptionContext(m)
		if err != nil || !maps.Equal(back, ec) {
			t.Fatalf("parse back: %v, %v; want %v", back, err, ec)
		}
		if again, err := format.MarshalEncryptionContext(back); err != nil || !bytes.Equal(again, m) {
			t.Fatalf("marshal again: %x, %v; want %x", again, err, m)
		}
	})
}
