package engine

import (
	"crypto/cipher"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/go-esdk/esdk/format"
)

// OpenConfig describes the body of one message being read.
type OpenConfig struct {
	Header *format.Header
	AEAD   cipher.AEAD
	// Signature is the running hash of a signed suite, fed the header
	// already (nil when unsigned); VerificationKey checks the footer.
	Signature       hash.Hash
	VerificationKey *ecdsa.PublicKey
	// MaxNonFramedLength bounds the non-framed body this reader will
	// buffer. (The frame length is bounded by the caller before any key
	// work.)
	MaxNonFramedLength int64
}

// nexter is a source that lends its next n bytes without copying them,
// as *bytes.Buffer does.
type nexter interface {
	Next(n int) []byte
}

// Opener reads and authenticates a message body. It releases a frame's
// plaintext only after the frame's tag verifies, and for signed suites
// the final frame only after the signature verifies.
type Opener struct {
	src  io.Reader
	cfg  OpenConfig
	mid  []byte
	fl   int
	buf  []byte // current frame: ciphertext, then plaintext after Open
	out  []byte // authenticated plaintext not yet returned
	seq  uint32
	err  error // sticky; io.EOF once the message is done
	fh   [format.FinalFrameHeaderLength]byte
	aad  [format.MaxBodyAADLength]byte
	tail [1]byte
}

// NewOpener returns a reader of the plaintext of the body that follows in
// src.
func NewOpener(src io.Reader, cfg OpenConfig) *Opener {
	h := cfg.Header
	return &Opener{src: src, cfg: cfg, mid: h.MessageID, fl: int(h.FrameLength), seq: 1}
}

// Read returns authenticated plaintext.
func (o *Opener) Read(p []byte) (int, error) {
	for len(o.out) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := o.next(p)
		if err != nil {
			o.fail(err)
		}
		if n > 0 {
			return n, nil
		}
	}
	n := copy(p, o.out)
	o.out = o.out[n:]
	return n, nil
}

func (o *Opener) fail(err error) {
	o.err = err
	o.out = nil
	clear(o.buf)
}

// truncated turns an early end of input into a format error.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: message body is truncated: %w", format.ErrMalformed, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("esdk: reading message: %w", err)
}

// readN reads the next n bytes into o.buf, growing it only as bytes
// arrive, and feeds them to the signature hash.
func (o *Opener) readN(n int) ([]byte, error) {
	if n <= cap(o.buf) {
		o.buf = o.buf[:n]
		if _, err := io.ReadFull(o.src, o.buf); err != nil {
			return nil, truncated(err)
		}
	} else {
		o.buf = o.buf[:0]
		for need := n; need > 0; {
			step := min(need, 1<<20)
			o.buf = append(o.buf, make([]byte, step)...)
			if _, err := io.ReadFull(o.src, o.buf[len(o.buf)-step:]); err != nil {
				return nil, truncated(err)
			}
			need -= step
		}
	}
	o.hash(o.buf)
	return o.buf, nil
}

func (o *Opener) readHeader(b []byte) error {
	if _, err := io.ReadFull(o.src, b); err != nil {
		return truncated(err)
	}
	o.hash(b)
	return nil
}

func (o *Opener) hash(b []byte) {
	if o.cfg.Signature != nil {
		o.cfg.Signature.Write(b)
	}
}

