package engine

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/internal/readn"
)

// Frame is one body part as read from a message, not yet decrypted.
type Frame struct {
	Kind Kind
	Seq  uint32
	// IV is the IV written in the part; FrameCipher.Open checks that it is
	// the one Seq gives.
	IV []byte
	// Ciphertext is the encrypted content followed by the 16-byte tag.
	Ciphertext []byte
}

// FrameCipher seals and opens the body parts of one message. Each part
// depends only on the message's key and id, its kind, its sequence number
// and its bytes, so parts can be sealed and opened in any order and on any
// goroutine: give each goroutine its own FrameCipher (Clone), which keeps
// scratch space for the IV and AAD so that no call allocates.
type FrameCipher struct {
	aead      cipher.AEAD
	messageID []byte
	iv        [format.IVLength]byte
	aad       [maxBodyAADLength]byte
}

// NewFrameCipher returns a FrameCipher for the message with the given id,
// whose body key aead holds (a 12-byte-nonce, 16-byte-tag AES-GCM).
func NewFrameCipher(aead cipher.AEAD, messageID []byte) *FrameCipher {
	return &FrameCipher{aead: aead, messageID: messageID}
}

// Clone returns a FrameCipher for another goroutine. It shares the AEAD,
// which is safe for concurrent use, and has its own scratch space.
func (c *FrameCipher) Clone() *FrameCipher {
	return &FrameCipher{aead: c.aead, messageID: c.messageID}
}

// Seal appends to dst the ciphertext and tag of plaintext sealed as the
// body part kind with sequence number seq, under the IV seq gives. To
// seal in place use plaintext[:0] as dst.
func (c *FrameCipher) Seal(dst []byte, kind Kind, seq uint32, plaintext []byte) []byte {
	putFrameIV(c.iv[:], seq)
	aad := appendBodyAAD(c.aad[:0], c.messageID, kind, seq, uint64(len(plaintext)))
	return c.aead.Seal(dst, c.iv[:], plaintext, aad)
}

// Open checks that f's IV is the one its sequence number gives,
// authenticates f and appends its plaintext to dst. To open in place use
// f.Ciphertext[:0] as dst. Every failure wraps ErrAuthentication and
// names the part.
func (c *FrameCipher) Open(dst []byte, f Frame) ([]byte, error) {
	if len(f.Ciphertext) < format.TagLength {
		return nil, fmt.Errorf("%w: %s is shorter than its tag", ErrAuthentication, partName(f))
	}
	if !isFrameIV(f.IV, f.Seq) {
		// A writer that does not derive IVs from sequence numbers may
		// reuse them, which breaks AES-GCM.
		return nil, fmt.Errorf("%w: %s does not verify: its IV is not the one its sequence number gives", ErrAuthentication, partName(f))
	}
	aad := appendBodyAAD(c.aad[:0], c.messageID, f.Kind, f.Seq, uint64(len(f.Ciphertext)-format.TagLength))
	pt, err := c.aead.Open(dst, f.IV, f.Ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not verify", ErrAuthentication, partName(f))
	}
	return pt, nil
}

func partName(f Frame) string {
	if f.Kind == NonFramedBody {
		return "body"
	}
	return fmt.Sprintf("frame %d", f.Seq)
}

// FrameReader reads the body parts of one message in order, without
// decrypting them, and writes every byte it reads to the signature hash
// (when there is one). It checks the layout: sequence numbers in order,
// a final frame no longer than the frame length, nothing after the
// footer.
type FrameReader struct {
	src    io.Reader
	lender nexter // src, when it lends its bytes
	// lendMax is the most bytes src lends at once.
	lendMax int
	// stable: what src lends stays valid after later reads (a
	// *bytes.Buffer's bytes do, until it is written to).
	stable      bool
	nonFramed   bool
	frameLength int
	// maxNonFramed bounds the non-framed body this reader will buffer.
	maxNonFramed int64
	seq          uint32 // sequence number of the next part
	done         bool   // the final part has been read
	sig          hash.Hash
	buf          []byte
	box          *[]byte // buf's pool box, when it came from the pool
	fh           [finalHeaderLength]byte
	tail         [1]byte
}

// nexter is a source that lends its next n bytes without copying them,
// as *bytes.Buffer does; fewer than n come back only at the end of input.
type nexter interface {
	Next(n int) []byte
}

// NewFrameReader returns a reader of the body that follows header h in
// src. sig, when not nil, is the signature hash; the caller has written
// the header to it. maxNonFramed bounds the non-framed body the reader
// buffers (0: only the format's own limit).
func NewFrameReader(src io.Reader, h *format.Header, sig hash.Hash, maxNonFramed int64) *FrameReader {
	r := new(FrameReader)
	r.init(src, h, sig, maxNonFramed)
	return r
}

