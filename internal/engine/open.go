package engine

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strings"
	"unsafe"

	"github.com/go-esdk/esdk/format"
)

// OpenParams is everything the key schedule of a message being read
// needs.
type OpenParams struct {
	// Header is the parsed header and RawHeader its bytes as read,
	// authentication fields included.
	Header    *format.Header
	RawHeader []byte
	// DataKey is the plaintext data key. NewOpener does not keep it.
	DataKey []byte
	// RequiredContext holds the encryption-context entries that the
	// header authenticates without storing them.
	RequiredContext map[string]string
	// VerificationKey checks a signed suite's footer; nil for unsigned
	// suites.
	VerificationKey *ecdsa.PublicKey
	// MaxNonFramedBodySize bounds the non-framed body the opener buffers
	// before authenticating it (0: only the format's own limit).
	MaxNonFramedBodySize int64
	// Concurrency is the most goroutines a Read call opens frames on;
	// 0 and 1 open them on the caller's goroutine only.
	Concurrency int
}

// Opener reads and authenticates a message body. It releases a frame's
// plaintext only after the frame's tag verifies, and for signed suites
// the final frame only after the signature verifies.
type Opener struct {
	r   FrameReader
	fc  FrameCipher
	sig hash.Hash // nil when unsigned
	key *ecdsa.PublicKey
	out []byte // authenticated plaintext not yet returned
	err error  // sticky; io.EOF once the message is done

	// Parallel frames (see team.go): conc goroutines at most, on the
	// team taken at the first parallel call; its ring of frames read and
	// not yet retired (and their ciphertexts when the source does not
	// lend stable bytes), and the current call's buffer.
	conc int
	team *team
	jobs []job
	cts  []byte
	dst  []byte
}

// NewOpener derives the message's keys, checks the key commitment and
// the header tag, and returns a reader of the plaintext of the body that
// follows in src. A src that does not lend its bytes (as *bytes.Buffer
// does) is read in large chunks.
func NewOpener(src io.Reader, p OpenParams) (*Opener, error) {
	h := p.Header
	if h == nil || h.Suite == nil || len(p.RawHeader) < h.AuthLength() {
		return nil, errors.New("esdk: opening a message needs its header and the header's bytes")
	}
	s := h.Suite
	var curve elliptic.Curve
	if p.VerificationKey != nil {
		curve = p.VerificationKey.Curve
	}
	if err := checkCurve(s, "verification", curve); err != nil {
		return nil, err
	}
	if h.ContentType == format.Framed && int64(h.FrameLength) > MaxFrameLength {
		// Only on 32-bit platforms, where a slice holds less.
		return nil, &format.LimitError{Limit: format.LimitFrameLength, Max: MaxFrameLength, Got: int64(h.FrameLength)}
	}
	aead, commitment, err := messageKeys(s, p.DataKey, h.MessageID)
	if err != nil {
		return nil, err
	}
	if s.Committing() {
		if err := checkCommitment(commitment, h.SuiteData); err != nil {
			return nil, err
		}
	}
	body := p.RawHeader[:len(p.RawHeader)-h.AuthLength()]
	aad, err := headerAuthAAD(body, p.RequiredContext)
	if err != nil {
		return nil, err
	}
	iv := headerIV[:]
	if s.MessageVersion() == 1 {
		iv = h.AuthIV
	}
	if _, err := aead.Open(nil, iv, h.AuthTag, aad); err != nil {
		return nil, headerAuthFailed(p.RequiredContext)
	}
	o := &Opener{fc: FrameCipher{aead: aead, messageID: h.MessageID}, sig: signatureHash(s), key: p.VerificationKey, conc: p.Concurrency}
	if o.sig != nil {
		o.sig.Write(p.RawHeader)
	}
	o.r.init(buffered(src), h, o.sig, p.MaxNonFramedBodySize)
	return o, nil
}

