package cache

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// Defaults and bounds of the ManagerOptions.
const (
	// DefaultMaxMessages is the message limit of a data key when
	// ManagerOptions.MaxMessages is 0, and the largest limit allowed.
	DefaultMaxMessages = 1 << 32
	// DefaultMaxBytes is the byte limit of a data key when
	// ManagerOptions.MaxBytes is 0.
	DefaultMaxBytes = math.MaxInt64
)

// ManagerOptions configure a Manager (see [NewManager]).
type ManagerOptions struct {
	// Inner is the materials manager asked on a miss, usually an
	// envelope.DefaultManager over KMS keyrings. Required.
	Inner envelope.MaterialsManager
	// Cache holds the entries; managers may share one. Required.
	Cache *Cache
	// MaxAge is how long a data key is used after the inner manager made
	// it. Required: it must be greater than zero.
	MaxAge time.Duration
	// MaxMessages is the most messages one data key encrypts, 1 to
	// DefaultMaxMessages; 0 means DefaultMaxMessages.
	MaxMessages uint64
	// MaxBytes is the most plaintext bytes one data key encrypts, summed
	// over its messages, at most DefaultMaxBytes; 0 means
	// DefaultMaxBytes. A message longer than MaxBytes on its own bypasses
	// the cache.
	MaxBytes uint64
	// Partition names the share of the cache this manager uses: managers
	// sharing one Cache share entries only if their partitions are equal.
	// Empty means a random name, so that no other manager shares them.
	Partition string
}

// Manager is the caching materials manager: it wraps an inner
// envelope.MaterialsManager (usually a default manager over KMS keyrings)
// and reuses the materials it returns, within limits, so that many
// messages make few calls to the key provider.
//
// Encryption materials are reused for requests with the same encryption
// context and algorithm suite, while the data key is younger than MaxAge
// and has protected fewer than MaxMessages messages and MaxBytes bytes.
// Each message's share is reserved before the materials are handed out,
// so the limits hold exactly however many goroutines encrypt at once.
// Decryption materials are reused for messages with the same encrypted
// data keys and encryption context while younger than MaxAge.
//
// Requests the cache cannot serve safely go straight to the inner
// manager and are counted as bypasses: encryptions whose plaintext length
// is not known in advance (a stream written with envelope's Client.Encrypt
// without envelope.WithPlaintextLength; EncryptBytes always knows), suites
// without key derivation, and messages longer than MaxBytes. With
// MaxMessages 1 no data key is reused for encryption, and with a cache of
// capacity 0 nothing is cached: those requests are bypasses too.
//
// While one request calls the inner manager for a cache id, other
// requests for the same id wait for its result instead of calling too.
// The materials it returns go into the cache, and each waiter then takes
// its share as on a hit (or, if they do not suit it, asks for its own).
// An error is shared only with a waiter that would have asked the inner
// manager the same question: a request of the same Manager equal to the
// caller's in every field, the commitment policy and the order of the
// encrypted data keys included (the cache id holds neither), and only if
// the error is not the caller's own: its context ended, or the error is
// a context error and its context can end. Every other waiter asks the
// inner manager itself. So one request's failure (its policy, its
// deadline) never fails another, and a keyring that is down costs one
// call per distinct request waiting, not one per request. Contexts are
// not compared otherwise: materials are shared across contexts too, so an
// inner manager whose answers depend on values carried in the context
// should not be cached.
//
// Every caller gets its own copy of the materials. A Manager is safe for
// concurrent use.
type Manager struct {
	inner     envelope.MaterialsManager
	cache     *Cache
	policy    policy
	partition string
	part      [sha512.Size]byte
	ids       idMemo
	counters  counters
}

var _ envelope.MaterialsManager = (*Manager)(nil)

// NewManager returns a caching manager over o.Inner that keeps its
// entries in o.Cache. It copies o, applies optFns to the copy in order,
// fills the defaults of MaxMessages, MaxBytes and Partition, and
// validates. Inner, Cache and MaxAge are required.
func NewManager(o ManagerOptions, optFns ...func(*ManagerOptions)) (*Manager, error) {
	for _, f := range optFns {
		f(&o)
	}
	switch {
	case o.Inner == nil:
		return nil, errors.New("esdk/cache: ManagerOptions.Inner is required (the materials manager asked on a miss)")
	case o.Cache == nil:
		return nil, errors.New("esdk/cache: ManagerOptions.Cache is required")
	case o.MaxAge <= 0:
		return nil, fmt.Errorf("esdk/cache: ManagerOptions.MaxAge must be greater than zero, not %v", o.MaxAge)
	case o.MaxMessages > DefaultMaxMessages:
		return nil, fmt.Errorf("esdk/cache: ManagerOptions.MaxMessages %d is over the limit of %d", o.MaxMessages, uint64(DefaultMaxMessages))
	case o.MaxBytes > DefaultMaxBytes:
		return nil, fmt.Errorf("esdk/cache: ManagerOptions.MaxBytes %d is over the limit of %d", o.MaxBytes, uint64(DefaultMaxBytes))
	}
	if o.MaxMessages == 0 {
		o.MaxMessages = DefaultMaxMessages
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Partition == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("esdk/cache: making a partition name: %w", err)
		}
		o.Partition = hex.EncodeToString(b[:])
	}
	return &Manager{
		inner:     o.Inner,
		cache:     o.Cache,
		policy:    policy{maxAge: o.MaxAge, maxMessages: o.MaxMessages, maxBytes: o.MaxBytes},
		partition: o.Partition,
		part:      partitionHash(o.Partition),
	}, nil
}

