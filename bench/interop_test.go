package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

var crossSizes = []int{0, 1, frameLength - 1, frameLength, frameLength + 1, 3*frameLength + 7, 1<<20 + 3}

// TestCrossDecrypt encrypts with each SDK and decrypts with both, for both
// suites and sizes around the frame length, under the shared encryption
// context: every message must be a version 2 message of the suite with
// 4096-byte frames, and must decrypt to the same plaintext and context.
func TestCrossDecrypt(t *testing.T) {
	ctx := context.Background()
	for _, suite := range suites {
		sdks := newSDKs(t, suite)
		o := sdks[0].(*ours)
		for _, enc := range sdks {
			for _, n := range crossSizes {
				pt := plaintext(n)
				ct, err := enc.encrypt(ctx, pt)
				if err != nil {
					t.Fatalf("%04X: %s encrypt %d bytes: %v", suite, enc.name(), n, err)
				}
				if got := uint16(ct[1])<<8 | uint16(ct[2]); ct[0] != 2 || got != suite {
					t.Fatalf("%s wrote version %d suite %04X, want version 2 suite %04X", enc.name(), ct[0], got, suite)
				}
				if _, h, err := o.c.DecryptBytes(ctx, ct, o.mm, encryptionContext); err != nil {
					t.Fatalf("%04X: reading the header of %s's message: %v", suite, enc.name(), err)
				} else if h.FrameLength != frameLength {
					t.Fatalf("%04X: %s wrote frame length %d, want %d", suite, enc.name(), h.FrameLength, frameLength)
				}
				for _, dec := range sdks {
					t.Run(fmt.Sprintf("%04X/%s-to-%s/%d", suite, enc.name(), dec.name(), n), func(t *testing.T) {
						got, ec, err := dec.decrypt(ctx, ct)
						if err != nil {
							t.Fatalf("%s decrypt of %s's message: %v", dec.name(), enc.name(), err)
						}
						if !bytes.Equal(got, pt) {
							t.Fatalf("%s decrypted %d bytes of %s's message, not the %d bytes encrypted", dec.name(), len(got), enc.name(), len(pt))
						}
						if !contextIncludes(ec, encryptionContext) {
							t.Fatalf("%s decrypted context %v, want it to include %v", dec.name(), ec, encryptionContext)
						}
					})
				}
			}
		}
	}
}

// TestCrossDecryptWrongKey is the control of TestCrossDecrypt: a keyring
// of the same namespace and name but another key must not decrypt the
// other SDK's message, nor may a tampered message decrypt.
func TestCrossDecryptWrongKey(t *testing.T) {
	ctx := context.Background()
	otherKey := bytes.Repeat([]byte{0x42}, 32)
	for _, suite := range suites {
		sdks := newSDKs(t, suite)
		wrong := newSDKsWithKey(t, suite, otherKey)
		for i, enc := range sdks {
			dec, wrongDec := sdks[1-i], wrong[1-i]
			ct, err := enc.encrypt(ctx, plaintext(3*frameLength))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := wrongDec.decrypt(ctx, ct); err == nil {
				t.Errorf("%04X: %s with another key decrypted %s's message", suite, wrongDec.name(), enc.name())
			}
			tampered := bytes.Clone(ct)
			tampered[len(tampered)/2] ^= 1
			if _, _, err := dec.decrypt(ctx, tampered); err == nil {
				t.Errorf("%04X: %s decrypted %s's message with a flipped bit", suite, dec.name(), enc.name())
			}
		}
	}
}
