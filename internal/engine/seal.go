package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"slices"

	"github.com/go-esdk/esdk/format"
)

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("esdk: write after close")

// SealParams is everything the key schedule of a message being written
// needs.
type SealParams struct {
	// Header is the message's header: Suite, EncryptionContext (the
	// stored entries), EncryptedDataKeys, ContentType and FrameLength set.
	// NewSealer fills in MessageID when it is nil (with random bytes),
	// and SuiteData, AuthIV and AuthTag.
	Header *format.Header
	// DataKey is the plaintext data key. NewSealer does not keep it.
	DataKey []byte
	// RequiredContext holds the encryption-context entries that are
	// authenticated but not stored in the header.
	RequiredContext map[string]string
	// SigningKey signs a signed suite's message; nil for unsigned suites.
	SigningKey *ecdsa.PrivateKey
	// Concurrency is the most goroutines a Write call seals frames on;
	// 0 and 1 seal them on the caller's goroutine only.
	Concurrency int
}

// Sealer writes a message body frame by frame. It holds at most one frame
// of plaintext (a non-framed body is held whole until Close). Errors are
// sticky; on any error the plaintext it holds is wiped.
type Sealer struct {
	dst    io.Writer
	header *format.Header
	fc     FrameCipher
	fl     int       // frame length; 0 for a non-framed body
	sig    hash.Hash // nil when unsigned
	key    *ecdsa.PrivateKey
	// buf is [final-frame header | plaintext frame | tag]; regular frames
	// use only the tail of the header room, so every frame is sealed in
	// place and written with one call.
	buf    []byte
	box    *[]byte // buf's pool box, for a framed body
	n      int     // plaintext bytes held in buf
	seq    uint32
	err    error
	closed bool

	// Parallel frames (see team.go): conc goroutines at most; the team,
	// its ring of sealed frames and the call's plaintext, made at the
	// first parallel call.
	conc  int
	team  *team
	ring  []byte
	pt    []byte // the plaintext of the current call's frames
	first uint32 // the sequence number of the call's job 0
}

const (
	ptOff  = finalHeaderLength // plaintext offset in buf
	regOff = ptOff - regularHeaderLength
)

