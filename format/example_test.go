package format_test

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/go-esdk/esdk/format"
)

func ExampleMarshalEncryptionContext() {
	// Entries are sorted by the UTF-8 bytes of their keys, so "a" < "aa" <
	// "b" < "é", whatever order the map gives.
	b, err := format.MarshalEncryptionContext(map[string]string{"é": "4", "b": "3", "aa": "2", "a": "1"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	ec, err := format.ParseEncryptionContext(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(slices.Sorted(maps.Keys(ec)))
	// Output:
	// 00 04 00 01 61 00 01 31 00 02 61 61 00 01 32 00 01 62 00 01 33 00 02 c3 a9 00 01 34
	// [a aa b é]
}

func ExampleParseHeader() {
	h := &format.Header{
		Suite:             format.MustSuite(format.AES256GCMHKDFSHA512CommitKey),
		MessageID:         make([]byte, 32),
		EncryptionContext: map[string]string{"purpose": "example"},
		EncryptedDataKeys: []format.EncryptedDataKey{{ProviderID: "raw-aes", ProviderInfo: []byte("key"), Ciphertext: []byte("wrapped")}},
		ContentType:       format.Framed,
		FrameLength:       4096,
		SuiteData:         make([]byte, format.CommitmentLength),
		AuthTag:           make([]byte, format.TagLength),
	}
	raw, err := h.Marshal()
	if err != nil {
		panic(err)
	}
	// A message is its header followed by the body: ParseHeader says where
	// the header ends.
	msg := append(raw, "body..."...)
	parsed, n, err := format.ParseHeader(msg, format.Limits{MaxEncryptedDataKeys: 10})
	if err != nil {
		panic(err)
	}
	fmt.Println(parsed.Suite, "version", parsed.Version())
	fmt.Println(parsed.ContentType, parsed.FrameLength, parsed.EncryptionContext)
	fmt.Println(parsed.EncryptedDataKeys[0].ProviderID, n == len(raw), bytes.Equal(msg[n:], []byte("body...")))
	// Output:
	// AES_256_GCM_HKDF_SHA512_COMMIT_KEY version 2
	// framed 4096 map[purpose:example]
	// raw-aes true true
}
