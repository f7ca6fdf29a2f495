package cache

import (
	"container/heap"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/go-esdk/esdk/keyring"
)

// Cache is an in-memory, least-recently-used store of encryption and
// decryption materials, shared by one or more [Manager]s. It holds at most
// its capacity of entries; each entry records when it was made and how
// many messages and plaintext bytes its data key has protected.
//
// An entry past its maximum age is never returned. Entries leave the cache
// when they are evicted for room (least recently used first), when they
// expire, when their data key reaches a usage limit, and on [Cache.Purge];
// the cache's copy of the plaintext data key is then overwritten with
// zeros. Expired entries are removed on every cache operation, and by
// [Cache.RemoveExpired] for programs that want them gone while the cache
// is idle. The cache starts no goroutines.
//
// For signed suites an encryption entry also holds the message signing
// key, an *ecdsa.PrivateKey shared by every message encrypted under the
// entry. That key is not overwritten: messages may still be signing with
// it when the entry leaves, and crypto/ecdsa makes copies of the private
// scalar of its own when it signs, and may keep one for as long as the
// key lives (current releases do), out of any caller's reach. When the
// entry leaves, the cache drops its reference to the key; the key stays
// in memory, unwiped, until the messages using it are done and the
// garbage collector reclaims it. Decryption entries hold public
// verification keys only.
//
// A Cache is safe for concurrent use.
type Cache struct {
	now func() time.Time

	mu      sync.Mutex
	lru     *simplelru.LRU[cacheID, *entry] // nil when the capacity is 0
	byAge   expiryHeap
	flights map[cacheID]*flight
	// reason is why the entry being removed leaves the cache; the
	// eviction callback reads it. Capacity evictions are the default.
	reason removal
	// waitHook, when set (by tests), runs each time a request begins to
	// wait for a flight.
	waitHook func()

	evictions   atomic.Uint64
	expirations atomic.Uint64
	retirements atomic.Uint64
}

// CacheOptions configure a Cache (see [New]).
type CacheOptions struct {
	// Capacity is the most entries the cache holds, 0 or more. Zero is a
	// capacity, not a default: a cache of capacity 0 stores nothing, and
	// managers over it pass every request to their inner manager (the
	// specification's local cache accepts zero too).
	Capacity int
	// Now is the function the cache reads the time from; nil means
	// time.Now. Tests pass a fake clock to step through maximum ages.
	Now func() time.Time
}

// New returns a cache holding at most o.Capacity entries. It copies o and
// applies optFns to the copy in order. No field is required: the zero
// CacheOptions give a cache that stores nothing and reads time.Now, so a
// cache that is to be of use needs a Capacity.
func New(o CacheOptions, optFns ...func(*CacheOptions)) (*Cache, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Capacity < 0 {
		return nil, fmt.Errorf("esdk/cache: CacheOptions.Capacity %d is negative", o.Capacity)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{now: o.Now, flights: map[cacheID]*flight{}}
	if o.Capacity > 0 {
		l, err := simplelru.NewLRU(o.Capacity, c.onRemove)
		if err != nil {
			return nil, err
		}
		c.lru = l
	}
	return c, nil
}

// CacheStats counts what happened to a cache's entries since it was made.
type CacheStats struct {
	// Entries is the number of entries held now.
	Entries int
	// Evictions counts entries removed to make room for a newer one.
	Evictions uint64
	// Expirations counts entries removed because they reached their
	// maximum age.
	Expirations uint64
	// Retirements counts encryption entries removed because their data
	// key reached its message or byte limit.
	Retirements uint64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Entries:     c.Len(),
		Evictions:   c.evictions.Load(),
		Expirations: c.expirations.Load(),
		Retirements: c.retirements.Load(),
	}
}

// Len returns the number of entries held, expired ones not yet removed
// included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru == nil {
		return 0
	}
	return c.lru.Len()
}

// RemoveExpired removes every entry past its maximum age now, zeroing
// its data key. The cache does this itself on every lookup and insert;
// call it from a ticker to bound how long an idle cache keeps expired
// keys in memory.
func (c *Cache) RemoveExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(c.now())
}

// Purge removes every entry, zeroing its data key. Requests waiting for
// materials are not affected.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru != nil {
		c.reason = removedPurge
		c.lru.Purge()
		c.reason = removedEvicted
	}
}

// removal is why an entry leaves the cache.
type removal uint8

const (
	removedEvicted removal = iota
	removedExpired
	removedRetired
	removedReplaced
	removedPurge
)

// entry is one cached set of materials. Exactly one of enc and dec is set.
// Its fields are guarded by Cache.mu.
type entry struct {
	enc *keyring.EncryptionMaterials
	dec *keyring.DecryptionMaterials

	created time.Time
	expires time.Time
	// messages and bytes are the usage reserved so far (encryption only).
	messages uint64
	bytes    uint64

	id    cacheID
	owner *counters // the manager that made the entry
	index int       // position in Cache.byAge
}

// zero overwrites the cache's copy of the data key and drops its
// reference to the signing key, which it cannot overwrite (see Cache).
// Keeping the signing key's scalar as bytes instead, to zero them here
// and make an *ecdsa.PrivateKey from them for each message, would not
// help: crypto/ecdsa would make its own copies for every key so made.
func (e *entry) zero() {
	if e.enc != nil {
		clear(e.enc.PlaintextDataKey)
		e.enc.SigningKey = nil
	}
	if e.dec != nil {
		clear(e.dec.PlaintextDataKey)
	}
}

