package format_test

import (
	"bytes"
	"crypto"
	"crypto/elliptic"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/testvectors"
)

// vectorMessage is one ciphertext of the public test vectors with what the
// manifest says about its header.
type vectorMessage struct {
	name        string
	data        []byte
	suite       string // hex, as in the manifest
	version     int
	framed      bool
	frameLength int64
}

// loadVectorMessages reads every ciphertext the manifest lists.
func loadVectorMessages(t testing.TB) []vectorMessage {
	t.Helper()
	set := testvectors.LoadPublic(t)
	var out []vectorMessage
	for _, id := range set.IDs() {
		h := set.Tests[id].Header
		if h == nil || h.MessageFormatVersion == nil || h.FrameLength == nil {
			t.Fatalf("%s: the manifest describes no header", id)
		}
		out = append(out, vectorMessage{
			name: id, data: set.Ciphertext(t, id), suite: h.AlgorithmSuiteID, version: *h.MessageFormatVersion,
			framed: h.ContentType == "framed", frameLength: *h.FrameLength,
		})
	}
	return out
}

func TestVectorHeaders(t *testing.T) {
	for _, v := range loadVectorMessages(t) {
		h, n, err := format.ParseHeader(v.data, format.Limits{})
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		hb := v.data[:n]
		// Marshal gives back exactly the header bytes.
		got, err := h.Marshal()
		if err != nil || !bytes.Equal(got, hb) {
			t.Errorf("%s: Marshal differs from the %d header bytes (%v)", v.name, n, err)
		}
		body, err := h.MarshalBody()
		if err != nil || !bytes.Equal(body, hb[:n-h.AuthLength()]) {
			t.Errorf("%s: MarshalBody is not the header before its auth fields (%v)", v.name, err)
		}
		// The manifest agrees.
		if fmt.Sprintf("%04x", uint16(h.Suite.ID())) != strings.ToLower(v.suite) || int(h.Version()) != v.version ||
			(h.ContentType == format.Framed) != v.framed || int64(h.FrameLength) != v.frameLength {
			t.Errorf("%s: header %s v%d %s frame %d, manifest says %s v%d framed=%v frame %d",
				v.name, h.Suite.ID(), h.Version(), h.ContentType, h.FrameLength, v.suite, v.version, v.framed, v.frameLength)
		}
		// ReadHeader reads the same header and nothing more.
		r := bytes.NewReader(v.data)
		h2, raw, err := format.ReadHeader(r, format.Limits{})
		if err != nil {
			t.Errorf("%s: ReadHeader: %v", v.name, err)
			continue
		}
		if !bytes.Equal(raw, hb) {
			t.Errorf("%s: ReadHeader raw bytes differ from the header", v.name)
		}
		if r.Len() != len(v.data)-n {
			t.Errorf("%s: ReadHeader left %d bytes, want %d", v.name, r.Len(), len(v.data)-n)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Errorf("%s: ReadHeader and ParseHeader disagree:\n%+v\n%+v", v.name, h, h2)
		}
		// Limits exactly at the header's size and key count accept it.
		lim := format.Limits{MaxHeaderSize: n, MaxEncryptedDataKeys: len(h.EncryptedDataKeys)}
		if _, _, err := format.ReadHeader(bytes.NewReader(v.data), lim); err != nil {
			t.Errorf("%s: ReadHeader with limits %+v: %v", v.name, lim, err)
		}
		if _, _, err := format.ParseHeader(v.data, lim); err != nil {
			t.Errorf("%s: ParseHeader with limits %+v: %v", v.name, lim, err)
		}
	}
}

func TestVectorHeaderTruncations(t *testing.T) {
	msgs := loadVectorMessages(t)
	const shards = 4
	for shard := range shards {
		t.Run(fmt.Sprint(shard), func(t *testing.T) {
			t.Parallel()
			for i := shard; i < len(msgs); i += shards {
				checkTruncations(t, msgs[i], i%16 == shard)
			}
		})
	}
}

