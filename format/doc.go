// Package format reads and writes the bytes of AWS Encryption SDK
// messages: the algorithm-suite table, message headers of versions 1 and
// 2, the canonical encryption-context serialization, encrypted data keys,
// and the layout of framed and non-framed bodies and of the footer.
//
// Parsing is strict and bounded: every length is checked against what is
// left before anything sized by the input is allocated, and a header that
// parses marshals back to exactly the bytes it came from. The package does
// no cryptography; see package envelope for encryption and decryption.
package format