func (r *FrameReader) init(src io.Reader, h *format.Header, sig hash.Hash, maxNonFramed int64) {
	*r = FrameReader{
		src:          src,
		nonFramed:    h.ContentType == format.NonFramed,
		frameLength:  int(h.FrameLength),
		maxNonFramed: maxNonFramed,
		seq:          1,
		sig:          sig,
	}
	switch s := src.(type) {
	case *chunkReader:
		r.lender, r.lendMax = s, len(s.buf)
	case *bytes.Buffer:
		r.lender, r.lendMax, r.stable = s, math.MaxInt, true
	case nexter:
		r.lender, r.lendMax = s, math.MaxInt
	}
}

// Next reads the next body part; after the final part it returns io.EOF.
//
// A regular frame's ciphertext is lent by a source that lends its bytes
// when len(dst) can take the frame's plaintext (the caller then opens it
// into dst and must not write to the ciphertext), or read into dst when
// len(dst) can take the whole ciphertext; otherwise, and for the final
// frame and a non-framed body, it lands in the reader's own buffer. The
// frame's IV and ciphertext are valid until the next call.
func (r *FrameReader) Next(dst []byte) (Frame, error) { return r.next(dst, false) }

// next is Next; with keep, a regular frame's ciphertext must stay valid
// after later calls (its IV does not): it is lent only by a stable
// source, and read into dst otherwise, which must then take it whole.
func (r *FrameReader) next(dst []byte, keep bool) (Frame, error) {
	if r.done {
		return Frame{}, io.EOF
	}
	if r.nonFramed {
		return r.nextNonFramed()
	}
	fh := r.fh[:regularHeaderLength]
	if err := r.readFull(fh); err != nil {
		return Frame{}, err
	}
	if binary.BigEndian.Uint32(fh) == FinalFrameMarker {
		return r.nextFinal()
	}
	f := Frame{Kind: RegularFrame, Seq: binary.BigEndian.Uint32(fh), IV: fh[4:]}
	if f.Seq != r.seq {
		return Frame{}, fmt.Errorf("%w: frame %d where frame %d was due", ErrAuthentication, f.Seq, r.seq)
	}
	n := r.frameLength + format.TagLength
	var err error
	switch {
	case r.lender != nil && (keep && r.stable || !keep && len(dst) >= r.frameLength && n <= r.lendMax):
		if f.Ciphertext = r.lender.Next(n); len(f.Ciphertext) < n {
			return Frame{}, r.truncated(r.lendErr(), partName(f))
		}
		r.hash(f.Ciphertext)
	case len(dst) >= n:
		f.Ciphertext = dst[:n]
		if _, err := io.ReadFull(r.src, f.Ciphertext); err != nil {
			clear(f.Ciphertext)
			return Frame{}, r.truncated(err, partName(f))
		}
		r.hash(f.Ciphertext)
	default:
		if f.Ciphertext, err = r.readN(n, f); err != nil {
			return Frame{}, err
		}
	}
	r.seq++
	return f, nil
}

