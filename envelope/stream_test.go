package envelope_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// patternReader yields n bytes of a fixed random block, repeated.
type patternReader struct {
	block []byte
	left  int64
	off   int
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.left)]
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		n += c
		r.off = (r.off + c) % len(r.block)
	}
	r.left -= int64(n)
	return n, nil
}

// TestStreamOneGiB encrypts 1 GiB through the streaming API straight into
// a decryptor and checks that memory stays flat: the heap never holds more
// than a few frames, whatever the message size.
func TestStreamOneGiB(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB round trip skipped in -short mode")
	}
	const size = 1 << 30
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) { o.Suite = format.AES256GCMHKDFSHA512CommitKey; o.FrameLength = 64 << 10 })
	src := &patternReader{block: randBytes(1<<20 + 17), left: size}
	want := sha256.New()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	}()

	pr, pw := io.Pipe()
	encErr := make(chan error, 1)
	go func() {
		w, err := c.Encrypt(ctx, pw, mm, testContext)
		if err == nil {
			_, err = io.Copy(w, io.TeeReader(src, want))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		encErr <- err
	}()
	d, err := c.Decrypt(ctx, pr, mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-encErr; err != nil {
		t.Fatal(err)
	}
	close(stop)
	sampler.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("decrypted %d bytes, digest equal %v", n, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	grew := int64(peak.Load()) - int64(before.HeapInuse)
	t.Logf("1 GiB streamed: %d bytes allocated in all, peak heap in use %d KiB above the start", allocated, grew>>10)
	if allocated > 8<<20 {
		t.Errorf("streaming 1 GiB allocated %d bytes; memory is not flat", allocated)
	}
}

// TestNoAllocationsPerFrame guards the steady state: once a message is
// under way, encrypting or decrypting another frame allocates nothing,
// on the sequential path and, in calls that carry many frames, on the
// parallel one.
func TestNoAllocationsPerFrame(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	const fl = 4096
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, format.AES128GCMIV12Tag16NoKDF} {
		s := format.MustSuite(id)
		c := newClient(t, func(o *envelope.Options) {
			o.CommitmentPolicy = policyFor(s)
			o.Suite = id
			o.FrameLength = fl
		})
		frame := randBytes(fl)
		w, err := c.Encrypt(ctx, io.Discard, mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(200, func() { w.Write(frame) }); a != 0 {
			t.Errorf("suite %s: %v allocations per frame written", id, a)
		}
		for _, chunk := range []int{fl, 1000} {
			ct, err := c.EncryptBytes(ctx, randBytes(300*fl), mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Decrypt(ctx, bytes.NewReader(ct), mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, chunk)
			io.ReadFull(d, buf) // the first frame sizes the buffer
			if a := testing.AllocsPerRun(200, func() { io.ReadFull(d, buf) }); a != 0 {
				t.Errorf("suite %s: %v allocations per %d-byte read", id, a, chunk)
			}
		}

		// Parallel calls of 256 frames (1 MiB), on two goroutines or four.
		for _, n := range []int{2, 4} {
			c := newClient(t, func(o *envelope.Options) {
				o.CommitmentPolicy = policyFor(s)
				o.Suite = id
				o.FrameLength = fl
				o.Concurrency = n
			})
			frames := randBytes(256 * fl)
			w, err := c.Encrypt(ctx, io.Discard, mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(frames) // the first parallel call sets up the goroutines' state
			if a := testing.AllocsPerRun(20, func() { w.Write(frames) }); a != 0 {
				t.Errorf("suite %s, concurrency %d: %v allocations per 256 frames written", id, n, a)
			}
			ct, err := c.EncryptBytes(ctx, randBytes(22*256*fl+100), mm, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, lend := range []bool{true, false} {
				var src io.Reader = bytes.NewReader(ct)
				if lend {
					src = bytes.NewBuffer(ct)
				}
				d, err := c.Decrypt(ctx, src, mm, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.ReadFull(d, frames)
				if a := testing.AllocsPerRun(20, func() { io.ReadFull(d, frames) }); a != 0 {
					t.Errorf("suite %s, concurrency %d, lends %v: %v allocations per 256 frames read", id, n, lend, a)
				}
			}
		}
	}
}

// TestParallelMessageAllocations guards what a whole message allocates
// when its frames go parallel: the team, its ring (1 MiB and more) and
// their state are taken from those of earlier messages, so that a
// message of 1 MiB or 2 MiB on two goroutines allocates about what one on
// a single goroutine does (a few KB), where it allocated its ring afresh
// (1.08 MB for 1 MiB).
func TestParallelMessageAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops some of what goes into a sync.Pool")
	}
	ctx := context.Background()
	mm := aesManager(t)
	const limit = 32 << 10
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		c := parClient(t, id, 2)
		for _, size := range []int{1 << 20, 2 << 20} {
			pt := randBytes(size)
			ct, err := c.EncryptBytes(ctx, pt, mm, testContext)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]byte, size+1)
			for name, f := range map[string]func(){
				"Encrypt": func() {
					w, err := c.Encrypt(ctx, io.Discard, mm, testContext)
					if err != nil {
						t.Fatal(err)
					}
					w.Write(pt)
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
				},
				"Decrypt": func() {
					d, err := c.Decrypt(ctx, bytes.NewBuffer(ct), mm, nil)
					if err != nil {
						t.Fatal(err)
					}
					if n, err := io.ReadFull(d, out); n != size || err != io.ErrUnexpectedEOF {
						t.Fatalf("read %d bytes: %v", n, err)
					}
				},
			} {
				f() // the first message makes the team
				// A sync.Pool misses now and then (a goroutine that moved
				// to another processor does not see what it put on the
				// first): the best of five batches of messages counts.
				best := uint64(math.MaxUint64)
				for range 5 {
					var before, after runtime.MemStats
					const rounds = 8
					runtime.ReadMemStats(&before)
					for range rounds {
						f()
					}
					runtime.ReadMemStats(&after)
					best = min(best, (after.TotalAlloc-before.TotalAlloc)/rounds)
				}
				if per := best; per > limit {
					t.Errorf("suite %04X, %d bytes, %s: %d bytes allocated per message, want at most %d", uint16(id), size, name, per, limit)
				}
			}
		}
	}
}

// TestStreamOneGiBParallel streams 1 GiB through an encryptor into a
// decryptor, both with concurrency 4 and both in calls of 4 MiB, which go
// parallel: the heap in use stays under 32 MiB, and the workers that each
// call starts are there while the stream runs and gone after it.
func TestStreamOneGiBParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB round trip skipped in -short mode")
	}
	const size = 1 << 30
	ctx := context.Background()
	mm := aesManager(t)
	c := newClient(t, func(o *envelope.Options) {
		o.Suite = format.AES256GCMHKDFSHA512CommitKey
		o.FrameLength = 64 << 10
		o.Concurrency = 4
	})
	src := &patternReader{block: randBytes(1<<20 + 17), left: size}
	want := sha256.New()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	var peak, peakG atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			peak.Store(max(peak.Load(), int64(m.HeapInuse)))
			peakG.Store(max(peakG.Load(), int64(runtime.NumGoroutine())))
		}
	}()

	pr, pw := io.Pipe()
	encErr := make(chan error, 1)
	go func() {
		w, err := c.Encrypt(ctx, pw, mm, testContext)
		if err == nil {
			_, err = io.CopyBuffer(struct{ io.Writer }{w}, io.TeeReader(src, want), make([]byte, 4<<20))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		encErr <- err
	}()
	d, err := c.Decrypt(ctx, pr, mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.CopyBuffer(got, struct{ io.Reader }{d}, make([]byte, 4<<20))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-encErr; err != nil {
		t.Fatal(err)
	}
	close(stop)
	sampler.Wait()

	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("decrypted %d bytes, digest equal %v", n, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	t.Logf("1 GiB streamed in parallel calls: peak heap in use %d KiB (%d KiB above the start), peak goroutines %d (%d before)",
		peak.Load()>>10, (peak.Load()-int64(before.HeapInuse))>>10, peakG.Load(), goroutines)
	if peak.Load() > 32<<20 {
		t.Errorf("peak heap in use %d MiB, want under 32 MiB", peak.Load()>>20)
	}
	// The encryptor, the decryptor, the sampler: and the helpers of their
	// parallel calls, three each.
	if peakG.Load() < int64(goroutines)+4 {
		t.Errorf("peak goroutines %d, %d before: the calls did not go parallel", peakG.Load(), goroutines)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("%d goroutines after the stream, %d before", g, goroutines)
	}
}
