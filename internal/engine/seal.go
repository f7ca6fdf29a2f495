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

// Appender is a destination with room after its contents that a sealer
// may seal body parts straight into, instead of into its own buffer and
// then copying them: EncryptBytes' buffer of the message's length. Room
// returns n bytes of that room, or nil when there are fewer; Commit
// appends the first n bytes of the room last returned to the contents.
type Appender interface {
	Room(n int) []byte
	Commit(n int)
}

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
	app    Appender // dst, when it has room to seal into
	header *format.Header
	fc     FrameCipher
	fl     int       // frame length; 0 for a non-framed body
	sig    hash.Hash // nil when unsigned
	key    *ecdsa.PrivateKey
	// buf is [final-frame header | plaintext frame | tag]; regular frames
	// use only the tail of the header room, so every frame is sealed in
	// place and written with one call.
	buf   []byte  // a framed body's buf is taken at its first use
	box   *[]byte // buf's pool box, for a framed body
	n     int     // plaintext bytes held in buf
	seq   uint32
	state sealState
	err   error    // why, in state failed
	id    [32]byte // the message id's bytes, when the sealer makes it

	// Parallel frames (see team.go): conc goroutines at most, on the
	// team taken at the first parallel call.
	conc int
	team *team
	call sealCall
}

// sealCall is what the jobs of a parallel call seal: pt, from sequence
// number first on, into dst's room (out) or the team's ring.
type sealCall struct {
	out   []byte // dst's room for the call's frames, if any
	ring  []byte
	pt    []byte
	first uint32
}

// sealState is where a Sealer is in its life:
//
//	writing --Write--> writing --Close--> closed
//	writing --WriteFinal, plaintext held--> ended --Close--> closed
//	writing --WriteFinal, nothing held--> sealed --Close--> closed
//	any state but closed --an error--> failed
//
// In ended the final frame's plaintext is held for Close to seal; in
// sealed only the footer is left. Writes fail in every state but writing,
// with ErrClosed or, in failed, the error; Close returns nil again once
// closed, and the error once failed.
type sealState uint8

const (
	writing sealState = iota
	ended
	sealed
	closed
	failed
)

// writable returns nil when the sealer takes plaintext, and otherwise
// the error a write gets.
func (s *Sealer) writable() error {
	switch s.state {
	case writing:
		return nil
	case failed:
		return s.err
	}
	return ErrClosed
}

// ptOff is the plaintext's offset in buf.
const ptOff = finalHeaderLength

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
		if n := s.MessageIDLength(); n <= len(sl.id) {
			h.MessageID = sl.id[:n]
		} else {
			h.MessageID = make([]byte, n)
		}
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
	if sl.fl == 0 {
		sl.buf = make([]byte, nonFramedHeaderLength, 4096)
	}
	sl.app, _ = dst.(Appender)
	if err := sl.emit(raw); err != nil {
		return nil, err
	}
	return sl, nil
}

// Header returns the header written; it must not be modified.
func (s *Sealer) Header() *format.Header { return s.header }

// Err returns the sealer's sticky error, if any.
func (s *Sealer) Err() error { return s.err }

// fail makes err sticky and wipes the plaintext held.
func (s *Sealer) fail(err error) error {
	s.state, s.err = failed, err
	s.release()
	return err
}

// release wipes the buffer and, for a framed body, hands it back for
// reuse; the sealer holds no plaintext after it. The team goes back too,
// unless a parallel call is using it (which then gives it back itself).
func (s *Sealer) release() {
	clear(s.buf[:cap(s.buf)]) // nothing when no buffer was taken
	if s.box != nil {
		putFrameBuffer(s.box)
		s.box = nil
	}
	s.buf = nil
	if s.team != nil && !s.team.busy {
		putTeam(s.team)
		s.team = nil
	}
}

