package engine

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/go-esdk/esdk/format"
)

// BenchmarkParallelGain measures what frames on a team gain a message of
// each size on the goroutines -cpu gives (two or more): each iteration
// seals or opens one message on the caller's goroutine alone and then the
// same message with its frames on a team, and the figure "x" is the
// first's time over the second's: above 1.00 where going parallel is
// faster. Interleaving the two message by message keeps what else runs
// on the machine the same for both. goesParallel's threshold rests on it
// (see BENCHMARKS.md):
//
//	go test -run '^$' -bench ParallelGain -cpu 2 -count 5 ./internal/engine
//
// Seal writes to io.Discard (as Encrypt), SealInto seals into the room
// of a buffer (as EncryptBytes), Open reads from a bytes.Buffer into a
// buffer of the plaintext's size (as DecryptBytes). Frames of 4096 bytes.
func BenchmarkParallelGain(b *testing.B) {
	n := runtime.GOMAXPROCS(0)
	if n < 2 {
		b.Skip("measures two goroutines or more against one: run with -cpu 2")
	}
	old := parallelMin.Swap(0)
	b.Cleanup(func() { parallelMin.Store(old) })
	const fl = 4096
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		s := format.MustSuite(id)
		dataKey := randBytes(s.KeyLength())
		key, _ := GenerateSigningKey(s) // nil for the unsigned suite
		params := func(conc int) SealParams {
			return SealParams{Header: testHeader(s, fl), DataKey: bytes.Clone(dataKey), RequiredContext: required, SigningKey: key, Concurrency: conc}
		}
		for _, kind := range []string{"Seal", "SealInto", "Open"} {
			for _, size := range []int{128 << 10, 256 << 10, 512 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20} {
				b.Run(fmt.Sprintf("%04X/%s/%dKiB", uint16(id), kind, size>>10), func(b *testing.B) {
					pt := randBytes(size)
					room := &appender{b: make([]byte, 0, FramedBodyLength(int64(size), fl, true)+1024), max: math.MaxInt}
					var body, out []byte
					var open OpenParams
					if kind == "Open" {
						var buf bytes.Buffer
						sl, err := NewSealer(&buf, params(1))
						if err != nil {
							b.Fatal(err)
						}
						sl.Write(pt)
						if err := sl.Close(); err != nil {
							b.Fatal(err)
						}
						m := &message{bytes: buf.Bytes(), dataKey: dataKey}
						if key != nil {
							m.pub = &key.PublicKey
						}
						_, m.headerN, _ = format.ParseHeader(m.bytes, format.Limits{})
						body, open = m.body(), m.openParams(b, m.bytes)
						out = make([]byte, size+1)
					}
					run := func(conc int) {
						switch kind {
						case "Seal", "SealInto":
							var dst io.Writer = io.Discard
							if kind == "SealInto" {
								room.b = room.b[:0]
								dst = room
							}
							sl, err := NewSealer(dst, params(conc))
							if err != nil {
								b.Fatal(err)
							}
							sl.Write(pt)
							if err := sl.Close(); err != nil {
								b.Fatal(err)
							}
						case "Open":
							p := open
							p.Concurrency = conc
							o, err := NewOpener(bytes.NewBuffer(body), p)
							if err != nil {
								b.Fatal(err)
							}
							if k, err := io.ReadFull(o, out); k != size || err != io.ErrUnexpectedEOF {
								b.Fatalf("read %d bytes of %d: %v", k, size, err)
							}
						}
					}
					run(1)
					run(n) // the team is there from now on
					var seq, par time.Duration
					b.SetBytes(2 * int64(size))
					b.ResetTimer()
					for range b.N {
						t0 := time.Now()
						run(1)
						t1 := time.Now()
						run(n)
						seq += t1.Sub(t0)
						par += time.Since(t1)
					}
					b.ReportMetric(float64(seq)/float64(par), "x")
				})
			}
		}
	}
}