func (r *FrameReader) nextFinal() (Frame, error) {
	fh := r.fh[:]
	if err := r.readFull(fh[regularHeaderLength:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Kind: FinalFrame, Seq: binary.BigEndian.Uint32(fh[4:]), IV: fh[8 : 8+format.IVLength]}
	length := binary.BigEndian.Uint32(fh[8+format.IVLength:])
	if f.Seq != r.seq {
		return Frame{}, fmt.Errorf("%w: final frame %d where frame %d was due", ErrAuthentication, f.Seq, r.seq)
	}
	if int64(length) > int64(r.frameLength) {
		return Frame{}, fmt.Errorf("%w: final frame of %d bytes exceeds the frame length %d", format.ErrMalformed, length, r.frameLength)
	}
	var err error
	if f.Ciphertext, err = r.readN(int(length)+format.TagLength, f); err != nil {
		return Frame{}, err
	}
	r.done = true
	return f, nil
}

func (r *FrameReader) nextNonFramed() (Frame, error) {
	fh := r.fh[:nonFramedHeaderLength]
	if err := r.readFull(fh); err != nil {
		return Frame{}, err
	}
	f := Frame{Kind: NonFramedBody, Seq: nonFramedSeq, IV: fh[:format.IVLength]}
	length := binary.BigEndian.Uint64(fh[format.IVLength:])
	if length > MaxNonFramedLength {
		return Frame{}, fmt.Errorf("%w: non-framed body of %d bytes exceeds %d", format.ErrMalformed, length, int64(MaxNonFramedLength))
	}
	if max := r.maxNonFramed; max > 0 && int64(length) > max {
		return Frame{}, &format.LimitError{Limit: format.LimitNonFramedBodySize, Max: max, Got: int64(length)}
	}
	if length > uint64(math.MaxInt-format.TagLength) {
		// Only on 32-bit platforms, where a slice holds less.
		return Frame{}, &format.LimitError{Limit: format.LimitNonFramedBodySize, Max: int64(math.MaxInt - format.TagLength), Got: int64(length)}
	}
	var err error
	if f.Ciphertext, err = r.readN(int(length)+format.TagLength, f); err != nil {
		return Frame{}, err
	}
	r.done = true
	return f, nil
}

// ReadFooter reads the signature that follows the final part of a signed
// message. It does not check what follows; see CheckEnd.
func (r *FrameReader) ReadFooter() ([]byte, error) {
	var l [2]byte
	if n, err := io.ReadFull(r.src, l[:]); err != nil {
		if n == 0 && err == io.EOF {
			return nil, cut(err, "signature is missing: the message ends after its last frame")
		}
		return nil, cut(err, "signature is cut short: the message ends inside its length")
	}
	sig := make([]byte, binary.BigEndian.Uint16(l[:]))
	if n, err := io.ReadFull(r.src, sig); err != nil {
		return nil, cut(err, fmt.Sprintf("signature is cut short: %d of its %d bytes are there", n, len(sig)))
	}
	return sig, nil
}

// CheckEnd checks that nothing follows the message.
func (r *FrameReader) CheckEnd() error {
	switch n, err := io.ReadFull(r.src, r.tail[:]); {
	case n > 0:
		return fmt.Errorf("%w: bytes follow the end of the message", format.ErrMalformed)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("esdk: reading message: %w", err)
	}
	return nil
}

// lendErr is why a lending source came up short.
func (r *FrameReader) lendErr() error {
	if c, ok := r.lender.(*chunkReader); ok && c.err != nil {
		return c.readErr()
	}
	return io.ErrUnexpectedEOF
}

// release gives back the chunk buffer of a source the engine buffered;
// nothing may be read after it.
func (r *FrameReader) release() {
	if c, ok := r.src.(*chunkReader); ok {
		c.release()
	}
	r.lender = nil
}

// Wipe clears the reader's buffer and hands it back to the pool when it
// came from there: what the reader returned from it is not to be used
// after.
func (r *FrameReader) Wipe() {
	clear(r.buf[:cap(r.buf)])
	if r.box != nil {
		putFrameBuffer(r.box)
		r.box, r.buf = nil, nil
	}
}

// truncated turns an early end of input into a format error that says
// which part was cut.
func (r *FrameReader) truncated(err error, what string) error {
	return cut(err, "message body is truncated in its "+what)
}

// cut turns an early end of input into a format error with the message
// what, and passes other read errors on.
func cut(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s: %w", format.ErrMalformed, what, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("esdk: reading message: %w", err)
}

// readFull reads the fixed fields of a part.
func (r *FrameReader) readFull(b []byte) error {
	if _, err := io.ReadFull(r.src, b); err != nil {
		what := "body"
		if !r.nonFramed {
			what = fmt.Sprintf("frame %d", r.seq)
		}
		return r.truncated(err, what)
	}
	r.hash(b)
	return nil
}

// pooledPartMax is the largest body part that readN reads into a buffer
// from the pool, which it takes whole before the part's bytes arrive; a
// larger one grows its buffer as bytes arrive instead.
const pooledPartMax = 64 << 10

// readN reads the next n bytes into r.buf: a frame's worth from the pool
// when n is small (Wipe hands it back), and otherwise a buffer grown
// only as bytes arrive, so that a hostile length claims no memory its
// bytes do not fill.
func (r *FrameReader) readN(n int, f Frame) ([]byte, error) {
	if r.box != nil && n > cap(r.buf) {
		r.Wipe() // a larger part than the pooled buffer holds
	}
	if r.buf == nil && n <= pooledPartMax {
		r.box = getFrameBuffer(n)
		r.buf = *r.box
	}
	var err error
	if r.buf, err = readn.Append(r.buf[:0], r.src, n); err != nil {
		return nil, r.truncated(err, partName(f))
	}
	r.hash(r.buf)
	return r.buf, nil
}

func (r *FrameReader) hash(b []byte) {
	if r.sig != nil {
		r.sig.Write(b)
	}
}