// emit hashes b, for a signed suite, and writes it to dst: the one place
// the sealer writes. A destination that takes fewer bytes than it is
// given and reports no error breaks the io.Writer contract; the rest of
// the message would be lost, so that is io.ErrShortWrite, as io.Copy and
// bufio.Writer have it.
func (s *Sealer) emit(b []byte) error {
	if s.sig != nil {
		s.sig.Write(b)
	}
	n, err := s.dst.Write(b)
	switch {
	case err != nil:
	case n < 0 || n > len(b):
		err = fmt.Errorf("the destination's Write took %d of %d bytes", n, len(b))
	case n < len(b):
		err = io.ErrShortWrite
	}
	if err != nil {
		return s.fail(fmt.Errorf("esdk: writing message: %w", err))
	}
	return nil
}

// frameBuffer returns the buffer of a framed body, taking it from the
// pool at its first use.
func (s *Sealer) frameBuffer() []byte {
	if s.buf == nil {
		s.box = getFrameBuffer(ptOff + s.fl + format.TagLength)
		s.buf = *s.box
	}
	return s.buf
}

// room returns where to seal a body part of n bytes whose header is hdr
// bytes long: the destination's own room (direct true), or else the
// frame buffer from ptOff-hdr, so that a frame held at ptOff is sealed in
// place.
func (s *Sealer) room(n, hdr int) (part []byte, direct bool) {
	if s.app != nil {
		if r := s.app.Room(n); r != nil {
			return r[:n], true
		}
	}
	return s.frameBuffer()[ptOff-hdr:][:n], false
}

// emitPart writes a body part that room gave.
func (s *Sealer) emitPart(part []byte, direct bool) error {
	if !direct {
		return s.emit(part)
	}
	if s.sig != nil {
		s.sig.Write(part)
	}
	s.app.Commit(len(part))
	return nil
}

// Write encrypts p. A full frame is held back until more plaintext
// arrives, so that a plaintext of an exact number of frames ends with a
// full final frame.
func (s *Sealer) Write(p []byte) (int, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	if s.fl == 0 {
		if int64(len(s.buf)-nonFramedHeaderLength)+int64(len(p)) > min(MaxNonFramedLength, math.MaxInt-nonFramedHeaderLength-format.TagLength) {
			return 0, s.fail(fmt.Errorf("%w: a non-framed body holds at most %d bytes", format.ErrLimitExceeded, int64(MaxNonFramedLength)))
		}
		s.buf = append(s.buf, p...)
		return len(p), nil
	}
	total := len(p)
	for len(p) > 0 {
		rest, err := s.sealFrames(p)
		if err != nil {
			return total - len(p), err
		}
		p = rest
		c := copy(s.frameBuffer()[ptOff+s.n:ptOff+s.fl], p)
		s.n += c
		p = p[c:]
	}
	return total, nil
}

// WriteFinal encrypts p as the end of the plaintext: it seals every
// frame, the final one included, straight from p when no plaintext is
// held, so that Close has only the footer left to write. Writes after it
// fail.
func (s *Sealer) WriteFinal(p []byte) error {
	if err := s.writable(); err != nil {
		return err
	}
	if s.fl == 0 || s.n > 0 {
		// The rest is held, as Write holds it, for Close to seal.
		if _, err := s.Write(p); err != nil {
			return err
		}
		s.state = ended
		return nil
	}
	p, err := s.sealFrames(p)
	if err != nil {
		return err
	}
	if err := s.sealFinal(p); err != nil {
		return err
	}
	s.state = sealed
	return nil
}

// sealFrames seals what p holds of the plaintext before its last part:
// the frame held, once p continues it past a whole frame, then every
// whole frame of p but the last, straight from p. It returns the rest of
// p, at most a frame, for the caller to hold or seal as the final frame.
func (s *Sealer) sealFrames(p []byte) ([]byte, error) {
	fl := s.fl
	if s.n == fl && len(p) > 0 {
		if err := s.sealRegular(s.buf[ptOff : ptOff+fl]); err != nil {
			return p, err
		}
		s.n = 0
	}
	if s.n > 0 || len(p) <= fl {
		return p, nil
	}
	// Every whole frame but the last is regular.
	frames := (len(p) - 1) / fl
	if goesParallel(s.conc, frames, len(p)) && uint64(s.seq)+uint64(frames) < FinalFrameMarker {
		if err := s.sealParallel(p[:frames*fl], frames); err != nil {
			return p, err
		}
		return p[frames*fl:], nil
	}
	for ; frames > 0; frames-- {
		if err := s.sealRegular(p[:fl]); err != nil {
			return p, err
		}
		p = p[fl:]
	}
	return p, nil
}

