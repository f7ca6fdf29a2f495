package envelope_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/testvectors"
	"github.com/go-esdk/esdk/keyring"
)

// The fuzz keyring uses fixed raw AES keys, so that seeds stay meaningful
// from one run to the next: the public test vectors' "aes-256" key as the
// generator, and their legacy AES keys, which wrap the vectors' non-framed
// messages.
type fuzzKey struct {
	namespace, name, material string
}

var fuzzKeys = []fuzzKey{
	{"aws-raw-vectors-persistent-aes-256", "aes-256", "AAECAwQFBgcICRAREhMUFRYXGBkgISIjJCUmJygpMDE="},
	{"static-aws-xcompat", "AES.128..", "v3C1feNszjJCYPolBMVgkQ=="},
	{"static-aws-xcompat", "AES.192..", "leREfRtxYi6uIKUo5mpvnkUDmHDk9N6n"},
	{"static-aws-xcompat", "AES.256..", "DUxbO4M15A3MHs93baUwMUWP8txMzAUhQMfvN0Wl6l4="},
}

func fuzzManager(tb testing.TB) envelope.MaterialsManager {
	tb.Helper()
	var krs []keyring.Keyring
	for _, k := range fuzzKeys {
		key, err := base64.StdEncoding.DecodeString(k.material)
		if err != nil {
			tb.Fatal(err)
		}
		kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: k.namespace, Name: k.name, WrappingKey: key})
		if err != nil {
			tb.Fatal(err)
		}
		krs = append(krs, kr)
	}
	multi, err := keyring.NewMulti(keyring.MultiOptions{Generator: krs[0], Children: krs[1:]})
	if err != nil {
		tb.Fatal(err)
	}
	return mustManager(tb, multi)
}

