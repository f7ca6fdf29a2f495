package format_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/go-esdk/esdk/format"
)

// benchHeader marshals a header with n encryption-context entries and n
// encrypted data keys shaped like AWS KMS ones.
func benchHeader(b *testing.B, n int) []byte {
	s := format.MustSuite(format.AES256GCMHKDFSHA512CommitKeyECDSAP384)
	h := &format.Header{
		Suite:             s,
		MessageID:         bytes.Repeat([]byte{0xA5}, s.MessageIDLength()),
		EncryptionContext: map[string]string{format.PublicKeyContextKey: strings.Repeat("A", 64)},
		ContentType:       format.Framed,
		FrameLength:       4096,
		SuiteData:         bytes.Repeat([]byte{0xC3}, s.SuiteDataLength()),
		AuthTag:           bytes.Repeat([]byte{0x7E}, format.TagLength),
	}
	for i := range n {
		h.EncryptionContext[fmt.Sprintf("context-key-%d", i)] = strings.Repeat("value ", 4)
		h.EncryptedDataKeys = append(h.EncryptedDataKeys, format.EncryptedDataKey{
			ProviderID:   "aws-kms",
			ProviderInfo: []byte(fmt.Sprintf("arn:aws:kms:us-west-2:111122223333:key/%036d", i)),
			Ciphertext:   bytes.Repeat([]byte{byte(i)}, 184),
		})
	}
	raw, err := h.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func BenchmarkParseHeader(b *testing.B) {
	for _, n := range []int{1, 10} {
		raw := benchHeader(b, n)
		b.Run(fmt.Sprintf("ParseHeader/keys=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := format.ParseHeader(raw, format.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("ReadHeader/keys=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			r := bytes.NewReader(raw)
			for b.Loop() {
				r.Reset(raw)
				if _, _, err := format.ReadHeader(r, format.Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
