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

// Every figure reads best as a ratio to BenchmarkAESGCMBaseline of the
// same size and run: raw AES-256-GCM sealing the same bytes in 4096-byte
// chunks, the most any ESDK message with 4096-byte frames can go on one
// goroutine.

var sizes = []struct {
	name string
	n    int
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

func BenchmarkAESGCMBaseline(b *testing.B) {
	block, err := aes.NewCipher(wrappingKey)
	if err != nil {
		b.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			pt := plaintext(sz.n)
			out := make([]byte, 0, frameLength+gcm.Overhead())
			b.SetBytes(int64(sz.n))
			b.ReportAllocs()
			for b.Loop() {
				for p := pt; len(p) > 0; {
					k := min(frameLength, len(p))
					out = gcm.Seal(out[:0], nonce, p[:k], nil)
					p = p[k:]
				}
			}
		})
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
			ct, err := sdks[1].encrypt(ctx, plaintext(sz.n))
			if err != nil {
				b.Fatal(err)
			}
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
