// Package format reads and writes the bytes of AWS Encryption SDK
// messages: the algorithm-suite table, message headers of versions 1 and
// 2, the canonical encryption-context serialization and encrypted data
// keys. Message bodies are read and written by package envelope.
//
// Parsing is strict and bounded: every length is checked against what is
// left before anything sized by the input is allocated, and a header that
// parses marshals back to exactly the bytes it came from, but for one
// case: an encryption context stored out of canonical order (as old
// JavaScript ESDKs wrote it) is read and marshals sorted. A header is
// therefore authenticated over the bytes read, which [ReadHeader] returns.
// The package does no cryptography; see package envelope for encryption
// and decryption.
package format
