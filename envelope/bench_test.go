package envelope_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// The benchmarks below read best as ratios to BenchmarkAESGCMBaseline,
// measured in the same run: the baseline is raw AES-256-GCM sealing the
// same bytes in 4096-byte chunks, the most any ESDK message can go.
//
// They loop over b.N rather than b.Loop: with a -cpu list, the testing
// package runs the first round of each sub-benchmark at the GOMAXPROCS
// the one before left set (golang/go#49980), and b.Loop takes its figure
// from that round, so that a "-cpu 1" figure measured two cores. The
// inputs, which b.N benchmarks make again in each round, are made once
// (benchInput, benchMessage).

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"4KiB", 4 << 10}, {"256KiB", 256 << 10}, {"1MiB", 1 << 20}, {"2MiB", 2 << 20}, {"8MiB", 8 << 20}, {"64MiB", 64 << 20}}

var (
	benchInputs   = map[int][]byte{}
	benchMessages = map[string][]byte{}
)

// benchInput returns n random bytes, the same for every benchmark.
func benchInput(n int) []byte {
	if benchInputs[n] == nil {
		benchInputs[n] = randBytes(n)
	}
	return benchInputs[n]
}

// benchMM is the materials manager of every benchmark, so that the
// messages made once serve all of them.
var benchMM envelope.MaterialsManager

func benchManager(b *testing.B) envelope.MaterialsManager {
	if benchMM == nil {
		benchMM = aesManager(b)
	}
	return benchMM
}

// benchMessage returns a message of suite id holding benchInput(n),
// encrypted for benchManager's key.
func benchMessage(b *testing.B, c *envelope.Client, mm envelope.MaterialsManager, id format.SuiteID, n int) []byte {
	k := fmt.Sprintf("%04X/%d", uint16(id), n)
	if benchMessages[k] == nil {
		ct, err := c.EncryptBytes(context.Background(), benchInput(n), mm, testContext)
		if err != nil {
			b.Fatal(err)
		}
		benchMessages[k] = ct
	}
	return benchMessages[k]
}

var benchSuites = []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384}

// baselineGCM is the AES-256-GCM of the baselines, and a nonce for it.
func baselineGCM() (cipher.AEAD, []byte) {
	block, _ := aes.NewCipher(make([]byte, 32))
	gcm, _ := cipher.NewGCM(block)
	return gcm, make([]byte, 12)
}

func BenchmarkAESGCMBaseline(b *testing.B) {
	gcm, nonce := baselineGCM()
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			pt := benchInput(sz.n)
			out := make([]byte, 0, 4096+16)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for p := pt; len(p) > 0; {
					k := min(4096, len(p))
					out = gcm.Seal(out[:0], nonce, p[:k], nil)
					p = p[k:]
				}
			}
		})
	}
}

// BenchmarkAESGCMParallelBaseline seals the same bytes as
// BenchmarkAESGCMBaseline on GOMAXPROCS goroutines, each sealing its own
// share in 4096-byte chunks into a scratch buffer: the most AES-GCM goes
// with that many cores on this machine, the limit of parallel frames
// whose output stays in cache (Encrypt's sealed frames go through a ring
// to the writer). With -cpu 1 it is the one-goroutine baseline.
func BenchmarkAESGCMParallelBaseline(b *testing.B) { benchmarkAESGCMParallel(b, false) }

// BenchmarkAESGCMParallelIntoBaseline is BenchmarkAESGCMParallelBaseline
// with every chunk sealed into its place in a buffer of the input's size,
// as Decrypt opens frames into the caller's buffer: the limit of parallel
// decryption into a buffer too large for the caches, where writing the
// output costs as much as a good part of the cipher.
func BenchmarkAESGCMParallelIntoBaseline(b *testing.B) { benchmarkAESGCMParallel(b, true) }

