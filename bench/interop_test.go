package bench

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// TestCrossDecrypt encrypts with each SDK and decrypts with both, for both
// suites and sizes around the frame length, under the shared encryption
// context: every message must round-trip to the same plaintext and
// context, and the message must be one the other SDK could not tell from
// its own.
func TestCrossDecrypt(t *testing.T) {
	ctx := context.Background()
	sizes := []int{0, 1, frameLength - 1, frameLength, frameLength + 1, 3*frameLength + 7, 1<<20 + 3}
	for _, suite := range suites {
		sdks := newSDKs(t, suite)
		for _, enc := range sdks {
			for _, dec := range sdks {
				for _, n := range sizes {
					t.Run(fmt.Sprintf("%04X/%s-to-%s/%d", suite, enc.name(), dec.name(), n), func(t *testing.T) {
						pt := plaintext(n)
						ct, err := enc.encrypt(ctx, pt)
						if err != nil {
							t.Fatalf("%s encrypt: %v", enc.name(), err)
						}
						if got := uint16(ct[1])<<8 | uint16(ct[2]); ct[0] != 2 || got != suite {
							t.Fatalf("%s wrote version %d suite %04X, want version 2 suite %04X", enc.name(), ct[0], got, suite)
						}
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
