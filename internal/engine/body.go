package engine

import (
	"encoding/binary"
	"math"

	"github.com/go-esdk/esdk/format"
)

// The body layout: the fixed fields that open each body part, the AAD
// each part is sealed with, and the IV its sequence number gives.

// FinalFrameMarker is the sequence-number field that opens a final frame.
const FinalFrameMarker = 0xFFFFFFFF

// MaxFrames is the most frames a message may have: regular frames carry
// the sequence numbers 1 to 2^32-2 (2^32-1 would read as the final-frame
// marker), and the final frame may carry 2^32-1.
const MaxFrames = 1<<32 - 1

// MaxFrameLength is the largest frame length this platform can seal or
// open: the format's own limit, less on 32-bit platforms, where a frame,
// its header and its tag must fit in one slice.
const MaxFrameLength = min(format.MaxFrameLength, math.MaxInt-finalHeaderLength-format.TagLength)

// MaxNonFramedLength is the largest non-framed body content (2^36 - 32
// bytes, the AES-GCM limit for one IV).
const MaxNonFramedLength = 1<<36 - 32

// Kind is the kind of a body part. It selects the content string of the
// part's AAD.
type Kind uint8

const (
	RegularFrame Kind = iota
	FinalFrame
	NonFramedBody
)

var bodyAADStrings = [...]string{
	RegularFrame:  "AWSKMSEncryptionClient Frame",
	FinalFrame:    "AWSKMSEncryptionClient Final Frame",
	NonFramedBody: "AWSKMSEncryptionClient Single Block",
}

func (k Kind) String() string {
	switch k {
	case RegularFrame:
		return "regular frame"
	case FinalFrame:
		return "final frame"
	case NonFramedBody:
		return "non-framed body"
	}
	return "unknown body part"
}

// maxBodyAADLength bounds the length of any body AAD, so it fits a fixed
// array.
const maxBodyAADLength = 32 + len("AWSKMSEncryptionClient Single Block") + 4 + 8

// appendBodyAAD appends the AAD of one body part: message id, content
// string, sequence number and the part's plaintext length.
func appendBodyAAD(dst, messageID []byte, kind Kind, seq uint32, length uint64) []byte {
	dst = append(dst, messageID...)
	dst = append(dst, bodyAADStrings[kind]...)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return binary.BigEndian.AppendUint64(dst, length)
}

// nonFramedSeq is the sequence number of a non-framed body, for its IV
// and AAD.
const nonFramedSeq = 1

// putFrameIV writes the IV of the body part with sequence number seq:
// eight zero bytes and the sequence number.
func putFrameIV(iv []byte, seq uint32) {
	clear(iv[:8])
	binary.BigEndian.PutUint32(iv[8:format.IVLength], seq)
}

// isFrameIV reports whether iv is the IV sequence number seq gives.
func isFrameIV(iv []byte, seq uint32) bool {
	return len(iv) == format.IVLength && binary.BigEndian.Uint64(iv) == 0 && binary.BigEndian.Uint32(iv[8:]) == seq
}

// Lengths of the fixed fields that open each kind of body part.
const (
	regularHeaderLength   = 4 + format.IVLength         // seq, IV
	finalHeaderLength     = 4 + 4 + format.IVLength + 4 // marker, seq, IV, length
	nonFramedHeaderLength = format.IVLength + 8         // IV, length
)

// appendRegularHeader appends a regular frame's sequence number and IV.
func appendRegularHeader(dst []byte, seq uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, make([]byte, format.IVLength)...)
	putFrameIV(dst[len(dst)-format.IVLength:], seq)
	return dst
}

// appendFinalHeader appends a final frame's marker, sequence number, IV
// and content length.
func appendFinalHeader(dst []byte, seq uint32, length uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, FinalFrameMarker)
	dst = appendRegularHeader(dst, seq)
	return binary.BigEndian.AppendUint32(dst, length)
}

// appendNonFramedHeader appends a non-framed body's IV and content length.
func appendNonFramedHeader(dst []byte, length uint64) []byte {
	dst = append(dst, make([]byte, format.IVLength)...)
	putFrameIV(dst[len(dst)-format.IVLength:], nonFramedSeq)
	return binary.BigEndian.AppendUint64(dst, length)
}

// appendFooter appends the footer of a signed message: the signature's
// length and the DER signature.
func appendFooter(dst, signature []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(signature)))
	return append(dst, signature...)
}

// maxSignatureLength is the longest DER ECDSA signature of the suites: a
// P-384 signature, two 49-byte integers with their headers in a sequence.
const maxSignatureLength = 2 + 2*(2+49)

// FramedBodyLength is the length of a framed body of n plaintext bytes in
// frames of fl bytes, with the footer of a signed message when signed
// (the longest signature: DER signatures vary by a few bytes).
func FramedBodyLength(n int64, fl int, signed bool) int64 {
	regular := int64(0)
	if n > 0 {
		regular = (n - 1) / int64(fl) // a full last frame is the final one
	}
	size := regular*(regularHeaderLength+int64(fl)+format.TagLength) +
		finalHeaderLength + (n - regular*int64(fl)) + format.TagLength
	if signed {
		size += 2 + maxSignatureLength
	}
	return size
}