// checkTruncations parses every proper prefix of a vector's header: each
// must fail as malformed. withReader checks ReadHeader as well.
func checkTruncations(t *testing.T, v vectorMessage, withReader bool) {
	_, n, err := format.ParseHeader(v.data, format.Limits{})
	if err != nil {
		return // reported by TestVectorHeaders
	}
	for k := 0; k < n; k++ {
		b := v.data[:k:k]
		if _, _, err := format.ParseHeader(b, format.Limits{}); !errors.Is(err, format.ErrMalformed) {
			t.Fatalf("%s: header truncated to %d of %d bytes: %v, want ErrMalformed", v.name, k, n, err)
		}
		if withReader {
			_, _, err := format.ReadHeader(bytes.NewReader(b), format.Limits{})
			if !errors.Is(err, format.ErrMalformed) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: ReadHeader of %d of %d bytes: %v, want ErrMalformed and io.ErrUnexpectedEOF", v.name, k, n, err)
			}
		}
	}
}

// TestParseHeaderLimits checks that ParseHeader honours both limits, as
// ReadHeader does.
func TestParseHeaderLimits(t *testing.T) {
	b := testHeader(t, format.AES256GCMHKDFSHA512CommitKey, map[string]string{"k": strings.Repeat("v", 500)}, 3)
	_, n, err := format.ParseHeader(b, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"ParseHeader", "ReadHeader"} {
		parse := func(lim format.Limits) error {
			if api == "ParseHeader" {
				_, _, err := format.ParseHeader(b, lim)
				return err
			}
			_, _, err := format.ReadHeader(bytes.NewReader(b), lim)
			return err
		}
		var le *format.LimitError
		err := parse(format.Limits{MaxHeaderSize: n - 1})
		if !errors.Is(err, format.ErrLimitExceeded) || !errors.As(err, &le) || le.Limit != format.LimitHeaderSize || le.Max != int64(n-1) {
			t.Errorf("%s of a %d-byte header with MaxHeaderSize %d: %v, want a MaxHeaderSize LimitError", api, n, n-1, err)
		}
		err = parse(format.Limits{MaxEncryptedDataKeys: 2})
		if !errors.Is(err, format.ErrLimitExceeded) || !errors.As(err, &le) || le.Limit != format.LimitEncryptedDataKeys || le.Got != 3 || le.Max != 2 {
			t.Errorf("%s of 3 keys with MaxEncryptedDataKeys 2: %v", api, err)
		}
		if err := parse(format.Limits{MaxHeaderSize: n, MaxEncryptedDataKeys: 3}); err != nil {
			t.Errorf("%s at the limits: %v", api, err)
		}
	}
}

