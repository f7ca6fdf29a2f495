package keystore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// DefaultCacheCapacity is the number of branch key versions a cache holds
// when its capacity is not set (the specification's default of 1000).
const DefaultCacheCapacity = 1000

// pruneTail is how many least recently used entries every lookup checks
// for expiry (the local cache's entry pruning tail size).
const pruneTail = 8

// Cache holds branch key materials for one or more hierarchical keyrings:
// an LRU of branch key versions, each kept for the time to live of the
// keyring that fetched it. Keyrings that share a Cache share entries when
// they have the same partition id, logical key store name and branch key
// id (see [HierarchicalKeyringOptions].PartitionID); otherwise their
// entries only share the room.
//
// When many requests miss on one branch key version together, one of
// them calls the store and the others wait for its answer: a branch key
// version is fetched once, and a failing store is called once, not once
// per request. Branch key material leaves memory with its entry: an entry
// evicted for room, expired or purged has its key overwritten with zeros.
// Expired entries are removed as lookups come across them and by
// [Cache.RemoveExpired]. The cache starts no goroutines. A Cache is safe
// for concurrent use.
type Cache struct {
	now func() time.Time

	mu      sync.Mutex
	lru     *simplelru.LRU[cacheID, *cacheEntry]
	flights map[cacheID]*flight
	expired bool // set while removing an expired entry, read by onRemove
	stats   CacheStats
}

// CacheOptions configure a [Cache] (see [NewCache]).
type CacheOptions struct {
	// Capacity is the most branch key versions held; 0 means
	// DefaultCacheCapacity.
	Capacity int
	// Now is the clock; nil means time.Now. Tests pass a fake clock to
	// step through times to live.
	Now func() time.Time
}

// CacheStats count what a cache did since it was made.
type CacheStats struct {
	// Entries is the number of branch key versions held now.
	Entries int
	// Hits counts lookups answered from the cache.
	Hits uint64
	// Loads counts calls to a branch key store made through the cache,
	// failed ones included: with a warm cache, one per branch key
	// version per time to live.
	Loads uint64
	// Waits counts lookups that waited for another's call to the store.
	Waits uint64
	// Evictions counts entries removed to make room.
	Evictions uint64
	// Expirations counts entries removed past their time to live.
	Expirations uint64
}

// NewCache returns a branch key materials cache. It copies o and applies
// optFns to the copy in order. No field is required.
func NewCache(o CacheOptions, optFns ...func(*CacheOptions)) (*Cache, error) {
	for _, f := range optFns {
		f(&o)
	}
	if o.Capacity < 0 {
		return nil, fmt.Errorf("esdk/keystore: CacheOptions.Capacity %d is negative", o.Capacity)
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultCacheCapacity
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Cache{now: o.Now, flights: map[cacheID]*flight{}}
	l, err := simplelru.NewLRU(o.Capacity, c.onRemove)
	if err != nil {
		return nil, errorf("%w", err)
	}
	c.lru = l
	return c, nil
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries = c.lru.Len()
	return s
}

// Purge removes every entry, zeroing its branch key. Lookups waiting for
// a store are not affected.
func (c *Cache) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expired = true // not an eviction for room
	c.lru.Purge()
	c.expired = false
}

// RemoveExpired removes every entry past its time to live, zeroing its
// branch key. Lookups do this for the entries they come across; call it
// from a ticker to bound how long an idle cache keeps expired keys.
func (c *Cache) RemoveExpired() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, id := range c.lru.Keys() {
		if e, ok := c.lru.Peek(id); ok && !now.Before(e.expires) {
			c.removeExpired(id)
		}
	}
}

// cacheID is a cache entry identifier: SHA-384 of the fields of the
// specification's Appendix A.
type cacheID [48]byte

// branchKey is the part of branch key materials the keyring uses, in
// fixed arrays so that copying it out of the cache allocates nothing.
type branchKey struct {
	id           string
	version      string
	versionBytes [16]byte
	key          [branchKeyLength]byte
}

type cacheEntry struct {
	bk      branchKey
	created time.Time
	expires time.Time
}

// onRemove is the LRU's callback for every entry that leaves it. c.mu is
// held.
func (c *Cache) onRemove(_ cacheID, e *cacheEntry) {
	clear(e.bk.key[:])
	if c.expired {
		c.stats.Expirations++
	} else {
		c.stats.Evictions++
	}
}

func (c *Cache) removeExpired(id cacheID) {
	c.expired = true
	c.lru.Remove(id)
	c.expired = false
}

// flight is one call to a store that other lookups of the same id wait for.
type flight struct {
	done chan struct{}
	err  error
	// retry: the call ended because its caller's context did; waiters
	// call the store themselves instead of taking that error.
	retry bool
}

var errLoadPanicked = errors.New("esdk/keystore: the branch key store panicked")

// fetch copies into out the branch key under id that is younger than ttl,
// calling load on a miss: one call at a time per id, the other lookups
// waiting for its answer (each for at most its own context). The entry
// load makes lives for ttl.
func (c *Cache) fetch(ctx context.Context, id cacheID, ttl time.Duration, out *branchKey, load func() (branchKey, error)) error {
	for waited := false; ; waited = true {
		c.mu.Lock()
		now := c.now()
		c.pruneLocked(now)
		if e, ok := c.lru.Get(id); ok {
			if now.Before(e.expires) && now.Sub(e.created) <= ttl {
				*out = e.bk
				c.stats.Hits++
				c.mu.Unlock()
				return nil
			}
			if !now.Before(e.expires) {
				c.removeExpired(id)
			}
		}
		f, wait := c.flights[id]
		if !wait {
			f = &flight{done: make(chan struct{})}
			c.flights[id] = f
			c.stats.Loads++
		} else if !waited {
			c.stats.Waits++
		}
		c.mu.Unlock()
		if !wait {
			return c.lead(ctx, id, ttl, f, out, load)
		}
		select {
		case <-f.done:
			if f.err != nil && !f.retry {
				return f.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lead makes the call of flight f and stores its answer.
func (c *Cache) lead(ctx context.Context, id cacheID, ttl time.Duration, f *flight, out *branchKey, load func() (branchKey, error)) (err error) {
	finished := false
	defer func() {
		if !finished {
			c.finish(id, f, nil, errLoadPanicked, false)
		}
	}()
	bk, err := load()
	finished = true
	if err != nil {
		c.finish(id, f, nil, err, ctx.Err() != nil)
		return err
	}
	*out = bk
	now := c.now()
	c.finish(id, f, &cacheEntry{bk: bk, created: now, expires: now.Add(ttl)}, nil, false)
	clear(bk.key[:])
	return nil
}

// finish stores e under id, if not nil, and releases f's waiters with err.
func (c *Cache) finish(id cacheID, f *flight, e *cacheEntry, err error, retry bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e != nil {
		if c.lru.Contains(id) {
			c.removeExpired(id) // replaced: the old entry was past this keyring's time to live
		}
		c.lru.Add(id, e)
	}
	delete(c.flights, id)
	f.err, f.retry = err, retry
	close(f.done)
}

// pruneLocked removes expired entries from the least recently used end.
// c.mu is held.
func (c *Cache) pruneLocked(now time.Time) {
	for i := 0; i < pruneTail; i++ {
		id, e, ok := c.lru.GetOldest()
		if !ok || now.Before(e.expires) {
			return
		}
		c.removeExpired(id)
	}
}
