// Package bench measures this SDK side by side with the official AWS
// Encryption SDK for Go on the same data, suites, frame length and raw AES
// wrapping key, in one run, and checks that each SDK decrypts the other's
// messages.
//
// It is a separate module so that the main module never depends on the
// official SDK. Everything is in the tests and benchmarks; see README.md.
package bench
