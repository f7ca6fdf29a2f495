package engine

import (
	"crypto/cipher"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"

	"github.com/go-esdk/esdk/format"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("esdk: write after close")

// maxSeq is the last sequence number a frame may carry; the next value is
// the final-frame marker.
const maxSeq = format.FinalFrameMarker - 1

// SealConfig describes the body of one message being written.
type SealConfig struct {
	AEAD        cipher.AEAD
	MessageID   []byte
	FrameLength int // 0: non-framed body
	// Signature is the running hash of a signed suite (nil when unsigned);
	// SigningKey signs it.
	Signature  hash.Hash
	SigningKey *ecdsa.PrivateKey
}

// Sealer writes a message body frame by frame. It holds at most one frame
// of plaintext (a non-framed body is held whole until Close).
type Sealer struct {
	dst io.Writer
	cfg SealConfig
	// buf is [final-frame header | plaintext frame | tag]; regular frames
	// use only the tail of the header room, so every frame is sealed in
	// place and written with one call.
	buf    []byte
	n      int // plaintext bytes held in buf
	seq    uint32
	err    error
	closed bool
	iv     [format.IVLength]byte
	aad    [format.MaxBodyAADLength]byte
}

const (
	ptOff  = format.FinalFrameHeaderLength // plaintext offset in buf
	regOff = ptOff - format.RegularFrameHeaderLength
)

// NewSealer writes header (the complete serialized header) to dst and
// returns a writer for the body.
func NewSealer(dst io.Writer, cfg SealConfig, header []byte) (*Sealer, error) {
	s := &Sealer{dst: dst, cfg: cfg, seq: 1}
	if cfg.FrameLength > 0 {
		s.buf = make([]byte, ptOff+cfg.FrameLength+format.TagLength)
	} else {
		s.buf = make([]byte, format.NonFramedHeaderLength, 4096)
	}
	if err := s.emit(header); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sealer) emit(b []byte) error {
	if s.cfg.Signature != nil {
		s.cfg.Signature.Write(b)
	}
	if _, err := s.dst.Write(b); err != nil {
		s.err = fmt.Errorf("esdk: writing message: %w", err)
		return s.err
	}
	return nil
}

// Write encrypts p. A full frame is held back until more plaintext
// arrives, so that a plaintext of an exact number of frames ends with a
// full final frame.
func (s *Sealer) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.closed {
		return 0, ErrClosed
	}
	fl := s.cfg.FrameLength
	if fl == 0 {
		if int64(len(s.buf)-format.NonFramedHeaderLength)+int64(len(p)) > format.MaxNonFramedLength {
			s.err = fmt.Errorf("%w: a non-framed body holds at most %d bytes", format.ErrLimitExceeded, int64(format.MaxNonFramedLength))
			return 0, s.err
		}
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	total := len(p)
	for len(p) > 0 {
		if s.n == fl {
			if err := s.sealRegular(s.buf[ptOff : ptOff+fl]); err != nil {
				return total - len(p), err
			}
			s.n = 0
		}
		if s.n == 0 && len(p) > fl {
			if err := s.sealRegular(p[:fl]); err != nil {
				return total - len(p), err
			}
			p = p[fl:]
			continue
		}
		c := copy(s.buf[ptOff+s.n:ptOff+fl], p)
		s.n += c
		p = p[c:]
	}
	return total, nil
}

func (s *Sealer) nextIV() []byte {
	s.iv = format.FrameIV(s.seq)
	return s.iv[:]
}

// sealRegular seals pt (buffered or the caller's) as the next regular frame.
func (s *Sealer) sealRegular(pt []byte) error {
	if s.seq >= maxSeq {
		s.err = fmt.Errorf("%w: message needs more than %d frames; use a larger frame length", format.ErrLimitExceeded, maxSeq)
		return s.err
	}
	iv := s.nextIV()
	format.AppendRegularFrameHeader(s.buf[regOff:regOff], s.seq, iv)
	aad := format.AppendBodyAAD(s.aad[:0], s.cfg.MessageID, format.RegularFrame, s.seq, uint64(len(pt)))
	out := s.cfg.AEAD.Seal(s.buf[ptOff:ptOff], iv, pt, aad)
	s.seq++
	return s.emit(s.buf[regOff : ptOff+len(out)])
}

// Close seals the final frame (or the non-framed body), writes the footer
// of a signed suite, and leaves dst open.
func (s *Sealer) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	if s.cfg.FrameLength == 0 {
		s.buf = slices.Grow(s.buf, format.TagLength) // seal in place, tag included
		pt := s.buf[format.NonFramedHeaderLength:]
		iv := s.nextIV()
		format.AppendNonFramedHeader(s.buf[:0], iv, uint64(len(pt)))
		aad := format.AppendBodyAAD(s.aad[:0], s.cfg.MessageID, format.SingleBlock, s.seq, uint64(len(pt)))
		out := s.cfg.AEAD.Seal(pt[:0], iv, pt, aad)
		if err := s.emit(s.buf[:format.NonFramedHeaderLength+len(out)]); err != nil {
			return err
		}
	} else {
		iv := s.nextIV()
		format.AppendFinalFrameHeader(s.buf[:0], s.seq, iv, uint32(s.n))
		pt := s.buf[ptOff : ptOff+s.n]
		aad := format.AppendBodyAAD(s.aad[:0], s.cfg.MessageID, format.FinalFrame, s.seq, uint64(s.n))
		out := s.cfg.AEAD.Seal(pt[:0], iv, pt, aad)
		if err := s.emit(s.buf[:ptOff+len(out)]); err != nil {
			return err
		}
	}
	if s.cfg.Signature != nil {
		sig, err := Sign(s.cfg.SigningKey, s.cfg.Signature)
		if err != nil {
			s.err = fmt.Errorf("esdk: signing message: %w", err)
			return s.err
		}
		s.cfg.Signature = nil // the footer is not signed
		if err := s.emit(format.AppendFooter(nil, sig)); err != nil {
			return err
		}
	}
	clear(s.buf)
	return nil
}