// Partition returns the manager's partition name, the random one included.
func (m *Manager) Partition() string { return m.partition }

// ManagerStats counts what a Manager did since it was made.
type ManagerStats struct {
	// Hits counts requests served from the cache.
	Hits uint64
	// Misses counts requests the cache could have served but did not
	// hold materials for: each made one call to the inner manager.
	Misses uint64
	// Waits counts requests that waited for another request's call to the
	// inner manager for the same cache id instead of making their own.
	// After the wait a request is served from the cache (and counted as
	// a hit), takes the call's error (see Manager), or calls the inner
	// manager itself (counted as a miss): when the data key is used up,
	// when the materials do not suit it, or when the call failed for a
	// reason that need not be its own.
	Waits uint64
	// Bypasses counts requests passed to the inner manager without the
	// cache: encryptions of unknown plaintext length, suites without key
	// derivation, messages longer than MaxBytes, encryptions when
	// MaxMessages is 1, every request when the cache's capacity is 0,
	// decryptions the commitment policy refuses, and requests whose
	// cache id cannot be computed (an encryption context too large to
	// serialize).
	Bypasses uint64
	// UnknownLength counts the bypasses that were encryptions of a
	// stream whose length was not declared. Declare the length with
	// envelope.WithPlaintextLength to have such messages use the cache.
	UnknownLength uint64
	// InnerCalls counts calls to the inner manager: Misses plus
	// Bypasses.
	InnerCalls uint64
	// Evictions, Expirations and Retirements count the entries this
	// manager made that left the cache: evicted for room, past MaxAge,
	// and (for encryption) with their data key at its message or byte
	// limit.
	Evictions   uint64
	Expirations uint64
	Retirements uint64
}

type counters struct {
	hits, misses, waits, bypasses, unknownLength, innerCalls atomic.Uint64
	evictions, expirations, retirements                      atomic.Uint64
}

// Stats returns the manager's counters.
func (m *Manager) Stats() ManagerStats {
	c := &m.counters
	return ManagerStats{
		Hits:          c.hits.Load(),
		Misses:        c.misses.Load(),
		Waits:         c.waits.Load(),
		Bypasses:      c.bypasses.Load(),
		UnknownLength: c.unknownLength.Load(),
		InnerCalls:    c.innerCalls.Load(),
		Evictions:     c.evictions.Load(),
		Expirations:   c.expirations.Load(),
		Retirements:   c.retirements.Load(),
	}
}

// errInnerPanicked is what requests waiting on a call to the inner
// manager get when that call panicked.
var errInnerPanicked = errors.New("esdk/cache: the inner materials manager panicked")

// GetEncryptionMaterials implements envelope.MaterialsManager.
func (m *Manager) GetEncryptionMaterials(ctx context.Context, req envelope.EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	switch {
	case req.PlaintextLength < 0:
		m.counters.unknownLength.Add(1)
		return bypass(m, ctx, req, m.inner.GetEncryptionMaterials)
	case req.Suite != nil && req.Suite.KDF() == format.KDFIdentity,
		uint64(req.PlaintextLength) > m.policy.maxBytes,
		m.policy.maxMessages == 1, m.cache.lru == nil:
		return bypass(m, ctx, req, m.inner.GetEncryptionMaterials)
	}
	id, err := m.ids.encryptionID(&m.part, &req)
	if err != nil {
		return bypass(m, ctx, req, m.inner.GetEncryptionMaterials)
	}
	n := uint64(req.PlaintextLength)
	allowed := func(mat *keyring.EncryptionMaterials) bool { return req.CommitmentPolicy.AllowsEncrypt(mat.Suite) }
	take := func() (*keyring.EncryptionMaterials, *flight, bool) {
		return m.cache.takeEncryption(id, n, &m.policy, allowed)
	}
	// The materials may protect up to MaxBytes, so that is the length the
	// inner manager is told (as the specification asks).
	ireq := req
	ireq.PlaintextLength = int64(m.policy.maxBytes)
	digest := func() requestDigest { return encryptionDigest(&ireq) }
	return lookup(m, ctx, id, take, digest, func() (*keyring.EncryptionMaterials, *entry, error) {
		mat, err := m.inner.GetEncryptionMaterials(ctx, ireq)
		if err != nil || mat == nil || mat.Suite == nil || mat.Suite.KDF() == format.KDFIdentity || !allowed(mat) {
			return mat, nil, err
		}
		// The entry starts with the caller's message counted against it.
		now := m.cache.now()
		e := &entry{enc: mat, created: now, expires: now.Add(m.policy.maxAge), messages: 1, bytes: n, owner: &m.counters}
		return mat.Clone(), e, nil
	})
}