func benchmarkAESGCMParallel(b *testing.B, into bool) {
	gcm, nonce := baselineGCM()
	// seal seals p in chunks, each into out or, when into, at its place
	// in dst (4096 bytes a chunk: its ciphertext is 16 bytes shorter).
	seal := func(p, out, dst []byte) {
		for len(p) > 0 {
			k := min(4096, len(p))
			if into {
				k = min(4096-16, len(p))
				gcm.Seal(dst[:0], nonce, p[:k], nil)
				dst = dst[k+16:]
			} else {
				out = gcm.Seal(out[:0], nonce, p[:k], nil)
			}
			p = p[k:]
		}
	}
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			pt := benchInput(sz.n)
			var dst []byte
			if into {
				dst = make([]byte, sz.n+sz.n/(4096-16)*16+16)
				clear(dst) // maps its pages before the timer starts
			}
			chunks := (sz.n + 4095) / 4096
			n := min(runtime.GOMAXPROCS(0), chunks)
			outs := make([][]byte, n)
			for w := range outs {
				outs[w] = make([]byte, 0, 4096+16)
			}
			// Goroutine w takes chunks [w*chunks/n, (w+1)*chunks/n).
			part := func(w int) (p, d []byte) {
				lo, hi := min(sz.n, chunks*w/n*4096), min(sz.n, chunks*(w+1)/n*4096)
				if into {
					d = dst[lo:]
				}
				return pt[lo:hi], d
			}
			var wg sync.WaitGroup
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for w := 1; w < n; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						p, d := part(w)
						seal(p, outs[w], d)
					}()
				}
				p, d := part(0)
				seal(p, outs[0], d)
				wg.Wait()
			}
		})
	}
}

// BenchmarkSignedBaseline is what a signed message does to its bytes,
// without the rest of the message: SHA-384 over them in 4096-byte chunks
// on the calling goroutine while, with GOMAXPROCS above 1, another
// goroutine seals each chunk once it is hashed, into its place in a
// buffer of the input's size. It is the most a signed message can go on
// that many cores of this machine; with -cpu 1 both run on one.
func BenchmarkSignedBaseline(b *testing.B) {
	gcm, nonce := baselineGCM()
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			pt := benchInput(sz.n)
			chunks := (sz.n + 4095) / 4096
			dst := make([]byte, sz.n+chunks*16)
			clear(dst) // maps its pages before the timer starts
			chunk := func(i int) []byte { return pt[i*4096 : min(sz.n, (i+1)*4096)] }
			seal := func(i int) { gcm.Seal(dst[i*(4096+16):i*(4096+16)], nonce, chunk(i), nil) }
			h := sha512.New384()
			sum := make([]byte, 0, sha512.Size384)
			var hashed atomic.Int64
			var wg sync.WaitGroup
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Reset()
				if runtime.GOMAXPROCS(0) == 1 || chunks < 2 {
					for i := range chunks {
						h.Write(chunk(i))
						seal(i)
					}
					sum = h.Sum(sum[:0])
					continue
				}
				hashed.Store(0)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < chunks; {
						if int64(i) < hashed.Load() {
							seal(i)
							i++
						} else {
							runtime.Gosched()
						}
					}
				}()
				for i := range chunks {
					h.Write(chunk(i))
					hashed.Store(int64(i + 1))
				}
				sum = h.Sum(sum[:0])
				wg.Wait()
			}
		})
	}
}

// BenchmarkSHA384Baseline hashes the same bytes with SHA-384, as the
// signed suite 0x0578 does over its whole message: the most a signed
// message can go.
func BenchmarkSHA384Baseline(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name, func(b *testing.B) {
			pt := benchInput(sz.n)
			h := sha512.New384()
			sum := make([]byte, 0, sha512.Size384)
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Reset()
				h.Write(pt)
				sum = h.Sum(sum[:0])
			}
		})
	}
}

// warmUp runs one message before a benchmark's timer starts (and the
// baselines map their destinations' pages), so that the
// figures are those of a program that handles message after message: the
// destination's pages are mapped and the parallel team exists, as they
// are for every message but a process's first. (In a short -benchtime a
// 64 MiB benchmark runs one or two messages, and the page faults of the
// first took up to a third off its figure.)
func warmUp(op func()) { op() }

