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

// parallelMin is the least plaintext, in bytes, that a call must seal or
// open for its frames to go parallel; smaller calls, and messages of one
// or two frames, take the sequential path. Starting helpers costs tens of
// microseconds on some machines before they run; 256 KiB of frames take
// about that long on one core. Tests lower it.
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

func init() { parallelMin.Store(256 << 10) }

// goesParallel reports whether a call with frames frames of fl bytes runs
// on a team of n goroutines.
func goesParallel(n, frames, fl int) bool {
	return n > 1 && frames >= minParallelFrames && int64(frames)*int64(fl) >= parallelMin.Load()
}

// ringSlots is the number of slots of a team of n for frames of fl bytes.
func ringSlots(n, fl int) int {
	r := max(ringPerWorker*n, (ringBytes+fl-1)/fl)
	if int64(r)*int64(fl) > ringMaxBytes {
		r = max(2, ringMaxBytes/fl)
	}
	return r
}

// team is the goroutines of one call and what they share. It is made once
// per message, at its first parallel call, and reused by later calls, so
// that the steady state allocates nothing.
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

	slots []slot // slots[i%ring] holds job i's state
	stop  atomic.Bool
	// Helpers with nothing to do sleep on wake; sleepers counts them.
	sleepers atomic.Int32
	wake     chan struct{}
	// The caller's goroutine, waiting for a job, sleeps on callerWake.
	callerWaits atomic.Bool
	callerWake  chan struct{}
	started     int // helpers started in this call
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
	done atomic.Int64 // i+1 once job i is finished
	err  error        // job i's error, once done
	_    [cacheLine - 24]byte
}

// grainBytes is the least plaintext a goroutine claims at once; tests
// lower it, to mix the goroutines' frames as much as they can be.
var grainBytes atomic.Int64

func init() { grainBytes.Store(32 << 10) }

func newTeam(n, ring, fl int, fc *FrameCipher, work func(c *FrameCipher, i int) error) *team {
	t := &team{
		ring:    ring,
		grain:   max(1, min(int(grainBytes.Load())/fl, ring/(2*n))),
		work:    work,
		ciphers: make([]*FrameCipher, n),
		helpers: make([]func(), n-1),
		slots:   make([]slot, ring),
		wake:    make(chan struct{}, n-1),

		callerWake: make(chan struct{}, 1),
	}
	for w := range t.ciphers {
		// Each goroutine writes its cipher's scratch space for every
		// frame: keep the clones on cache lines of their own.
		p := &struct {
			_ [cacheLine]byte
			c FrameCipher
			_ [cacheLine]byte
		}{c: FrameCipher{aead: fc.aead, messageID: fc.messageID}}
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
	t.next.Store(0)
	t.avail.Store(0)
	t.stop.Store(false)
	for i := range t.slots {
		t.slots[i].done.Store(0)
		t.slots[i].err = nil
	}
	t.started = 0
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
	if s.done.Load() != int64(i)+1 {
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
		s.done.Store(i + 1)
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