// DecryptMaterials implements envelope.MaterialsManager.
func (m *Manager) DecryptMaterials(ctx context.Context, req envelope.DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	if req.Suite == nil || req.Suite.KDF() == format.KDFIdentity || !req.CommitmentPolicy.AllowsDecrypt(req.Suite) || m.cache.lru == nil {
		return bypass(m, ctx, req, m.inner.DecryptMaterials)
	}
	id, err := m.ids.decryptionID(&m.part, &req)
	if err != nil {
		return bypass(m, ctx, req, m.inner.DecryptMaterials)
	}
	take := func() (*keyring.DecryptionMaterials, *flight, bool) { return m.cache.takeDecryption(id, &m.policy) }
	digest := func() requestDigest { return decryptionDigest(&req) }
	return lookup(m, ctx, id, take, digest, func() (*keyring.DecryptionMaterials, *entry, error) {
		mat, err := m.inner.DecryptMaterials(ctx, req)
		if err != nil || mat == nil || mat.PlaintextDataKey == nil || mat.Suite != req.Suite {
			return mat, nil, err
		}
		now := m.cache.now()
		e := &entry{dec: mat, created: now, expires: now.Add(m.policy.maxAge), owner: &m.counters}
		return mat.Clone(), e, nil
	})
}

// bypass asks the inner manager, leaving the cache alone.
func bypass[Req, Mat any](m *Manager, ctx context.Context, req Req, inner func(context.Context, Req) (Mat, error)) (Mat, error) {
	m.counters.bypasses.Add(1)
	m.counters.innerCalls.Add(1)
	return inner(ctx, req)
}

// lookup is the way of both directions to materials under id: take them
// from the cache (a hit is take's materials with no flight); or, as the
// leader of the flight for id, call the inner manager through inner,
// which returns the caller's materials and the entry to store (nil to
// store none); or wait for another request's flight, and then take its
// error if that is this request's too or else look again. digest computes
// the digest of the request as inner passes it on.
func lookup[Mat any](m *Manager, ctx context.Context, id cacheID, take func() (Mat, *flight, bool), digest func() requestDigest, inner func() (Mat, *entry, error)) (Mat, error) {
	var none Mat
	for waited := false; ; waited = true {
		mat, f, leader := take()
		switch {
		case f == nil:
			m.counters.hits.Add(1)
			return mat, nil
		case leader:
			return lead(m, ctx, id, f, digest, inner)
		}
		if !waited {
			m.counters.waits.Add(1)
		}
		if hook := m.cache.waitHook; hook != nil {
			hook()
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return none, ctx.Err()
		}
		if f.sharedWith(m, digest) {
			return none, f.err
		}
	}
}

// lead makes the inner call of flight f and finishes the flight with its
// entry, or with its failure: the error, for the waiters whose request is
// the same, unless it is the leader's own; errInnerPanicked if the call
// panics.
func lead[Mat any](m *Manager, ctx context.Context, id cacheID, f *flight, digest func() requestDigest, inner func() (Mat, *entry, error)) (Mat, error) {
	finished := false
	defer func() {
		if !finished {
			m.cache.finish(id, f, nil, failure{err: errInnerPanicked, leader: m, req: digest()})
		}
	}()
	m.counters.misses.Add(1)
	m.counters.innerCalls.Add(1)
	mat, e, err := inner()
	finished = true
	if err != nil {
		var fail failure
		if !ownContextError(ctx, err) {
			fail = failure{err: err, leader: m, req: digest()}
		}
		m.cache.finish(id, f, nil, fail)
		var none Mat
		return none, err
	}
	m.cache.finish(id, f, e, failure{})
	return mat, nil
}

// ownContextError reports whether err, returned by an inner call made with
// ctx, may come from ctx rather than from the inner manager: ctx has
// ended, or err is a context error and ctx is one that can end. The second
// case covers errors derived from ctx before it ends, such as a dial that
// gives up early to stay within ctx's deadline (package net's errors then
// match context.DeadlineExceeded). A context error under a context that
// can never end comes from the inner manager itself.
func ownContextError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	return ctx.Done() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
