package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Parallel frames. A Write or Read call with many frames to seal or open
// runs them on a team: the caller's goroutine and up to n-1 helpers that
// the call starts and joins before it returns, so no goroutine outlives
// the call and an abandoned Encryptor or Decryptor leaves none behind.
//
// Waking and joining: start runs the helpers once the call has jobs for
// them. A helper with no job to claim yields a few times (helperSpins),
// then counts itself in sleepers and blocks on wake; setAvail sends wake
// a token per sleeper once a quarter of the ring is there to claim. The
// caller's goroutine, when the job it needs next is a helper's, yields,
// then sets callerWaits and blocks on callerWake, which every finished
// job pokes. end sets stop, wakes every sleeper and waits for all the
// helpers (wg), then drains both channels for the next call.
//
// Within a call, frames are jobs numbered from 0. The caller's goroutine
// decides which jobs may be claimed (avail), keeps the output in order and
// does the work that must be sequential (reading frames, the signature
// hash, writing); any goroutine claims the next job when it is free to.
// Job i uses slot i%ring of the caller's buffers, so a job is made
// available only once the job ring places before it has been consumed:
// memory stays at ring slots whatever the call's size.

// parallelMin is the least plaintext, in bytes, that a call must carry
// (a Write's p, a Read's buffer) for its frames to go parallel; smaller
// calls, and calls of fewer than three whole frames, take the sequential
// path. It is where frames on a team measured faster than on the caller's
// goroutine alone (BenchmarkParallelGain; the figures are in
// BENCHMARKS.md): below it a helper, which takes tens of microseconds to
// start on a virtual machine, joins too late to do much, and what it
// costs to start and join it is not won back. Tests lower it.
var parallelMin atomic.Int64

// minParallelFrames is the fewest frames a call runs on a team.
const minParallelFrames = 3

// A team's ring has ringPerWorker slots per goroutine and room for
// ringBytes of frames at least, but room for ringMaxBytes at most (two
// frames when they are larger): a message whose frames are large, or a
// client with many goroutines, gets fewer frames in flight rather than
// more memory. A ring of 1 MiB lets the caller's goroutine wake a sleeping
// helper once per 256 KiB of frames (see setAvail): with a ring of 256
// KiB, the wake-ups of a signed message, whose caller's goroutine is busy
// hashing, cost it several percent of its time.
const (
	ringBytes     = 1 << 20
	ringMaxBytes  = 64 << 20
	ringPerWorker = 4
)

func init() { parallelMin.Store(defaultParallelMin) }

const defaultParallelMin = 512 << 10

// goesParallel reports whether a call of size bytes with frames whole
// frames to seal or open runs on a team of n goroutines.
func goesParallel(n, frames, size int) bool {
	return n > 1 && frames >= minParallelFrames && int64(size) >= parallelMin.Load()
}

// ringSlots is the number of slots of a team of n for frames of fl bytes.
func ringSlots(n, fl int) int {
	r := max(ringPerWorker*n, (ringBytes+fl-1)/fl)
	if int64(r)*int64(fl) > ringMaxBytes {
		r = max(2, ringMaxBytes/fl)
	}
	return r
}

// team is the goroutines of one call and what they share, and the ring
// of the message's calls. A message takes one at its first parallel call
// (getTeam) and keeps it for its later calls, so that the steady state
// allocates nothing; the message gives it back when it ends (putTeam),
// and the next message takes it from the pool, so that a message of a
// few parallel calls allocates next to nothing either.
type team struct {
	ring int
	// grain is how many consecutive jobs a goroutine claims at once, so
	// that each works through memory in runs of grainBytes or more rather
	// than a frame here and there.
	grain int
	// work does job i on the goroutine that owns c.
	work func(c *FrameCipher, i int) error
	// ciphers holds one FrameCipher per goroutine; 0 is the caller's.
	ciphers []*FrameCipher
	helpers []func() // helper bodies, made once

	// The ring the caller's goroutine keeps its frames in, made at its
	// first use: bytes for sealed frames (a Sealer) or for ciphertexts
	// read from a source that does not lend stable bytes (an Opener), and
	// jobs for the frames an Opener has read. Neither ever holds
	// plaintext: frames are sealed from the caller's buffer and opened
	// into it.
	bytes []byte
	jobs  []job

	slots []slot // slots[i%ring] holds job i's state
	call  int64  // the number of the current call, in the slots' done
	stop  atomic.Bool
	// Helpers with nothing to do sleep on wake; sleepers counts them.
	sleepers atomic.Int32
	wake     chan struct{}
	// The caller's goroutine, waiting for a job, sleeps on callerWake.
	callerWaits atomic.Bool
	callerWake  chan struct{}
	started     int  // helpers started in this call
	busy        bool // between begin and end
	wg          sync.WaitGroup

	// The counters every goroutine touches for every job, each on its own
	// cache line.
	_     [cacheLine]byte
	next  atomic.Int64 // the next job to claim
	_     [cacheLine - 8]byte
	avail atomic.Int64 // jobs below avail may be claimed
	_     [cacheLine - 8]byte
}

