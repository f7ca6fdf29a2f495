package cache_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

var bg = context.Background()

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingManager wraps a default manager over a raw AES keyring, counts
// the calls that reach it and keeps every set of materials it returned.
type countingManager struct {
	kr    *keyring.RawAES
	inner envelope.MaterialsManager

	encCalls, decCalls atomic.Int64
	// before, when set, runs before each call is passed on; an error
	// from it is returned instead.
	before func(ctx context.Context) error

	mu      sync.Mutex
	enc     []*keyring.EncryptionMaterials
	dec     []*keyring.DecryptionMaterials
	encReqs []envelope.EncryptionMaterialsRequest
	decReqs []envelope.DecryptionMaterialsRequest
}

func newCounting(t testing.TB) *countingManager {
	t.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	kr, err := keyring.NewRawAES(keyring.RawAESOptions{Namespace: "cache-test", Name: "aes-256", WrappingKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return &countingManager{kr: kr, inner: defaultManager(t, kr)}
}

func defaultManager(t testing.TB, kr keyring.Keyring) *envelope.DefaultManager {
	t.Helper()
	mm, err := envelope.NewDefaultManager(kr)
	if err != nil {
		t.Fatal(err)
	}
	return mm
}

func (m *countingManager) GetEncryptionMaterials(ctx context.Context, req envelope.EncryptionMaterialsRequest) (*keyring.EncryptionMaterials, error) {
	m.encCalls.Add(1)
	if m.before != nil {
		if err := m.before(ctx); err != nil {
			return nil, err
		}
	}
	mat, err := m.inner.GetEncryptionMaterials(ctx, req)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.encReqs = append(m.encReqs, req)
	if err == nil {
		m.enc = append(m.enc, mat)
	}
	return mat, err
}

func (m *countingManager) DecryptMaterials(ctx context.Context, req envelope.DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	m.decCalls.Add(1)
	if m.before != nil {
		if err := m.before(ctx); err != nil {
			return nil, err
		}
	}
	mat, err := m.inner.DecryptMaterials(ctx, req)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.decReqs = append(m.decReqs, req)
	if err == nil {
		m.dec = append(m.dec, mat)
	}
	return mat, err
}

// dataKeyOf reads back which data key a message was encrypted under, by
// unwrapping its encrypted data key with the raw AES keyring. extra holds
// the required context entries that the header does not store.
func (m *countingManager) dataKeyOf(t testing.TB, ct []byte, extra map[string]string) string {
	t.Helper()
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]string{}
	for k, v := range h.EncryptionContext {
		ec[k] = v
	}
	for k, v := range extra {
		ec[k] = v
	}
	mat := &keyring.DecryptionMaterials{Suite: h.Suite, EncryptionContext: ec}
	if err := m.kr.OnDecrypt(bg, mat, h.EncryptedDataKeys); err != nil {
		t.Fatal(err)
	}
	return string(mat.PlaintextDataKey)
}

func newClient(t testing.TB, suite format.SuiteID) *envelope.Client {
	t.Helper()
	c, err := envelope.New(func(o *envelope.Options) {
		o.Suite = suite
		if !format.MustSuite(suite).Committing() {
			o.CommitmentPolicy = envelope.ForbidEncryptAllowDecrypt
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newCache(t testing.TB, capacity int, clock *fakeClock) *cache.Cache {
	t.Helper()
	o := cache.CacheOptions{Capacity: capacity}
	if clock != nil {
		o.Now = clock.Now
	}
	c, err := cache.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newManager is a manager over inner and c with the other options of o
// and, when o has none, a MaxAge of an hour.
func newManager(t testing.TB, inner envelope.MaterialsManager, c *cache.Cache, o cache.ManagerOptions) *cache.Manager {
	t.Helper()
	if o.MaxAge == 0 {
		o.MaxAge = time.Hour
	}
	o.Inner, o.Cache = inner, c
	m, err := cache.NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return len(b) > 0
}

// waits counts the requests that began to wait for a flight under a cache.
type waits struct {
	n  atomic.Int64
	ch chan struct{}
}

func watchWaits(c *cache.Cache) *waits {
	w := &waits{ch: make(chan struct{}, 1024)}
	cache.SetWaitHook(c, func() {
		w.n.Add(1)
		w.ch <- struct{}{}
	})
	return w
}

// reach blocks until n waits in all have begun. The minute is a guard
// against a hang, not a timing.
func (w *waits) reach(n int64) error {
	for w.n.Load() < n {
		select {
		case <-w.ch:
		case <-time.After(time.Minute):
			return fmt.Errorf("%d requests wait, not %d", w.n.Load(), n)
		}
	}
	return nil
}