// testHeader marshals a header of suite id with the given context and
// number of data keys.
func testHeader(t testing.TB, id format.SuiteID, ec map[string]string, keys int) []byte {
	t.Helper()
	s := format.MustSuite(id)
	h := &format.Header{
		Suite:             s,
		MessageID:         bytes.Repeat([]byte{0xA5}, s.MessageIDLength()),
		EncryptionContext: ec,
		ContentType:       format.Framed,
		FrameLength:       4096,
		SuiteData:         bytes.Repeat([]byte{0xC3}, s.SuiteDataLength()),
		AuthTag:           bytes.Repeat([]byte{0x7E}, format.TagLength),
	}
	if s.MessageVersion() == 1 {
		h.AuthIV = make([]byte, format.IVLength)
	}
	for i := range keys {
		h.EncryptedDataKeys = append(h.EncryptedDataKeys, format.EncryptedDataKey{
			ProviderID: "provider", ProviderInfo: []byte{byte(i)}, Ciphertext: []byte("wrapped"),
		})
	}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaderRoundTripEverySuite(t *testing.T) {
	for _, s := range format.Suites() {
		for _, ct := range []format.ContentType{format.Framed, format.NonFramed} {
			h := &format.Header{
				Suite:             s,
				MessageID:         bytes.Repeat([]byte{1}, s.MessageIDLength()),
				EncryptionContext: map[string]string{"a": "1", "b": ""},
				EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p", ProviderInfo: []byte{}, Ciphertext: []byte{9}}},
				ContentType:       ct,
				SuiteData:         bytes.Repeat([]byte{2}, s.SuiteDataLength()),
				AuthTag:           bytes.Repeat([]byte{3}, format.TagLength),
			}
			if ct == format.Framed {
				h.FrameLength = format.MaxFrameLength
			}
			if s.MessageVersion() == 1 {
				h.AuthIV = bytes.Repeat([]byte{4}, format.IVLength)
			}
			b, err := h.Marshal()
			if err != nil {
				t.Fatalf("%s %s: %v", s.ID(), ct, err)
			}
			// Shared: context length 2, context 2+(2+1+2+1)+(2+1+2+0), key
			// count 2, key (2+1)+(2+0)+(2+1), content type 1, frame length 4.
			want := 2 + 13 + 2 + 8 + 1 + 4
			if s.MessageVersion() == 1 {
				want += 1 + 1 + 2 + 16 + 4 + 1 + 12 + 16 // version, type, suite, id, reserved, IV length, IV, tag
			} else {
				want += 1 + 2 + 32 + 32 + 16 // version, suite, id, commitment, tag
			}
			if len(b) != want {
				t.Errorf("%s %s: header is %d bytes, want %d", s.ID(), ct, len(b), want)
			}
			body, err := h.MarshalBody()
			if err != nil || cap(body)-len(body) < h.AuthLength() {
				t.Errorf("%s %s: MarshalBody leaves %d bytes for the %d authentication bytes (%v)", s.ID(), ct, cap(body)-len(body), h.AuthLength(), err)
			}
			got, n, err := format.ParseHeader(append(b, 0xEE), format.Limits{})
			if err != nil || n != len(b) {
				t.Fatalf("%s %s: ParseHeader = %d, %v", s.ID(), ct, n, err)
			}
			if got.Suite != s || got.ContentType != ct || got.FrameLength != h.FrameLength || got.Version() != s.MessageVersion() ||
				!bytes.Equal(got.MessageID, h.MessageID) || !bytes.Equal(got.SuiteData, h.SuiteData) ||
				!bytes.Equal(got.AuthIV, h.AuthIV) || !bytes.Equal(got.AuthTag, h.AuthTag) ||
				!maps.Equal(got.EncryptionContext, h.EncryptionContext) || len(got.EncryptedDataKeys) != 1 {
				t.Errorf("%s %s: parsed %+v, marshalled %+v", s.ID(), ct, got, h)
			}
		}
	}
}

func TestHeaderMarshalRejects(t *testing.T) {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	valid := func() *format.Header {
		return &format.Header{
			Suite:             s,
			MessageID:         make([]byte, 32),
			EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p"}},
			ContentType:       format.Framed,
			FrameLength:       1,
			SuiteData:         make([]byte, 32),
			AuthTag:           make([]byte, 16),
		}
	}
	if _, err := valid().Marshal(); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(h *format.Header){
		"no suite":               func(h *format.Header) { h.Suite = nil },
		"short message id":       func(h *format.Header) { h.MessageID = h.MessageID[:16] },
		"no suite data":          func(h *format.Header) { h.SuiteData = nil },
		"no data keys":           func(h *format.Header) { h.EncryptedDataKeys = nil },
		"frame length 0":         func(h *format.Header) { h.FrameLength = 0 },
		"frame length 2^31":      func(h *format.Header) { h.FrameLength = 1 << 31 },
		"non-framed with length": func(h *format.Header) { h.ContentType = format.NonFramed },
		"content type 3":         func(h *format.Header) { h.ContentType = 3 },
		"short tag":              func(h *format.Header) { h.AuthTag = h.AuthTag[:15] },
		"huge provider id":       func(h *format.Header) { h.EncryptedDataKeys[0].ProviderID = strings.Repeat("p", 0x10000) },
		"huge context":           func(h *format.Header) { h.EncryptionContext = map[string]string{"k": strings.Repeat("v", 0x10000)} },
		"65536 data keys":        func(h *format.Header) { h.EncryptedDataKeys = make([]format.EncryptedDataKey, 0x10000) },
	} {
		h := valid()
		change(h)
		if b, err := h.Marshal(); err == nil {
			t.Errorf("%s: Marshal gave %d bytes", name, len(b))
		}
	}
	h := valid()
	h.Suite = format.MustSuite(format.AES256GCMIV12Tag16HKDFSHA256)
	h.MessageID, h.SuiteData = make([]byte, 16), nil
	if _, err := h.Marshal(); err == nil {
		t.Error("version 1 header without auth IV marshalled")
	}
	if _, err := h.MarshalBody(); err != nil {
		t.Errorf("MarshalBody needs no auth fields: %v", err)
	}
}

func TestEncryptionContextCanonicalOrder(t *testing.T) {
	ec := map[string]string{
		"b":            "3",
		"aa":           "2",
		"a":            "1",
		"é":            "7", // C3 A9
		"z":            "4",
		"\uE000":       "8", // EE 80 80
		"\U00010000":   "10",
		"\uFFFF":       "9", // EF BF BF: before U+10000 in UTF-8, after it in UTF-16
		"Z":            "0",
		"a\x00":        "1.5",
		"ünïcödé-kéy":  "välue",
		"\u007F":       "5",
		"\u0080":       "6",
		"aws-crypto-x": "", // reserved keys are not the format's business
	}
	want := []string{"Z", "a", "a\x00", "aa", "aws-crypto-x", "b", "z", "\u007F", "\u0080", "é", "ünïcödé-kéy", "\uE000", "\uFFFF", "\U00010000"}
	b, err := format.MarshalEncryptionContext(ec)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the serialization by hand.
	if int(binary.BigEndian.Uint16(b)) != len(ec) {
		t.Fatalf("count %d, want %d", binary.BigEndian.Uint16(b), len(ec))
	}
	rest := b[2:]
	for _, k := range want {
		for _, s := range []string{k, ec[k]} {
			n := int(binary.BigEndian.Uint16(rest))
			if got := string(rest[2 : 2+n]); got != s {
				t.Fatalf("serialization has %q where %q is due", got, s)
			}
			rest = rest[2+n:]
		}
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes left over", len(rest))
	}
	back, err := format.ParseEncryptionContext(b)
	if err != nil || !maps.Equal(back, ec) {
		t.Fatalf("parse back: %v, %v", back, err)
	}
	// AppendEncryptionContext appends the same bytes.
	app, err := format.AppendEncryptionContext([]byte("prefix"), ec)
	if err != nil || !bytes.Equal(app, append([]byte("prefix"), b...)) {
		t.Errorf("AppendEncryptionContext: %v", err)
	}
}

func TestEncryptionContextExactBytes(t *testing.T) {
	b, err := format.MarshalEncryptionContext(map[string]string{"b": "", "a": "xy"})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("0002" + "0001" + "61" + "0002" + "7879" + "0001" + "62" + "0000")
	if !bytes.Equal(b, want) {
		t.Errorf("got %x, want %x", b, want)
	}
}

func TestEncryptionContextEmpty(t *testing.T) {
	for _, ec := range []map[string]string{nil, {}} {
		b, err := format.MarshalEncryptionContext(ec)
		if err != nil || len(b) != 0 {
			t.Errorf("MarshalEncryptionContext(%#v) = %x, %v; want no bytes", ec, b, err)
		}
		b, err = format.AppendEncryptionContext([]byte{1, 2}, ec)
		if err != nil || !bytes.Equal(b, []byte{1, 2}) {
			t.Errorf("AppendEncryptionContext(%#v) = %x, %v", ec, b, err)
		}
	}
	for _, in := range [][]byte{nil, {}} {
		ec, err := format.ParseEncryptionContext(in)
		if err != nil || ec == nil || len(ec) != 0 {
			t.Errorf("ParseEncryptionContext(%#v) = %#v, %v; want an empty map", in, ec, err)
		}
	}
}

// ecBytes builds a serialization by hand: a count, then key/value pairs,
// in the order given.
func ecBytes(count int, kv ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(count))
	for _, s := range kv {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return b
}

func TestEncryptionContextParseRejects(t *testing.T) {
	valid := ecBytes(2, "a", "1", "b", "2")
	if _, err := format.ParseEncryptionContext(valid); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"duplicate keys":          ecBytes(2, "a", "1", "a", "2"),
		"duplicate, same value":   ecBytes(2, "a", "1", "a", "1"),
		"duplicate, not adjacent": ecBytes(3, "b", "1", "a", "2", "b", "3"),
		"trailing byte":           append(bytes.Clone(valid), 0),
		"trailing entry":          append(ecBytes(1, "a", "1"), ecBytes(0, "b", "2")[2:]...),
		"count 0 with entries":    ecBytes(0, "a", "1"),
		"count 0 alone":           {0, 0},
		"count too high":          ecBytes(3, "a", "1", "b", "2"),
		"count past the end":      ecBytes(0xFFFF, "a", "1"),
		"one byte":                {0},
		"key length past the end": {0, 1, 0, 5, 'a'},
		"value missing":           {0, 1, 0, 1, 'a'},
		"value past the end":      {0, 1, 0, 1, 'a', 0, 9, 'b'},
		"invalid UTF-8 key":       ecBytes(1, "\xff", "1"),
		"invalid UTF-8 value":     ecBytes(1, "a", "\xc3"),
		"surrogate in key":        ecBytes(1, "\xed\xa0\x80", "1"),
		"overlong encoding":       ecBytes(1, "\xc0\xaf", "1"),
		"too long":                append(ecBytes(1, "k", strings.Repeat("v", 0xFFFF-7)), 0),
	} {
		ec, err := format.ParseEncryptionContext(b)
		if !errors.Is(err, format.ErrMalformed) || ec != nil {
			t.Errorf("%s (%d bytes): %v, %v; want ErrMalformed", name, len(b), ec, err)
		}
	}
}