// cacheLine is the size of a cache line, or more: state that different
// goroutines write is kept this far apart.
const cacheLine = 64

// slot is the state of the job in a ring slot, on its own cache line.
type slot struct {
	done atomic.Int64 // doneMark(call, i) once job i of the call is finished
	err  error        // job i's error, once done
	_    [cacheLine - 24]byte
}

// doneMark is what a slot's done holds once job i of call is finished:
// the call's number above the job's, so that a slot left from an earlier
// call (or message) never reads as done and begin need not clear them.
// Jobs of a call number below 2^32 (a message has fewer frames).
func doneMark(call int64, i int) int64 { return call<<32 | int64(i) + 1 }

// grainBytes is the least plaintext a goroutine claims at once; tests
// lower it, to mix the goroutines' frames as much as they can be.
var grainBytes atomic.Int64

func init() { grainBytes.Store(32 << 10) }

// teams holds the teams of messages that ended. A team whose ring is
// larger than maxPooledRing is left to the collector.
var teams sync.Pool

const maxPooledRing = 8 << 20

// getTeam returns a team of n goroutines with ring slots, for frames of
// fl bytes of the message whose body cipher fc is, doing work: one from
// the pool when it has one of n goroutines, or a new one.
func getTeam(n, ring, fl int, fc *FrameCipher, work func(c *FrameCipher, i int) error) *team {
	t, _ := teams.Get().(*team)
	if t == nil || len(t.ciphers) != n {
		t = newTeam(n)
	}
	if cap(t.slots) < ring {
		t.slots = make([]slot, ring)
	}
	t.slots = t.slots[:ring]
	t.ring = ring
	t.grain = max(1, min(int(grainBytes.Load())/fl, ring/(2*n)))
	t.work = work
	for _, c := range t.ciphers {
		c.aead, c.messageID = fc.aead, fc.messageID
	}
	return t
}

// putTeam gives t back for another message. It keeps nothing of this
// one: no key, no work, no reference to the caller's bytes.
func putTeam(t *team) {
	if t.busy {
		panic("esdk: a team is given back during its call")
	}
	for _, c := range t.ciphers {
		c.aead, c.messageID = nil, nil
	}
	t.work = nil
	clear(t.jobs)
	if cap(t.bytes) <= maxPooledRing {
		teams.Put(t)
	}
}

// ringOf returns the first n bytes of the team's byte ring.
func (t *team) ringOf(n int) []byte {
	if cap(t.bytes) < n {
		t.bytes = make([]byte, n)
	}
	return t.bytes[:n]
}

// jobRing returns the team's ring of jobs, one per slot.
func (t *team) jobRing() []job {
	if cap(t.jobs) < t.ring {
		t.jobs = make([]job, t.ring)
	}
	t.jobs = t.jobs[:t.ring]
	return t.jobs
}

func newTeam(n int) *team {
	t := &team{
		ciphers:    make([]*FrameCipher, n),
		helpers:    make([]func(), n-1),
		wake:       make(chan struct{}, n-1),
		callerWake: make(chan struct{}, 1),
	}
	for w := range t.ciphers {
		// Each goroutine writes its cipher's scratch space for every
		// frame: keep the clones on cache lines of their own.
		p := &struct {
			_ [cacheLine]byte
			c FrameCipher
			_ [cacheLine]byte
		}{}
		t.ciphers[w] = &p.c
	}
	for w := range t.helpers {
		c := t.ciphers[w+1]
		t.helpers[w] = func() { t.help(c) }
	}
	return t
}