// BenchmarkEncrypt encrypts each message through Client.Encrypt, written
// with one Write, into io.Discard.
func BenchmarkEncrypt(b *testing.B) {
	ctx := context.Background()
	benchmarkEncrypt(b, func(c *envelope.Client, mm envelope.MaterialsManager, pt []byte) error {
		w, err := c.Encrypt(ctx, io.Discard, mm, testContext)
		if err != nil {
			return err
		}
		if _, err := w.Write(pt); err != nil {
			return err
		}
		return w.Close()
	})
}

// BenchmarkEncryptBytes encrypts each message with EncryptBytes, into one
// buffer of the message's length that frames are sealed straight into.
func BenchmarkEncryptBytes(b *testing.B) {
	ctx := context.Background()
	benchmarkEncrypt(b, func(c *envelope.Client, mm envelope.MaterialsManager, pt []byte) error {
		_, err := c.EncryptBytes(ctx, pt, mm, testContext)
		return err
	})
}

// benchmarkEncrypt runs encrypt for every suite and size.
func benchmarkEncrypt(b *testing.B, encrypt func(*envelope.Client, envelope.MaterialsManager, []byte) error) {
	mm := benchManager(b)
	for _, id := range benchSuites {
		c := newClient(b, func(o *envelope.Options) { o.Suite = id })
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%04X/%s", uint16(id), sz.name), func(b *testing.B) {
				pt := benchInput(sz.n)
				op := func() {
					if err := encrypt(c, mm, pt); err != nil {
						b.Fatal(err)
					}
				}
				warmUp(op)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					op()
				}
			})
		}
	}
}

// BenchmarkDecryptBytes decrypts each message with DecryptBytes, which
// allocates the plaintext it returns.
func BenchmarkDecryptBytes(b *testing.B) {
	ctx := context.Background()
	mm := benchManager(b)
	for _, id := range benchSuites {
		c := newClient(b, func(o *envelope.Options) { o.Suite = id })
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%04X/%s", uint16(id), sz.name), func(b *testing.B) {
				ct := benchMessage(b, c, mm, id, sz.n)
				op := func() {
					if _, _, err := c.DecryptBytes(ctx, ct, mm, nil); err != nil {
						b.Fatal(err)
					}
				}
				warmUp(op)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					op()
				}
			})
		}
	}
}

// BenchmarkDecrypt decrypts each message as DecryptBytes does: from a
// bytes.Buffer, which lends its bytes without a copy, into one buffer
// with room for the whole plaintext, so that a large message goes
// parallel. BenchmarkDecryptReader streams: it reads from a bytes.Reader,
// which copies every byte into the caller's buffer first, as a file or
// network source does, 64 KiB at a time, which keeps frames on one
// goroutine.
func BenchmarkDecrypt(b *testing.B) { benchmarkDecrypt(b, false) }

func BenchmarkDecryptReader(b *testing.B) { benchmarkDecrypt(b, true) }

func benchmarkDecrypt(b *testing.B, copying bool) {
	ctx := context.Background()
	mm := benchManager(b)
	for _, id := range benchSuites {
		c := newClient(b, func(o *envelope.Options) { o.Suite = id })
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("%04X/%s", uint16(id), sz.name), func(b *testing.B) {
				ct := benchMessage(b, c, mm, id, sz.n)
				buf := make([]byte, 64<<10)
				if !copying {
					buf = make([]byte, sz.n+1)
				}
				var src io.Reader
				op := func() {
					if copying {
						src = bytes.NewReader(ct)
					} else {
						src = bytes.NewBuffer(ct)
					}
					d, err := c.Decrypt(ctx, src, mm, nil)
					if err != nil {
						b.Fatal(err)
					}
					for n := 0; ; {
						k, err := d.Read(buf[n:])
						if !copying {
							n += k
						}
						if err == io.EOF {
							break
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				}
				warmUp(op)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					op()
				}
			})
		}
	}
}