func TestEncryptionContextSizeLimit(t *testing.T) {
	// 2 (count) + 2 + 1 + 2 + n = 65,535 is the largest that fits.
	n := format.MaxContextSize - 7
	b, err := format.MarshalEncryptionContext(map[string]string{"k": strings.Repeat("v", n)})
	if err != nil || len(b) != format.MaxContextSize {
		t.Fatalf("%d-byte context: %d bytes, %v", format.MaxContextSize, len(b), err)
	}
	if _, err := format.ParseEncryptionContext(b); err != nil {
		t.Errorf("parse of a %d-byte context: %v", len(b), err)
	}
	for name, ec := range map[string]map[string]string{
		"one byte over":  {"k": strings.Repeat("v", n+1)},
		"long value":     {"k": strings.Repeat("v", 0x10000)},
		"long key":       {strings.Repeat("k", 0x10000): ""},
		"many entries":   manyEntries(20000),
		"65,536 entries": manyEntries(0x10000),
	} {
		b, err := format.MarshalEncryptionContext(ec)
		if !errors.Is(err, format.ErrLimitExceeded) || b != nil {
			t.Errorf("%s: %d bytes, %v; want ErrLimitExceeded", name, len(b), err)
		}
	}
	// Invalid UTF-8 is refused too, but it is not a limit.
	if _, err := format.MarshalEncryptionContext(map[string]string{"\xff": "v"}); err == nil || errors.Is(err, format.ErrLimitExceeded) {
		t.Errorf("invalid UTF-8 key: %v", err)
	}
	if _, err := format.MarshalEncryptionContext(map[string]string{"k": "\xff"}); err == nil {
		t.Error("invalid UTF-8 value accepted")
	}
}