// headerAuthFailed names the required entries given on decryption: an
// entry the message was not encrypted with fails the header tag, and is
// the likeliest cause when one is there.
func headerAuthFailed(required map[string]string) error {
	if len(required) == 0 {
		return fmt.Errorf("%w: header tag does not verify", ErrAuthentication)
	}
	keys := slices.Sorted(maps.Keys(required))
	for i, k := range keys {
		keys[i] = fmt.Sprintf("%q", k)
	}
	return fmt.Errorf("%w: header tag does not verify with the encryption context given on decryption: "+
		"the message does not store %s, so it must have been encrypted with exactly these as required keys; "+
		"leave out any the message was not encrypted with", ErrAuthentication, strings.Join(keys, ", "))
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
		if o.parallel(len(p)) {
			n := o.readParallel(p)
			if n > 0 {
				return n, nil
			}
			if o.err != nil || len(o.out) > 0 {
				continue
			}
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
	if len(o.out) == 0 && o.err == io.EOF {
		o.r.Wipe() // the last plaintext is the caller's now
	}
	return n, nil
}

// Verify reads and authenticates the rest of the message, discarding its
// plaintext, and returns the message's verdict: nil when the whole
// message, signature included, verified and nothing follows it.
func (o *Opener) Verify() error {
	for o.err == nil {
		o.out = nil
		if _, err := o.next(nil); err != nil {
			o.fail(err)
		}
	}
	o.out = nil
	o.r.Wipe()
	if o.err == io.EOF {
		return nil
	}
	return o.err
}

func (o *Opener) fail(err error) {
	o.err = err
	o.out = nil
	o.r.Wipe()
	o.r.release()
	o.dropTeam()
}

// next reads and opens one body part. A regular frame is opened into p
// when its plaintext fits; anything else lands in o.out.
func (o *Opener) next(p []byte) (int, error) {
	f, err := o.r.Next(p)
	if err != nil {
		return 0, err
	}
	pl := len(f.Ciphertext) - format.TagLength
	if f.Kind == RegularFrame && len(p) >= pl {
		pt, err := o.fc.Open(p[:0], f)
		if err != nil {
			clear(p[:min(len(p), len(f.Ciphertext))])
			return 0, err
		}
		return len(pt), nil
	}
	// The reader's own buffer: open in place.
	pt, err := o.fc.Open(f.Ciphertext[:0], f)
	if err != nil {
		return 0, err
	}
	if f.Kind == RegularFrame {
		o.out = pt
		return 0, nil
	}
	return 0, o.finish(pt)
}

// parallel reports whether a Read into a buffer of n bytes opens frames
// on a team.
func (o *Opener) parallel(n int) bool {
	fl := o.r.frameLength
	return o.conc > 1 && !o.r.nonFramed && fl > 0 && goesParallel(o.conc, n/fl, n)
}

// readParallel opens the frames that fit in p on a team, each straight
// into its place in p, and returns how many bytes of p it released: the
// frames up to the first that fails, and the final frame once the message
// has verified. The caller's goroutine reads the frames (hashing them, for
// signed suites) and retires opened frames in order; helpers open them.
// When a frame fails, p is cleared from that frame on and the error is
// sticky.
func (o *Opener) readParallel(p []byte) int {
	t := o.parallelTeam()
	c := openCall{room: len(p) / o.r.frameLength}
	o.dst = p
	t.begin()
	for o.step(&c) {
	}
	t.end()
	o.dst = nil
	return o.settle(p, &c)
}

// openCall is where a parallel Read call stands. Jobs below retired are
// opened and released in order; those from retired to gathered are read
// and handed to the team.
type openCall struct {
	room              int // whole frames that fit in the caller's buffer
	gathered, retired int
	final             Frame // the final frame, once read; it ends the call
	haveFinal         bool
	readErr, openErr  error // either ends the call
}

// parallelTeam returns the opener's team, made at its first parallel
// call with the ring of frames it reads.
func (o *Opener) parallelTeam() *team {
	if o.team == nil {
		fl := o.r.frameLength
		t := getTeam(o.conc, ringSlots(o.conc, fl), fl, &o.fc, o.openJob)
		o.team, o.jobs = t, t.jobRing()
		if !o.r.stable {
			o.cts = t.ringOf(t.ring * (fl + format.TagLength))
		}
	}
	return o.team
}

// dropTeam gives the team back once the message is over.
func (o *Opener) dropTeam() {
	if o.team != nil {
		putTeam(o.team)
		o.team, o.jobs, o.cts = nil, nil, nil
	}
}

// step does the next thing the caller's goroutine can do for the call:
// retire the frames opened, read the next frame while the buffer and the
// ring have room for it, let helpers claim what it has read, or open a
// frame itself (or wait for the one to retire next). It reports false
// once the call is over: everything read is retired, or a frame failed.
func (o *Opener) step(c *openCall) bool {
	t := o.team
	if o.retire(c); c.openErr != nil {
		return false
	}
	switch {
	case c.readErr == nil && !c.haveFinal && c.gathered < c.room && c.gathered < c.retired+t.ring:
		o.gather(c)
	case int(t.avail.Load()) < c.gathered:
		o.publish(c.gathered)
	case c.retired == c.gathered:
		return false
	case !t.tryOne(t.ciphers[0]):
		t.waitDone(c.retired)
	}
	return true
}

// retire moves retired past the jobs that are done, in order, and stops
// at the first that failed.
func (o *Opener) retire(c *openCall) {
	for c.retired < c.gathered {
		ok, err := o.team.isDone(c.retired)
		if !ok {
			return
		}
		if err != nil {
			c.openErr = err
			return
		}
		c.retired++
	}
}

// gather reads the next frame: a regular frame becomes the next job, and
// every publishEvery of them are handed to the team.
func (o *Opener) gather(c *openCall) {
	f, err := o.r.next(o.ctSlot(c.gathered), true)
	switch {
	case err != nil:
		c.readErr = err
	case f.Kind == FinalFrame:
		c.final, c.haveFinal = f, true
	default:
		t := o.team
		j := &o.jobs[c.gathered%t.ring]
		copy(j.iv[:], f.IV)
		f.IV = j.iv[:]
		j.Frame = f
		c.gathered++
		if c.gathered-int(t.avail.Load()) >= publishEvery {
			o.publish(c.gathered)
		}
	}
}

// settle ends a call whose team has stopped: it makes an error sticky
// (clearing what p holds of the frames not released), or opens the final
// frame and releases it once the message has verified. It returns the
// bytes of p released.
func (o *Opener) settle(p []byte, c *openCall) int {
	fl := o.r.frameLength
	n := c.retired * fl
	switch {
	case c.openErr != nil:
		clear(p[n : c.gathered*fl])
		o.fail(c.openErr)
	case c.readErr != nil:
		o.fail(c.readErr)
	case c.haveFinal:
		pt, err := o.fc.Open(c.final.Ciphertext[:0], c.final)
		if err == nil {
			err = o.finish(pt)
		}
		if err != nil {
			o.fail(err)
			break
		}
		k := copy(p[n:], o.out)
		o.out = o.out[k:]
		n += k
		if len(o.out) == 0 {
			o.r.Wipe()
		}
	}
	return n
}

// publishEvery is how many frames the caller's goroutine reads before it
// lets helpers claim them, while it can read more.
const publishEvery = 8

// job is a frame of a parallel call, with its IV, on cache lines of its
// own.
type job struct {
	Frame
	iv [format.IVLength]byte
	_  [cacheLine - (unsafe.Sizeof(Frame{})+format.IVLength)%cacheLine]byte
}

// publish lets the frames read so far be claimed, and starts the team's
// helpers once there are enough of them.
func (o *Opener) publish(gathered int) {
	t := o.team
	t.setAvail(gathered)
	if gathered >= minParallelFrames {
		t.start()
	}
}

// ctSlot is where job i's ciphertext is read when the source does not
// lend stable bytes; nil when it does.
func (o *Opener) ctSlot(i int) []byte {
	if o.cts == nil {
		return nil
	}
	n := o.r.frameLength + format.TagLength
	s := i % o.team.ring
	return o.cts[s*n : (s+1)*n]
}

// openJob opens job i of a parallel call into its place in the call's
// buffer.
func (o *Opener) openJob(c *FrameCipher, i int) error {
	fl := o.r.frameLength
	_, err := c.Open(o.dst[i*fl:i*fl], o.jobs[i%o.team.ring].Frame)
	return err
}

// finish verifies the footer of a signed message, checks that nothing
// follows the message, and only then releases the last plaintext.
func (o *Opener) finish(pt []byte) error {
	if o.sig != nil {
		sig, err := o.r.ReadFooter()
		if err != nil {
			return err
		}
		if err := verify(o.key, o.sig, sig); err != nil {
			return err
		}
	}
	if err := o.r.CheckEnd(); err != nil {
		return err
	}
	o.r.release()
	o.dropTeam()
	o.out = pt
	o.err = io.EOF
	return nil
}