// NewSealer derives the message's keys, authenticates its header, writes
// the header to dst and returns a writer for the body.
func NewSealer(dst io.Writer, p SealParams) (*Sealer, error) {
	h := p.Header
	if h == nil || h.Suite == nil {
		return nil, errors.New("esdk: sealing a message needs a header with a suite")
	}
	s := h.Suite
	var curve elliptic.Curve
	if p.SigningKey != nil {
		curve = p.SigningKey.Curve
	}
	if err := checkCurve(s, "signing", curve); err != nil {
		return nil, err
	}
	sl := &Sealer{dst: dst, header: h, sig: signatureHash(s), key: p.SigningKey, seq: 1, conc: p.Concurrency}
	switch h.ContentType {
	case format.Framed:
		if h.FrameLength == 0 || int64(h.FrameLength) > MaxFrameLength {
			return nil, fmt.Errorf("esdk: frame length %d is not in 1..%d", h.FrameLength, MaxFrameLength)
		}
		sl.fl = int(h.FrameLength)
	case format.NonFramed:
		// Decryption only, by the specification; tests write them here.
	default:
		return nil, fmt.Errorf("esdk: unknown %s", h.ContentType)
	}
	if h.MessageID == nil {
		h.MessageID = make([]byte, s.MessageIDLength())
		if _, err := rand.Read(h.MessageID); err != nil {
			return nil, fmt.Errorf("esdk: generating a message id: %w", err)
		}
	}
	aead, commitment, err := messageKeys(s, p.DataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	h.SuiteData = commitment
	h.AuthIV = nil
	if s.MessageVersion() == 1 {
		h.AuthIV = headerIV[:]
	}
	// The header is written from one array: MarshalBody leaves room for
	// the IV and the tag, which is sealed straight after them.
	body, err := h.MarshalBody()
	if err != nil {
		return nil, err
	}
	aad, err := headerAuthAAD(body, p.RequiredContext)
	if err != nil {
		return nil, err
	}
	raw := aead.Seal(append(body, h.AuthIV...), headerIV[:], nil, aad)
	h.AuthTag = raw[len(raw)-format.TagLength:]
	sl.fc = FrameCipher{aead: aead, messageID: h.MessageID}
	if sl.fl > 0 {
		sl.box = getFrameBuffer(ptOff + sl.fl + format.TagLength)
		sl.buf = *sl.box
	} else {
		sl.buf = make([]byte, nonFramedHeaderLength, 4096)
	}
	if err := sl.emit(raw); err != nil {
		return nil, err
	}
	return sl, nil
}

// Header returns the header written; it must not be modified.
func (s *Sealer) Header() *format.Header { return s.header }

// fail makes err sticky and wipes the plaintext held.
func (s *Sealer) fail(err error) error {
	s.err = err
	s.release()
	return err
}

// release wipes the buffer and, for a framed body, hands it back for
// reuse; the sealer holds no plaintext after it.
func (s *Sealer) release() {
	clear(s.buf[:cap(s.buf)])
	if s.box != nil {
		putFrameBuffer(s.box)
		s.box = nil
	}
	s.buf = nil
}

func (s *Sealer) emit(b []byte) error {
	if s.sig != nil {
		s.sig.Write(b)
	}
	if _, err := s.dst.Write(b); err != nil {
		return s.fail(fmt.Errorf("esdk: writing message: %w", err))
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
	fl := s.fl
	if fl == 0 {
		if int64(len(s.buf)-nonFramedHeaderLength)+int64(len(p)) > min(MaxNonFramedLength, math.MaxInt-nonFramedHeaderLength-format.TagLength) {
			return 0, s.fail(fmt.Errorf("%w: a non-framed body holds at most %d bytes", format.ErrLimitExceeded, int64(MaxNonFramedLength)))
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
			// Every whole frame but the last is regular.
			if frames := (len(p) - 1) / fl; goesParallel(s.conc, frames, fl) && uint64(s.seq)+uint64(frames) < FinalFrameMarker {
				if err := s.sealParallel(p[:frames*fl], frames); err != nil {
					return total - len(p), err
				}
				p = p[frames*fl:]
				continue
			}
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

// sealRegular seals pt (buffered or the caller's) as the next regular
// frame. The sequence number 2^32-1 is left for the final frame.
func (s *Sealer) sealRegular(pt []byte) error {
	if s.seq == FinalFrameMarker {
		return s.fail(&format.LimitError{Limit: format.LimitFrameCount, Max: MaxFrames, Got: MaxFrames + 1})
	}
	appendRegularHeader(s.buf[regOff:regOff], s.seq)
	out := s.fc.Seal(s.buf[ptOff:ptOff], RegularFrame, s.seq, pt)
	s.seq++
	return s.emit(s.buf[regOff : ptOff+len(out)])
}

// Close seals the final frame (or the non-framed body), writes the footer
// of a signed suite, wipes the plaintext held, and leaves dst open.
func (s *Sealer) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	if s.err != nil {
		return s.err
	}
	var part []byte
	if s.fl == 0 {
		s.buf = slices.Grow(s.buf, format.TagLength) // seal in place, tag included
		pt := s.buf[nonFramedHeaderLength:]
		appendNonFramedHeader(s.buf[:0], uint64(len(pt)))
		out := s.fc.Seal(pt[:0], NonFramedBody, nonFramedSeq, pt)
		part = s.buf[:nonFramedHeaderLength+len(out)]
	} else {
		appendFinalHeader(s.buf[:0], s.seq, uint32(s.n))
		pt := s.buf[ptOff : ptOff+s.n]
		out := s.fc.Seal(pt[:0], FinalFrame, s.seq, pt)
		part = s.buf[:ptOff+len(out)]
	}
	if err := s.emit(part); err != nil {
		return err
	}
	if s.sig != nil {
		sig, err := sign(s.key, s.sig)
		if err != nil {
			return s.fail(fmt.Errorf("esdk: signing message: %w", err))
		}
		s.sig = nil // the footer is not signed
		if err := s.emit(appendFooter(nil, sig)); err != nil {
			return err
		}
	}
	s.release()
	return nil
}

// sealParallel seals pt, frames whole frames, as the next regular frames
// on a team and writes them in order. The caller's goroutine writes (and
// hashes, for signed suites) each run of sealed frames as soon as it is
// done, and seals frames itself when there is nothing to write.
func (s *Sealer) sealParallel(pt []byte, frames int) error {
	stride := regularHeaderLength + s.fl + format.TagLength
	if s.team == nil {
		ring := ringSlots(s.conc, s.fl)
		s.ring = make([]byte, ring*stride)
		s.team = newTeam(s.conc, ring, s.fl, &s.fc, s.sealJob)
	}
	t := s.team
	s.pt, s.first = pt, s.seq
	t.begin()
	t.setAvail(min(frames, t.ring))
	t.start()
	var err error
	for emitted := 0; emitted < frames; {
		// The run of sealed frames from emitted, up to the ring's end and
		// a quarter of the ring at most, so that slots come free steadily.
		k := emitted
		for k < frames && k-emitted < max(1, t.ring/4) {
			if ok, _ := t.isDone(k); !ok {
				break
			}
			if k++; k%t.ring == 0 {
				break
			}
		}
		if k > emitted {
			a, b := emitted%t.ring, (k-1)%t.ring+1
			if err = s.emit(s.ring[a*stride : b*stride]); err != nil {
				break
			}
			emitted = k
			t.setAvail(min(frames, emitted+t.ring))
			continue
		}
		if !t.tryOne(t.ciphers[0]) {
			t.waitDone(emitted)
		}
	}
	t.end()
	s.pt = nil
	if err != nil {
		clear(s.ring)
		return err
	}
	s.seq += uint32(frames)
	return nil
}

// sealJob seals job i of a parallel call into its ring slot, header
// included.
func (s *Sealer) sealJob(c *FrameCipher, i int) error {
	stride := regularHeaderLength + s.fl + format.TagLength
	slot := s.ring[i%s.team.ring*stride:][:stride]
	seq := s.first + uint32(i)
	appendRegularHeader(slot[:0], seq)
	c.Seal(slot[regularHeaderLength:regularHeaderLength], RegularFrame, seq, s.pt[i*s.fl:(i+1)*s.fl])
	return nil
}