func manyEntries(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[strconv.Itoa(i)] = ""
	}
	return m
}

func TestSuiteTable(t *testing.T) {
	type row struct {
		id         format.SuiteID
		name       string
		version    uint8
		keyLen     int
		kdf        format.KDF
		kdfHash    crypto.Hash
		sigHash    crypto.Hash
		curve      elliptic.Curve
		committing bool
	}
	want := []row{
		{0x0014, "AES_128_GCM_IV12_TAG16_NO_KDF", 1, 16, format.KDFIdentity, 0, 0, nil, false},
		{0x0046, "AES_192_GCM_IV12_TAG16_NO_KDF", 1, 24, format.KDFIdentity, 0, 0, nil, false},
		{0x0078, "AES_256_GCM_IV12_TAG16_NO_KDF", 1, 32, format.KDFIdentity, 0, 0, nil, false},
		{0x0114, "AES_128_GCM_IV12_TAG16_HKDF_SHA256", 1, 16, format.KDFHKDF, crypto.SHA256, 0, nil, false},
		{0x0146, "AES_192_GCM_IV12_TAG16_HKDF_SHA256", 1, 24, format.KDFHKDF, crypto.SHA256, 0, nil, false},
		{0x0178, "AES_256_GCM_IV12_TAG16_HKDF_SHA256", 1, 32, format.KDFHKDF, crypto.SHA256, 0, nil, false},
		{0x0214, "AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256", 1, 16, format.KDFHKDF, crypto.SHA256, crypto.SHA256, elliptic.P256(), false},
		{0x0346, "AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 24, format.KDFHKDF, crypto.SHA384, crypto.SHA384, elliptic.P384(), false},
		{0x0378, "AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384", 1, 32, format.KDFHKDF, crypto.SHA384, crypto.SHA384, elliptic.P384(), false},
		{0x0478, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY", 2, 32, format.KDFHKDF, crypto.SHA512, 0, nil, true},
		{0x0578, "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384", 2, 32, format.KDFHKDF, crypto.SHA512, crypto.SHA384, elliptic.P384(), true},
	}
	all := format.Suites()
	if len(all) != len(want) {
		t.Fatalf("%d suites, want %d", len(all), len(want))
	}
	for i, w := range want {
		s := all[i]
		got := row{s.ID(), s.String(), s.MessageVersion(), s.KeyLength(), s.KDF(), s.KDFHash(), s.SignatureHash(), s.Curve(), s.Committing()}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("suite %d:\n got %+v\nwant %+v", i, got, w)
		}
		if l, err := format.LookupSuite(w.id); err != nil || l != s {
			t.Errorf("LookupSuite(0x%04X) = %v, %v", uint16(w.id), l, err)
		}
		if format.MustSuite(w.id) != s {
			t.Errorf("MustSuite(0x%04X) is another value", uint16(w.id))
		}
		if s.Signed() != (w.curve != nil) {
			t.Errorf("%s: Signed() = %v", s, s.Signed())
		}
		wantID, wantData := 16, 0
		if w.version == 2 {
			wantID, wantData = 32, 32
		}
		if s.MessageIDLength() != wantID || s.SuiteDataLength() != wantData {
			t.Errorf("%s: message id %d, suite data %d; want %d, %d", s, s.MessageIDLength(), s.SuiteDataLength(), wantID, wantData)
		}
		if want := fmt.Sprintf("0x%04X (%s)", uint16(w.id), w.name); w.id.String() != want {
			t.Errorf("SuiteID.String() = %q, want %q", w.id.String(), want)
		}
	}
	// The version follows commitment, and signing keys match key sizes.
	for _, s := range all {
		if (s.MessageVersion() == 2) != s.Committing() {
			t.Errorf("%s: version %d, committing %v", s, s.MessageVersion(), s.Committing())
		}
	}
	// Suites returns a copy.
	all[0] = nil
	if format.Suites()[0] == nil {
		t.Error("Suites shares its slice")
	}
	for _, id := range []format.SuiteID{0, 0x0015, 0x0278, 0x0479, 0xFFFF} {
		s, err := format.LookupSuite(id)
		if s != nil || !errors.Is(err, format.ErrUnsupportedSuite) {
			t.Errorf("LookupSuite(0x%04X) = %v, %v; want ErrUnsupportedSuite", uint16(id), s, err)
		}
		if got, want := id.String(), fmt.Sprintf("0x%04X", uint16(id)); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustSuite(0x0015) did not panic")
			}
		}()
		format.MustSuite(0x0015)
	}()
}

