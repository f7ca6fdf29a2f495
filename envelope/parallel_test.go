package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

// Frames go parallel in a Write or Read call of at least 512 KiB: these
// tests use 4 KiB frames and calls of 1 MiB or more, with
// Concurrency set whatever GOMAXPROCS is.

const parFrame = 4096

func parClient(t testing.TB, id format.SuiteID, n int) *envelope.Client {
	return newClient(t, func(o *envelope.Options) {
		o.Suite = id
		o.FrameLength = parFrame
		o.Concurrency = n
	})
}

// readAll reads d in reads of r bytes and returns what was released, the
// error that ended it (nil after io.EOF) and the read buffer.
func readAll(d *envelope.Decryptor, r int) ([]byte, []byte, error) {
	buf := make([]byte, r)
	var got []byte
	for {
		n, err := d.Read(buf)
		got = append(got, buf[:n]...)
		if err == io.EOF {
			return got, buf, nil
		}
		if err != nil {
			return got, buf, err
		}
	}
}

// TestParallelRoundTrip encrypts and decrypts with several concurrencies,
// in one call and in pieces, from sources that lend their bytes and ones
// that do not; every combination reads back, and the messages of any
// concurrency decrypt with any other.
func TestParallelRoundTrip(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		for _, size := range []int{2*parFrame + 1, 256 * parFrame, 256*parFrame + 1, 600*parFrame - 1} {
			pt := randBytes(size)
			var msgs [][]byte
			for _, n := range []int{1, 2, 5} {
				c := parClient(t, id, n)
				whole, err := c.EncryptBytes(ctx, pt, mm, testContext)
				if err != nil {
					t.Fatal(err)
				}
				var pieces bytes.Buffer
				w, err := c.Encrypt(ctx, &pieces, mm, testContext)
				if err != nil {
					t.Fatal(err)
				}
				for rest := pt; len(rest) > 0; {
					k := min(len(rest), 300*parFrame+7)
					if _, err := w.Write(rest[:k]); err != nil {
						t.Fatal(err)
					}
					rest = rest[k:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, whole, pieces.Bytes())
			}
			for i, msg := range msgs {
				for _, n := range []int{1, 2, 5} {
					c := parClient(t, id, n)
					got, _, err := c.DecryptBytes(ctx, msg, mm, nil)
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("suite %04X, %d bytes, message %d, concurrency %d, DecryptBytes: %v", uint16(id), size, i, n, err)
					}
					for _, lend := range []bool{true, false} {
						for _, r := range []int{1000, 1 << 20, 2 << 20} {
							var src io.Reader = bytes.NewReader(msg)
							if lend {
								src = bytes.NewBuffer(msg)
							}
							d, err := c.Decrypt(ctx, src, mm, nil)
							if err != nil {
								t.Fatal(err)
							}
							got, _, err := readAll(d, r)
							if err != nil || !bytes.Equal(got, pt) {
								t.Fatalf("suite %04X, %d bytes, message %d, concurrency %d, lends %v, reads of %d: %v", uint16(id), size, i, n, lend, r, err)
							}
						}
					}
				}
			}
		}
	}
}

// TestParallelTamper damages one frame of a 300-frame message, or its
// signature, and decrypts it with concurrency 4 in reads that take many
// frames: only the frames before the damaged one are released, and the
// read buffer holds nothing of the frames from it on.
func TestParallelTamper(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	const frames = 300
	for _, id := range []format.SuiteID{format.AES256GCMHKDFSHA512CommitKey, format.AES256GCMHKDFSHA512CommitKeyECDSAP384} {
		c := parClient(t, id, 4)
		pt := randBytes(frames*parFrame + 100)
		msg, err := c.EncryptBytes(ctx, pt, mm, testContext)
		if err != nil {
			t.Fatal(err)
		}
		spans, _ := messageLayout(t, msg)
		for _, sp := range spans {
			// A byte of every region of frames 1, 2, 255 to 257, 299 and
			// 300, of the final frame, and of the signature.
			switch sp.part {
			case 1, 2, 255, 256, 257, 299, 300, -1:
			default:
				continue
			}
			allowed := (sp.part - 1) * parFrame
			if sp.part == -1 {
				allowed = frames * parFrame
			}
			bad := bytes.Clone(msg)
			bad[sp.start+(sp.end-sp.start)/2] ^= 0x04
			for _, lend := range []bool{true, false} {
				for _, r := range []int{280*parFrame + 5, 2 << 20} {
					what := fmt.Sprintf("suite %04X, %s of frame %d, lends %v, reads of %d", uint16(id), sp.name, sp.part, lend, r)
					var src io.Reader = bytes.NewReader(bad)
					if lend {
						src = bytes.NewBuffer(bad)
					}
					d, err := c.Decrypt(ctx, src, mm, nil)
					if err != nil {
						t.Fatal(err)
					}
					got, buf, err := readAll(d, r)
					if err == nil {
						t.Fatalf("%s: decrypted", what)
					}
					if !errors.Is(err, envelope.ErrAuthentication) && !errors.Is(err, envelope.ErrMalformed) {
						t.Errorf("%s: %v", what, err)
					}
					if len(got) > allowed || !bytes.HasPrefix(pt, got) || len(got)%parFrame != 0 {
						t.Fatalf("%s: released %d bytes, %d allowed (%v)", what, len(got), allowed, err)
					}
					if leakedFrames(buf, pt[len(got):]) {
						t.Fatalf("%s: the read buffer holds plaintext that was not released", what)
					}
				}
			}
			if _, _, err := c.DecryptBytes(ctx, bad, mm, nil); err == nil {
				t.Fatalf("suite %04X, %s of frame %d: DecryptBytes succeeded", uint16(id), sp.name, sp.part)
			}
		}
	}
}

// TestParallelNoGoroutineLeft starts messages with concurrency 4, reads
// or writes part of each in calls that go parallel, and abandons them:
// no goroutine of theirs is left once the calls have returned.
func TestParallelNoGoroutineLeft(t *testing.T) {
	ctx := context.Background()
	mm := aesManager(t)
	c := parClient(t, format.AES256GCMHKDFSHA512CommitKeyECDSAP384, 4)
	pt := randBytes(400 * parFrame)
	msg, err := c.EncryptBytes(ctx, pt, mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for range 10 {
		d, err := c.Decrypt(ctx, bytes.NewReader(msg), mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(d, make([]byte, 300*parFrame)); err != nil {
			t.Fatal(err)
		}
		w, err := c.Encrypt(ctx, io.Discard, mm, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pt[:300*parFrame]); err != nil {
			t.Fatal(err)
		}
	}
	// A goroutine that has done its last job may take a moment to exit.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left running, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// leakedFrames reports whether buf holds, at a frame boundary, the start
// of a frame of rest, the plaintext not released: a parallel read puts
// each frame at a frame boundary of the read buffer.
func leakedFrames(buf, rest []byte) bool {
	starts := map[string]bool{}
	for i := 0; i+16 <= len(rest); i += parFrame {
		starts[string(rest[i:i+16])] = true
	}
	for i := 0; i+16 <= len(buf); i += parFrame {
		if starts[string(buf[i:i+16])] {
			return true
		}
	}
	return false
}