// next reads one body part. A regular frame is decrypted in p when it
// fits with its tag; anything else lands in o.out.
func (o *Opener) next(p []byte) (int, error) {
	if o.cfg.Header.ContentType == format.NonFramed {
		return 0, o.nonFramed()
	}
	fh := o.fh[:format.RegularFrameHeaderLength]
	if err := o.readHeader(fh); err != nil {
		return 0, err
	}
	seq := binary.BigEndian.Uint32(fh)
	if seq != format.FinalFrameMarker {
		if seq != o.seq {
			return 0, fmt.Errorf("%w: frame %d where frame %d was due", ErrAuthentication, seq, o.seq)
		}
		if o.seq >= maxSeq {
			return 0, fmt.Errorf("%w: no final frame after frame %d", format.ErrMalformed, seq)
		}
		aad := format.AppendBodyAAD(o.aad[:0], o.mid, format.RegularFrame, seq, uint64(o.fl))
		n := o.fl + format.TagLength
		// ct is where the frame's ciphertext is read from, dst where its
		// plaintext goes: the caller's buffer whenever the frame fits.
		var ct, dst []byte
		intoP := true
		nx, lends := o.src.(nexter)
		switch {
		case lends && len(p) >= o.fl:
			// The source lends its bytes: open them straight into p.
			if ct = nx.Next(n); len(ct) < n {
				return 0, truncated(io.ErrUnexpectedEOF)
			}
			o.hash(ct)
			dst = p
		case len(p) >= n:
			// p is scratch space for the whole frame: read and open in place.
			ct, dst = p[:n], p
			if _, err := io.ReadFull(o.src, ct); err != nil {
				clear(ct)
				return 0, truncated(err)
			}
			o.hash(ct)
		default:
			var err error
			if ct, err = o.readN(n); err != nil {
				return 0, err
			}
			dst, intoP = ct, false
		}
		pt, err := o.cfg.AEAD.Open(dst[:0], fh[4:], ct, aad)
		if err != nil {
			clear(dst[:min(len(dst), n)])
			return 0, o.authFailed()
		}
		o.seq++
		if intoP {
			return len(pt), nil
		}
		o.out = pt
		return 0, nil
	}
	rest := o.fh[format.RegularFrameHeaderLength:]
	if err := o.readHeader(rest); err != nil {
		return 0, err
	}
	fh = o.fh[:]
	seq = binary.BigEndian.Uint32(fh[4:])
	iv := fh[8 : 8+format.IVLength]
	length := binary.BigEndian.Uint32(fh[8+format.IVLength:])
	if seq != o.seq {
		return 0, fmt.Errorf("%w: final frame %d where frame %d was due", ErrAuthentication, seq, o.seq)
	}
	if int64(length) > int64(o.fl) {
		return 0, fmt.Errorf("%w: final frame of %d bytes exceeds the frame length %d", format.ErrMalformed, length, o.fl)
	}
	ct, err := o.readN(int(length) + format.TagLength)
	if err != nil {
		return 0, err
	}
	aad := format.AppendBodyAAD(o.aad[:0], o.mid, format.FinalFrame, seq, uint64(length))
	pt, err := o.cfg.AEAD.Open(ct[:0], iv, ct, aad)
	if err != nil {
		return 0, o.authFailed()
	}
	return 0, o.finish(pt)
}

func (o *Opener) authFailed() error {
	return fmt.Errorf("%w: frame %d does not verify", ErrAuthentication, o.seq)
}

func (o *Opener) nonFramed() error {
	var fh [format.NonFramedHeaderLength]byte
	if err := o.readHeader(fh[:]); err != nil {
		return err
	}
	iv := fh[:format.IVLength]
	length := binary.BigEndian.Uint64(fh[format.IVLength:])
	if length > format.MaxNonFramedLength {
		return fmt.Errorf("%w: non-framed body of %d bytes exceeds %d", format.ErrMalformed, length, int64(format.MaxNonFramedLength))
	}
	if max := o.cfg.MaxNonFramedLength; max > 0 && int64(length) > max {
		return &format.LimitError{Limit: format.LimitNonFramedBodySize, Max: max, Got: int64(length)}
	}
	ct, err := o.readN(int(length) + format.TagLength)
	if err != nil {
		return err
	}
	aad := format.AppendBodyAAD(o.aad[:0], o.mid, format.SingleBlock, 1, length)
	pt, err := o.cfg.AEAD.Open(ct[:0], iv, ct, aad)
	if err != nil {
		return fmt.Errorf("%w: body does not verify", ErrAuthentication)
	}
	return o.finish(pt)
}

// finish verifies the footer of a signed message, checks that nothing
// follows the message, and only then releases the last plaintext.
func (o *Opener) finish(pt []byte) error {
	if o.cfg.Signature != nil {
		var l [2]byte
		if _, err := io.ReadFull(o.src, l[:]); err != nil {
			return truncated(err)
		}
		sig := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(o.src, sig); err != nil {
			return truncated(err)
		}
		if err := Verify(o.cfg.VerificationKey, o.cfg.Signature, sig); err != nil {
			return err
		}
	}
	switch n, err := io.ReadFull(o.src, o.tail[:]); {
	case n > 0:
		return fmt.Errorf("%w: bytes follow the end of the message", format.ErrMalformed)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return fmt.Errorf("esdk: reading message: %w", err)
	}
	o.out = pt
	o.err = io.EOF
	return nil
}