// onRemove is the LRU's callback for every entry that leaves it, whether
// evicted for room or removed by the cache. It runs with c.mu held.
func (c *Cache) onRemove(_ cacheID, e *entry) {
	heap.Remove(&c.byAge, e.index)
	e.zero()
	switch c.reason {
	case removedEvicted:
		c.evictions.Add(1)
		e.owner.evictions.Add(1)
	case removedExpired:
		c.expirations.Add(1)
		e.owner.expirations.Add(1)
	case removedRetired:
		c.retirements.Add(1)
		e.owner.retirements.Add(1)
	}
}

// remove removes the entry under id for the given reason. c.mu is held.
func (c *Cache) remove(id cacheID, why removal) {
	c.reason = why
	c.lru.Remove(id)
	c.reason = removedEvicted
}

// prune removes every entry that has expired at now. c.mu is held.
func (c *Cache) prune(now time.Time) {
	for len(c.byAge) > 0 && !now.Before(c.byAge[0].expires) {
		c.remove(c.byAge[0].id, removedExpired)
	}
}

// policy is what a manager asks of an entry on lookup.
type policy struct {
	maxAge      time.Duration
	maxMessages uint64
	maxBytes    uint64
}

// fresh reports whether e may serve a request of this policy at now; an
// entry younger than its own maximum age may still be older than the
// asking manager allows.
func (p *policy) fresh(e *entry, now time.Time) bool {
	return now.Before(e.expires) && now.Sub(e.created) < p.maxAge
}

// flight is one call to an inner manager that other requests for the same
// cache id wait for instead of making their own. Its fields are set
// before done is closed and read after.
type flight struct {
	done chan struct{}
	failure
}

// failure is what waiters may take of a failed call: err, for a waiter
// that is a request of the manager leader with the digest req, which
// asks the same inner manager the same question. A failure without err
// (the call succeeded, or failed for a reason of its caller's own) is
// shared with no one: waiters look in the cache again and, finding
// nothing, ask the inner manager themselves.
type failure struct {
	err    error
	leader *Manager
	req    requestDigest
}

// sharedWith reports whether the failure is also the failure of a
// request of m whose digest digest computes.
func (f *failure) sharedWith(m *Manager, digest func() requestDigest) bool {
	return f.err != nil && f.leader == m && f.req == digest()
}

// takeEncryption looks up encryption materials under id for one message
// of n bytes. On a hit it reserves the message and its bytes on the entry
// and returns the caller's own copy of the materials. Otherwise it returns
// the flight to wait for, or a new flight the caller leads (lead true): the
// caller must then call finish.
func (c *Cache) takeEncryption(id cacheID, n uint64, p *policy, allowed func(*keyring.EncryptionMaterials) bool) (mat *keyring.EncryptionMaterials, f *flight, lead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.lru != nil {
		c.prune(now)
		if e, ok := c.lru.Get(id); ok && e.enc != nil {
			switch {
			case !p.fresh(e, now):
				c.remove(id, removedExpired)
			case e.messages >= p.maxMessages || e.bytes > p.maxBytes || n > p.maxBytes-e.bytes:
				// This message would take the data key past a limit: the
				// key is done; the next one replaces it.
				c.remove(id, removedRetired)
			case !allowed(e.enc):
				// Made under another commitment policy; the new entry
				// replaces it.
			default:
				e.messages++
				e.bytes += n
				mat = e.enc.Clone()
				if e.messages >= p.maxMessages {
					c.remove(id, removedRetired)
				}
				return mat, nil, false
			}
		}
	}
	f, lead = c.joinLocked(id)
	return nil, f, lead
}

// takeDecryption looks up decryption materials under id and returns the
// caller's own copy, or a flight as takeEncryption does.
func (c *Cache) takeDecryption(id cacheID, p *policy) (mat *keyring.DecryptionMaterials, f *flight, lead bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.lru != nil {
		c.prune(now)
		if e, ok := c.lru.Get(id); ok && e.dec != nil {
			if p.fresh(e, now) {
				return e.dec.Clone(), nil, false
			}
			c.remove(id, removedExpired)
		}
	}
	f, lead = c.joinLocked(id)
	return nil, f, lead
}

// joinLocked returns the flight for id, starting one if there is none.
func (c *Cache) joinLocked(id cacheID) (*flight, bool) {
	if f, ok := c.flights[id]; ok {
		return f, false
	}
	f := &flight{done: make(chan struct{})}
	c.flights[id] = f
	return f, true
}

// finish ends the flight f for id: e, if not nil, is stored under id (its
// created and expires set by the caller; if it cannot be stored, its data
// key is zeroed), and the waiters are released with fail.
func (c *Cache) finish(id cacheID, f *flight, e *entry, fail failure) {
	c.mu.Lock()
	defer c.mu.Unlock()
	stored := false
	if e != nil {
		if c.lru != nil {
			now := c.now()
			c.prune(now)
			if now.Before(e.expires) {
				if c.lru.Contains(id) {
					c.remove(id, removedReplaced)
				}
				e.id = id
				heap.Push(&c.byAge, e)
				c.lru.Add(id, e) // evicts the least recently used entry when full
				stored = true
			}
		}
		if !stored {
			e.zero()
		}
	}
	delete(c.flights, id)
	f.failure = fail
	close(f.done)
}

// expiryHeap orders entries by expiry time, soonest first, so that expired
// entries are found without walking the cache.
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *expiryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old) - 1
	e := old[n]
	old[n] = nil
	*h = old[:n]
	e.index = -1
	return e
}