// begin readies the team for a call; no helper runs yet.
func (t *team) begin() {
	t.call++
	if t.call == 1<<31 {
		// Numbers wrap: once in 2^31 calls, start afresh.
		for i := range t.slots {
			t.slots[i].done.Store(0)
		}
		t.call = 1
	}
	t.next.Store(0)
	t.avail.Store(0)
	t.stop.Store(false)
	t.started = 0
	t.busy = true
}

// start starts the helpers, once per call.
func (t *team) start() {
	if t.started > 0 || len(t.helpers) == 0 {
		return
	}
	t.started = len(t.helpers)
	t.wg.Add(t.started)
	for _, h := range t.helpers {
		go h()
	}
}

// end stops the helpers and waits for them: after end, no goroutine of
// the call runs and every job claimed is done.
func (t *team) end() {
	if t.started > 0 {
		t.stop.Store(true)
		t.signal()
		t.wg.Wait()
		t.started = 0
	}
	t.busy = false
	for drained := false; !drained; {
		select {
		case <-t.wake:
		case <-t.callerWake:
		default:
			drained = true
		}
	}
}

// setAvail lets jobs below n be claimed. Sleeping helpers are woken only
// for a quarter of the ring's worth of jobs: waking one takes long enough
// that a job or two are better done by the caller's goroutine, which does
// every job no helper claims.
func (t *team) setAvail(n int) {
	t.avail.Store(int64(n))
	if int64(n)-t.next.Load() >= int64(max(1, t.ring/4)) {
		t.signal()
	}
}

// signal wakes the sleeping helpers.
func (t *team) signal() {
	for s := t.sleepers.Load(); s > 0; s-- {
		select {
		case t.wake <- struct{}{}:
		default:
			return
		}
	}
}

// isDone reports whether job i is finished, and its error.
func (t *team) isDone(i int) (bool, error) {
	s := &t.slots[i%t.ring]
	if s.done.Load() != doneMark(t.call, i) {
		return false, nil
	}
	return true, s.err
}

// tryOne claims the next jobs, up to a grain of them, and does them on
// the goroutine that owns c; it reports false when no job can be claimed
// now.
func (t *team) tryOne(c *FrameCipher) bool {
	i := t.next.Load()
	avail := t.avail.Load()
	if i >= avail {
		return false
	}
	end := min(avail, i+int64(t.grain))
	if !t.next.CompareAndSwap(i, end) {
		return true
	}
	for ; i < end; i++ {
		s := &t.slots[int(i)%t.ring]
		s.err = t.work(c, int(i))
		s.done.Store(doneMark(t.call, int(i)))
		if t.callerWaits.Load() {
			select {
			case t.callerWake <- struct{}{}:
			default:
			}
		}
	}
	return true
}

// waitDone is what the caller's goroutine does when it can do nothing
// until job i, which a helper has claimed, is done: yield for about the
// time of a frame, then sleep, so that a helper the operating system has
// put aside gets the processor.
func (t *team) waitDone(i int) {
	for range 64 {
		if ok, _ := t.isDone(i); ok {
			return
		}
		runtime.Gosched()
	}
	t.callerWaits.Store(true)
	if ok, _ := t.isDone(i); !ok {
		<-t.callerWake
	}
	t.callerWaits.Store(false)
}

// helperSpins is how many times a helper with nothing to do yields
// before it sleeps. Yielding keeps it ready for the next job, but takes a
// processor that, on a machine busy with other work, the caller's
// goroutine may need: so only a few times.
const helperSpins = 16

// help is a helper's body: claim jobs until the call stops. A helper with
// nothing to do yields for a while, then sleeps until woken.
func (t *team) help(c *FrameCipher) {
	defer t.wg.Done()
	spins := 0
	for !t.stop.Load() {
		if t.tryOne(c) {
			spins = 0
			continue
		}
		if spins < helperSpins {
			spins++
			runtime.Gosched()
			continue
		}
		t.sleepers.Add(1)
		if !t.stop.Load() && t.next.Load() >= t.avail.Load() {
			<-t.wake
		}
		t.sleepers.Add(-1)
		spins = 0
	}
}