// sealRegular seals pt (held or the caller's) as the next regular frame.
// The sequence number 2^32-1 is left for the final frame.
func (s *Sealer) sealRegular(pt []byte) error {
	if s.seq == FinalFrameMarker {
		return s.fail(&format.LimitError{Limit: format.LimitFrameCount, Max: MaxFrames, Got: MaxFrames + 1})
	}
	part, direct := s.room(regularHeaderLength+len(pt)+format.TagLength, regularHeaderLength)
	appendRegularHeader(part[:0], s.seq)
	s.fc.Seal(part[regularHeaderLength:regularHeaderLength], RegularFrame, s.seq, pt)
	s.seq++
	return s.emitPart(part, direct)
}

// sealFinal seals pt (held or the caller's) as the final frame.
func (s *Sealer) sealFinal(pt []byte) error {
	part, direct := s.room(finalHeaderLength+len(pt)+format.TagLength, finalHeaderLength)
	appendFinalHeader(part[:0], s.seq, uint32(len(pt)))
	s.fc.Seal(part[finalHeaderLength:finalHeaderLength], FinalFrame, s.seq, pt)
	return s.emitPart(part, direct)
}

// Close seals the final frame (or the non-framed body), writes the footer
// of a signed suite, wipes the plaintext held, and leaves dst open.
func (s *Sealer) Close() error {
	switch s.state {
	case closed:
		return nil
	case failed:
		return s.err
	}
	switch {
	case s.fl == 0:
		s.buf = slices.Grow(s.buf, format.TagLength) // seal in place, tag included
		pt := s.buf[nonFramedHeaderLength:]
		appendNonFramedHeader(s.buf[:0], uint64(len(pt)))
		out := s.fc.Seal(pt[:0], NonFramedBody, nonFramedSeq, pt)
		if err := s.emit(s.buf[:nonFramedHeaderLength+len(out)]); err != nil {
			return err
		}
	case s.state != sealed:
		if err := s.sealFinal(s.frameBuffer()[ptOff : ptOff+s.n]); err != nil {
			return err
		}
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
	s.state = closed
	return nil
}

// sealParallel seals pt, frames whole frames, as the next regular frames
// on a team and writes them in order. The caller's goroutine writes (and
// hashes, for signed suites) each run of sealed frames as soon as it is
// done, and seals frames itself when there is nothing to write.
func (s *Sealer) sealParallel(pt []byte, frames int) error {
	stride := regularHeaderLength + s.fl + format.TagLength
	if s.team == nil {
		s.team = getTeam(s.conc, ringSlots(s.conc, s.fl), s.fl, &s.fc, s.sealJob)
	}
	t := s.team
	// Frames are sealed into the destination's room when it has room
	// for all of them, or else into the ring and written from there.
	c := &s.call
	*c = sealCall{pt: pt, first: s.seq}
	if s.app != nil {
		c.out = s.app.Room(frames * stride)
	}
	if c.out == nil {
		c.ring = t.ringOf(t.ring * stride)
	}
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
			if c.out != nil {
				s.emitPart(c.out[emitted*stride:k*stride], true)
			} else if err = s.emit(c.ring[emitted%t.ring*stride : ((k-1)%t.ring+1)*stride]); err != nil {
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
	*c = sealCall{}
	if err != nil {
		s.release() // the team, which emit's failure could not give back
		return err
	}
	s.seq += uint32(frames)
	return nil
}

// sealJob seals job i of a parallel call into its slot, header included.
func (s *Sealer) sealJob(fc *FrameCipher, i int) error {
	c := &s.call
	stride := regularHeaderLength + s.fl + format.TagLength
	var slot []byte
	if c.out != nil {
		slot = c.out[i*stride:][:stride]
	} else {
		slot = c.ring[i%s.team.ring*stride:][:stride]
	}
	seq := c.first + uint32(i)
	appendRegularHeader(slot[:0], seq)
	fc.Seal(slot[regularHeaderLength:regularHeaderLength], RegularFrame, seq, c.pt[i*s.fl:(i+1)*s.fl])
	return nil
}