// fuzzVectorSeeds picks about n vector ciphertexts spread over suites and
// body layouts: mostly ones the fuzz keys decrypt without a reproduced
// context, then a few others (RSA keys, negative tests).
func fuzzVectorSeeds(tb testing.TB, n int) [][]byte {
	tb.Helper()
	set := testvectors.LoadPublic(tb)
	ours := map[string]bool{"aes-256": true, "legacy-aes-128": true, "legacy-aes-192": true, "legacy-aes-256": true}
	good := map[string][]string{}
	other := map[string][]string{}
	for _, id := range set.IDs() {
		tc := set.Tests[id]
		k := tc.Header.AlgorithmSuiteID + "/" + tc.Header.ContentType
		if len(tc.MasterKeys) == 1 && ours[tc.MasterKeys[0].Key] && tc.CMM != "RequiredEncryptionContext" && len(tc.EncryptionContext) == 0 &&
			!strings.HasPrefix(id, "net400invalid") {
			good[k] = append(good[k], tc.Ciphertext)
		} else {
			other[k] = append(other[k], tc.Ciphertext)
		}
	}
	// Small messages first in each bucket: the fuzzer's work on an input,
	// minimizing it above all, grows with its size.
	size := func(uri string) int64 {
		p, err := set.Path(uri)
		if err != nil {
			tb.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			tb.Fatal(err)
		}
		return fi.Size()
	}
	pick := func(buckets map[string][]string, n int) []string {
		for _, uris := range buckets {
			sizes := map[string]int64{}
			for _, u := range uris {
				sizes[u] = size(u)
			}
			slices.SortStableFunc(uris, func(a, b string) int { return cmp.Compare(sizes[a], sizes[b]) })
		}
		var out []string
		keys := slices.Sorted(maps.Keys(buckets))
		for round := 0; len(out) < n; round++ {
			added := false
			for _, k := range keys {
				if round < len(buckets[k]) && len(out) < n {
					out = append(out, buckets[k][round])
					added = true
				}
			}
			if !added {
				break
			}
		}
		return out
	}
	var seeds [][]byte
	for _, uri := range append(pick(good, n*4/5), pick(other, n/5)...) {
		b, err := set.ReadFile(uri)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

func fuzzDecryptClient(tb testing.TB) *envelope.Client {
	return newClient(tb, func(o *envelope.Options) {
		o.CommitmentPolicy = envelope.RequireEncryptAllowDecrypt
		o.MaxFrameLength = 1 << 20
		o.MaxNonFramedBodySize = 1 << 20
	})
}

func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	mm := fuzzManager(f)
	dec := fuzzDecryptClient(f)

	for _, b := range fuzzVectorSeeds(f, 50) {
		f.Add(b)
	}
	// Messages under the fixed keys: every suite, several sizes and body
	// layouts, so that mutations reach every part of the body.
	type layout struct {
		frame     int
		nonFramed bool
	}
	for i, s := range format.Suites() {
		for j, l := range []layout{{32, false}, {1, false}, {4096, false}, {0, true}} {
			sizes := []int{0, 1, 31, 32, 33, 100, 300}
			size := sizes[(i+j)%len(sizes)]
			enc := newClient(f, func(o *envelope.Options) {
				o.CommitmentPolicy = policyFor(s)
				o.Suite = s.ID()
				o.FrameLength = l.frame
				envelope.SetNonFramed(o, l.nonFramed)
			})
			pt := bytes.Repeat([]byte{byte(i), byte(j)}, size)[:size]
			ct, err := enc.EncryptBytes(ctx, pt, mm, map[string]string{"seed": fmt.Sprint(i, j)})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(ct)
		}
	}

	f.Fuzz(func(t *testing.T, msg []byte) {
		// A hang fails the input: the fuzzer records a crash, with the
		// input, instead of waiting forever.
		watchdog := time.AfterFunc(30*time.Second, func() {
			panic(fmt.Sprintf("decrypting a %d-byte input took over 30 s", len(msg)))
		})
		defer watchdog.Stop()
		pt, h, err := dec.DecryptBytes(ctx, msg, mm, nil)
		streamed, _, serr := streamRead(dec, msg, mm, readModes[len(msg)%len(readModes)])
		if (err == nil) != (serr == nil) {
			t.Fatalf("DecryptBytes: %v; streaming: %v", err, serr)
		}
		if err != nil {
			if pt != nil || h != nil {
				t.Fatalf("DecryptBytes returned plaintext or a header with %v", err)
			}
			// The stream released whole frames at most, none for a
			// non-framed body.
			hh, _, perr := format.ParseHeader(msg, format.Limits{})
			switch {
			case perr != nil || hh.ContentType == format.NonFramed:
				if len(streamed) != 0 {
					t.Fatalf("released %d bytes before %v", len(streamed), serr)
				}
			case len(streamed)%int(hh.FrameLength) != 0:
				t.Fatalf("released %d bytes, not whole %d-byte frames, before %v", len(streamed), hh.FrameLength, serr)
			}
			return
		}
		if !bytes.Equal(streamed, pt) {
			t.Fatalf("streaming gave %d bytes, DecryptBytes %d", len(streamed), len(pt))
		}
		// Encrypt the plaintext again like the message, and decrypt that.
		ec := map[string]string{}
		for k, v := range h.EncryptionContext {
			if !strings.HasPrefix(k, format.ReservedPrefix) {
				ec[k] = v
			}
		}
		enc := newClient(t, func(o *envelope.Options) {
			o.CommitmentPolicy = policyFor(h.Suite)
			o.Suite = h.Suite.ID()
			if h.ContentType == format.NonFramed {
				envelope.SetNonFramed(o, true)
			} else {
				o.FrameLength = int(h.FrameLength)
			}
		})
		ct, err := enc.EncryptBytes(ctx, pt, mm, ec)
		if err != nil {
			t.Fatalf("encrypting the plaintext again: %v", err)
		}
		pt2, h2, err := dec.DecryptBytes(ctx, ct, mm, nil)
		if err != nil || !bytes.Equal(pt2, pt) {
			t.Fatalf("decrypting the new message: %v (equal %v)", err, bytes.Equal(pt2, pt))
		}
		if h2.Suite != h.Suite || h2.ContentType != h.ContentType || h2.FrameLength != h.FrameLength {
			t.Fatalf("new message: %s %s %d; first: %s %s %d", h2.Suite.ID(), h2.ContentType, h2.FrameLength, h.Suite.ID(), h.ContentType, h.FrameLength)
		}
		for k, v := range ec {
			if h2.EncryptionContext[k] != v {
				t.Fatalf("new message context %q = %q, want %q", k, h2.EncryptionContext[k], v)
			}
		}
	})
}

// TestFuzzSeedsDecrypt makes sure the decrypt seeds are what they are
// meant to be: messages that decrypt under the fuzz keys.
func TestFuzzSeedsDecrypt(t *testing.T) {
	ctx := context.Background()
	mm := fuzzManager(t)
	dec := fuzzDecryptClient(t)
	seeds := fuzzVectorSeeds(t, 50)
	if len(seeds) == 0 {
		t.Fatal("no test vectors: they are part of the repository, under testdata/")
	}
	ok := 0
	suites := map[format.SuiteID]bool{}
	nonFramed := 0
	for _, b := range seeds {
		if _, h, err := dec.DecryptBytes(ctx, b, mm, nil); err == nil {
			ok++
			suites[h.Suite.ID()] = true
			if h.ContentType == format.NonFramed {
				nonFramed++
			}
		}
	}
	t.Logf("%d of %d vector seeds decrypt, covering %d suites and %d non-framed messages", ok, len(seeds), len(suites), nonFramed)
	if ok < len(seeds)*3/4 || len(suites) != len(format.Suites()) || nonFramed == 0 {
		t.Errorf("%d of %d vector seeds decrypt, covering %d suites and %d non-framed messages", ok, len(seeds), len(suites), nonFramed)
	}
}
