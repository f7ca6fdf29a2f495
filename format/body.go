package format

import "encoding/binary"

// FinalFrameMarker is the sequence-number field that opens a final frame.
const FinalFrameMarker = 0xFFFFFFFF

// MaxNonFramedLength is the largest non-framed body content (2^36 - 32
// bytes, the AES-GCM limit for one IV).
const MaxNonFramedLength = 1<<36 - 32

// BodyKind is the content string that goes into a body part's AAD.
type BodyKind uint8

const (
	RegularFrame BodyKind = iota
	FinalFrame
	SingleBlock
)

var bodyAADStrings = [...]string{
	RegularFrame: "AWSKMSEncryptionClient Frame",
	FinalFrame:   "AWSKMSEncryptionClient Final Frame",
	SingleBlock:  "AWSKMSEncryptionClient Single Block",
}

// MaxBodyAADLength bounds the length of any body AAD, so callers can keep
// it in a fixed array.
const MaxBodyAADLength = messageIDLenV2 + len("AWSKMSEncryptionClient Single Block") + 4 + 8

// AppendBodyAAD appends the AAD of one body part: message id, content
// string, sequence number and this part's plaintext length.
func AppendBodyAAD(dst, messageID []byte, kind BodyKind, seq uint32, length uint64) []byte {
	dst = append(dst, messageID...)
	dst = append(dst, bodyAADStrings[kind]...)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return binary.BigEndian.AppendUint64(dst, length)
}

// FrameIV returns the IV of the body part with the given sequence number:
// eight zero bytes and the sequence number.
func FrameIV(seq uint32) [IVLength]byte {
	var iv [IVLength]byte
	binary.BigEndian.PutUint32(iv[8:], seq)
	return iv
}

// Lengths of the fixed fields that open each kind of body part.
const (
	RegularFrameHeaderLength = 4 + IVLength         // seq, IV
	FinalFrameHeaderLength   = 4 + 4 + IVLength + 4 // marker, seq, IV, length
	NonFramedHeaderLength    = IVLength + 8         // IV, length
)

// AppendRegularFrameHeader appends a regular frame's sequence number and IV.
func AppendRegularFrameHeader(dst []byte, seq uint32, iv []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, seq)
	return append(dst, iv...)
}

// AppendFinalFrameHeader appends a final frame's marker, sequence number,
// IV and content length.
func AppendFinalFrameHeader(dst []byte, seq uint32, iv []byte, length uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, FinalFrameMarker)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = append(dst, iv...)
	return binary.BigEndian.AppendUint32(dst, length)
}

// AppendNonFramedHeader appends a non-framed body's IV and content length.
func AppendNonFramedHeader(dst []byte, iv []byte, length uint64) []byte {
	dst = append(dst, iv...)
	return binary.BigEndian.AppendUint64(dst, length)
}

// AppendFooter appends the footer of a signed message: the signature's
// length and the DER signature.
func AppendFooter(dst, signature []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(signature)))
	return append(dst, signature...)
}