func TestNotESDKHints(t *testing.T) {
	for _, tc := range []struct {
		first  byte
		base64 bool
	}{{'A', true}, {0x00, false}, {0x03, false}, {'{', false}, {0x80, false}} {
		_, _, err := format.ParseHeader([]byte{tc.first, 0, 0, 0}, format.Limits{})
		if !errors.Is(err, format.ErrNotESDK) {
			t.Errorf("first byte 0x%02X: %v, want ErrNotESDK", tc.first, err)
			continue
		}
		if strings.Contains(err.Error(), "base64") != tc.base64 {
			t.Errorf("first byte 0x%02X: %q mentions base64: %v, want %v", tc.first, err, !tc.base64, tc.base64)
		}
	}
}

func TestEncryptedDataKeySerialization(t *testing.T) {
	keys := []format.EncryptedDataKey{
		{ProviderID: "aws-kms", ProviderInfo: []byte("arn"), Ciphertext: []byte{1, 2}},
		{ProviderID: "", ProviderInfo: nil, Ciphertext: []byte{}},
	}
	want, _ := hex.DecodeString("0002" + "0007" + hex.EncodeToString([]byte("aws-kms")) + "0003" + hex.EncodeToString([]byte("arn")) + "0002" + "0102" + "0000" + "0000" + "0000")
	got := format.AppendEncryptedDataKeys([]byte("prefix"), keys)
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Errorf("AppendEncryptedDataKeys = %x, want prefix and %x", got, want)
	}
	one := format.AppendEncryptedDataKey(nil, keys[0])
	if !bytes.Equal(one, want[2:2+len(one)]) || len(one) != 2+7+2+3+2+2 {
		t.Errorf("AppendEncryptedDataKey = %x", one)
	}
	if got := format.AppendEncryptedDataKeys(nil, nil); !bytes.Equal(got, []byte{0, 0}) {
		t.Errorf("no keys: %x", got)
	}
	// The header holds exactly these bytes after its context.
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	h := &format.Header{
		Suite: s, MessageID: make([]byte, 32), EncryptedDataKeys: keys,
		ContentType: format.Framed, FrameLength: 1, SuiteData: make([]byte, 32),
	}
	body, err := h.MarshalBody()
	if err != nil {
		t.Fatal(err)
	}
	if at := 1 + 2 + 32 + 2; !bytes.Equal(body[at:at+len(want)], want) {
		t.Errorf("header body %x does not hold %x after its empty context", body, want)
	}
	for name, f := range map[string]func(){
		"long field": func() {
			format.AppendEncryptedDataKey(nil, format.EncryptedDataKey{Ciphertext: make([]byte, 0x10000)})
		},
		"65536 keys": func() { format.AppendEncryptedDataKeys(nil, make([]format.EncryptedDataKey, 0x10000)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestEncryptionContextAnyOrder checks that a context whose entries are not
// in canonical order, as old JavaScript ESDKs wrote with a locale-dependent
// sort, parses to the same map as the canonical serialization.
func TestEncryptionContextAnyOrder(t *testing.T) {
	for name, b := range map[string][]byte{
		"reversed":             ecBytes(2, "b", "1", "a", "2"),
		"longer before prefix": ecBytes(2, "aa", "1", "a", "2"),
		"UTF-16 order":         ecBytes(2, "\U00010000", "1", "\uFFFF", "2"),
		"case-insensitive":     ecBytes(3, "a", "1", "B", "2", "c", "3"),
	} {
		ec, err := format.ParseEncryptionContext(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		canon, err := format.MarshalEncryptionContext(ec)
		if err != nil || len(canon) != len(b) || bytes.Equal(canon, b) {
			t.Errorf("%s: canonical form %x (%v), want a reordering of %x", name, canon, err, b)
		}
		back, err := format.ParseEncryptionContext(canon)
		if err != nil || !maps.Equal(back, ec) {
			t.Errorf("%s: canonical form parses to %v, %v; want %v", name, back, err, ec)
		}
	}
}

// unsortedHeader returns a version 2 header whose context entries are in
// reverse canonical order, and the context.
func unsortedHeader(t testing.TB) ([]byte, map[string]string) {
	t.Helper()
	ec := map[string]string{"a": "1", "b": "22", "c": "333"}
	b := testHeader(t, format.AES256GCMHKDFSHA512CommitKey, ec, 1)
	canon, err := format.MarshalEncryptionContext(ec)
	if err != nil {
		t.Fatal(err)
	}
	reversed := ecBytes(3, "c", "333", "b", "22", "a", "1")
	i := bytes.Index(b, canon)
	if i < 0 || len(reversed) != len(canon) {
		t.Fatal("context not found in the header")
	}
	copy(b[i:], reversed)
	return b, ec
}

func TestHeaderUnsortedContext(t *testing.T) {
	b, ec := unsortedHeader(t)
	h, n, err := format.ParseHeader(b, format.Limits{})
	if err != nil || n != len(b) {
		t.Fatalf("ParseHeader: %d, %v", n, err)
	}
	if !maps.Equal(h.EncryptionContext, ec) {
		t.Errorf("context %v, want %v", h.EncryptionContext, ec)
	}
	h2, raw, err := format.ReadHeader(bytes.NewReader(b), format.Limits{})
	if err != nil || !bytes.Equal(raw, b) || !reflect.DeepEqual(h, h2) {
		t.Errorf("ReadHeader: raw bytes equal %v, headers equal %v, %v", bytes.Equal(raw, b), reflect.DeepEqual(h, h2), err)
	}
	// A duplicate key is still refused.
	dup := bytes.Replace(b, ecBytes(3, "c", "333", "b", "22", "a", "1"), ecBytes(3, "c", "333", "b", "22", "c", "1"), 1)
	if _, _, err := format.ParseHeader(dup, format.Limits{}); !errors.Is(err, format.ErrMalformed) || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate context key: %v, want ErrMalformed about the duplicate", err)
	}
}

// TestHeaderProviderIDUTF8 checks that a provider id must be UTF-8, both
// when parsing a header and when marshalling one; provider info is bytes.
func TestHeaderProviderIDUTF8(t *testing.T) {
	b := testHeader(t, format.AES256GCMHKDFSHA512CommitKey, nil, 2)
	i := bytes.LastIndex(b, []byte("provider"))
	b[i+3] = 0xFF // "pro\xffider"
	for _, api := range []string{"ParseHeader", "ReadHeader"} {
		var err error
		if api == "ParseHeader" {
			_, _, err = format.ParseHeader(b, format.Limits{})
		} else {
			_, _, err = format.ReadHeader(bytes.NewReader(b), format.Limits{})
		}
		if !errors.Is(err, format.ErrMalformed) || !strings.Contains(err.Error(), "UTF-8") {
			t.Errorf("%s: %v, want ErrMalformed about UTF-8", api, err)
		}
	}
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	h := &format.Header{
		Suite:             s,
		MessageID:         make([]byte, 32),
		EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "p\xc3", ProviderInfo: []byte{0xFF}}},
		ContentType:       format.Framed,
		FrameLength:       1,
		SuiteData:         make([]byte, 32),
		AuthTag:           make([]byte, 16),
	}
	if _, err := h.Marshal(); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Marshal of a provider id that is not UTF-8: %v", err)
	}
	h.EncryptedDataKeys[0].ProviderID = "p"
	if _, err := h.Marshal(); err != nil {
		t.Errorf("provider info that is not UTF-8: %v", err)
	}
}
