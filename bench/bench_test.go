package bench

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"testing"
)

// Every figure reads best as a ratio to the "baseline" sub-benchmark of
// its group, run just before the SDKs on the same bytes: raw AES-256-GCM
// sealing (for Encrypt) or opening (for Decrypt) them in 4096-byte chunks
// on one goroutine, the most any ESDK message with 4096-byte frames can go
// there. Being measured next to the figures it divides keeps the ratio
// sound on a machine whose load changes during the run.

var sizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// baseline seals pt in frameLength chunks per iteration, or, with open,
// opens those sealed chunks.
func baseline(b *testing.B, pt []byte, open bool) {
	block, err := aes.NewCipher(wrappingKey)
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	var sealed [][]byte
	for p := pt; len(p) > 0; {
		k := min(frameLength, len(p))
		sealed = append(sealed, gcm.Seal(nil, nonce, p[:k], nil))
		p = p[k:]
	}
	out := make([]byte, 0, frameLength+gcm.Overhead())
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if open {
			for _, c := range sealed {
				if out, err = gcm.Open(out[:0], nonce, c, nil); err != nil {
					b.Fatal(err)
				}
			}
			continue
		}
		for p := pt; len(p) > 0; {
			k := min(frameLength, len(p))
			out = gcm.Seal(out[:0], nonce, p[:k], nil)
			p = p[k:]
		}
	}
}

// BenchmarkEncrypt encrypts the same plaintext with each SDK. "ours" and
// "official" are the one-shot []byte APIs, which return the whole message;
// "ours-stream" writes the message through Client.Encrypt into io.Discard,
// which the official SDK (v0.4.0) has no counterpart for.
func BenchmarkEncrypt(b *testing.B) {
	ctx := context.Background()
	for _, suite := range suites {
		sdks := newSDKs(b, suite)
		o := sdks[0].(*ours)
		for _, sz := range sizes {
			pt := plaintext(sz.n)
			b.Run(fmt.Sprintf("%04X/%s/baseline", suite, sz.name), func(b *testing.B) { baseline(b, pt, false) })
			for _, s := range sdks {
				b.Run(fmt.Sprintf("%04X/%s/%s", suite, sz.name, s.name()), func(b *testing.B) {
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := s.encrypt(ctx, pt); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run(fmt.Sprintf("%04X/%s/ours-stream", suite, sz.name), func(b *testing.B) {
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					w, err := o.c.Encrypt(ctx, io.Discard, o.mm, encryptionContext)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := w.Write(pt); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecrypt decrypts the same message, written by the official SDK,
// with each SDK. "ours" and "official" are the one-shot []byte APIs, which
// return the whole plaintext; "ours-stream" reads it through
// Client.Decrypt from a bytes.Reader (which copies every byte, as a file
// or socket does) with a 64 KiB buffer and keeps nothing.
func BenchmarkDecrypt(b *testing.B) {
	ctx := context.Background()
	for _, suite := range suites {
		sdks := newSDKs(b, suite)
		o := sdks[0].(*ours)
		for _, sz := range sizes {
			pt := plaintext(sz.n)
			ct, err := sdks[1].encrypt(ctx, pt)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%04X/%s/baseline", suite, sz.name), func(b *testing.B) { baseline(b, pt, true) })
			for _, s := range sdks {
				b.Run(fmt.Sprintf("%04X/%s/%s", suite, sz.name, s.name()), func(b *testing.B) {
					b.SetBytes(int64(sz.n))
					b.ReportAllocs()
					for b.Loop() {
						if _, _, err := s.decrypt(ctx, ct); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run(fmt.Sprintf("%04X/%s/ours-stream", suite, sz.name), func(b *testing.B) {
				buf := make([]byte, 64<<10)
				b.SetBytes(int64(sz.n))
				b.ReportAllocs()
				for b.Loop() {
					n, err := o.decryptStream(ctx, bytes.NewReader(ct), buf)
					if err != nil {
						b.Fatal(err)
					}
					if n != int64(sz.n) {
						b.Fatalf("decrypted %d bytes, want %d", n, sz.n)
					}
				}
			})
		}
	}
}

// decryptStream decrypts one message from src through buf and discards
// the plaintext, returning its length.
func (o *ours) decryptStream(ctx context.Context, src io.Reader, buf []byte) (int64, error) {
	d, err := o.c.Decrypt(ctx, src, o.mm, encryptionContext)
	if err != nil {
		return 0, err
	}
	var total int64
	for {
		n, err := d.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
