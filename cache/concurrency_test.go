package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
)

const goroutines = 64

// run starts n goroutines running f(i) and waits for them; the first error
// fails the test.
func run(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(i); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

type usage struct{ messages, bytes int }

// tally reads back the data key of every message and sums its use.
func tally(t *testing.T, inner *countingManager, cts [][]byte) map[string]*usage {
	t.Helper()
	per := map[string]*usage{}
	for _, ct := range cts {
		k := inner.dataKeyOf(t, ct, nil)
		u := per[k]
		if u == nil {
			u = &usage{}
			per[k] = u
		}
		u.messages++
		pt, _, err := newClient(t, format.AES256GCMHKDFSHA512CommitKey).DecryptBytes(bg, ct, inner.inner, nil)
		if err != nil {
			t.Fatal(err)
		}
		u.bytes += len(pt)
	}
	return per
}

// 64 goroutines encrypt 1280 messages with MaxMessages 7: every data key
// protects exactly 7 messages but the last, and the inner manager is
// called once per data key.
func TestConcurrentMessageLimit(t *testing.T) {
	const perGoroutine, maxMessages = 20, 7
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxMessages: maxMessages})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	cts := make([][]byte, goroutines*perGoroutine)
	run(t, goroutines, func(g int) error {
		for j := range perGoroutine {
			ct, err := client.EncryptBytes(bg, make([]byte, 64), mm, ec)
			if err != nil {
				return err
			}
			cts[g*perGoroutine+j] = ct
		}
		return nil
	})
	per := tally(t, inner, cts)
	total := goroutines * perGoroutine
	wantKeys := (total + maxMessages - 1) / maxMessages
	if len(per) != wantKeys || inner.encCalls.Load() != int64(wantKeys) {
		t.Fatalf("%d data keys, %d inner calls; want %d", len(per), inner.encCalls.Load(), wantKeys)
	}
	short := 0
	for _, u := range per {
		if u.messages > maxMessages {
			t.Fatalf("a data key protected %d messages, over the limit of %d", u.messages, maxMessages)
		}
		if u.messages < maxMessages {
			short++
		}
	}
	if short != 1 {
		t.Errorf("%d data keys short of the limit, want 1", short)
	}
	st := mm.Stats()
	if st.Hits+st.Misses != uint64(total) || st.Misses != uint64(wantKeys) {
		t.Errorf("stats %+v", st)
	}
}

// Messages of random sizes from 64 goroutines: no data key protects more
// than MaxBytes, and every key was retired only when the next message did
// not fit.
func TestConcurrentByteLimit(t *testing.T) {
	const perGoroutine, maxBytes = 10, 2000
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, 10, nil), cache.ManagerOptions{MaxBytes: maxBytes, MaxMessages: 100})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	cts := make([][]byte, goroutines*perGoroutine)
	run(t, goroutines, func(g int) error {
		r := rand.New(rand.NewPCG(uint64(g), 1))
		for j := range perGoroutine {
			ct, err := client.EncryptBytes(bg, make([]byte, r.IntN(400)), mm, ec)
			if err != nil {
				return err
			}
			cts[g*perGoroutine+j] = ct
		}
		return nil
	})
	per := tally(t, inner, cts)
	underused := 0
	for _, u := range per {
		if u.bytes > maxBytes || u.messages > 100 {
			t.Fatalf("a data key protected %d bytes in %d messages, over the limits", u.bytes, u.messages)
		}
		// A key is retired only by a message that does not fit, of at
		// most 399 bytes; only the last key may hold less.
		if u.bytes <= maxBytes-400 {
			underused++
		}
	}
	if underused > 1 {
		t.Errorf("%d data keys retired early", underused)
	}
	if int64(len(per)) != inner.encCalls.Load() {
		t.Errorf("%d data keys from %d inner calls", len(per), inner.encCalls.Load())
	}
}

// 64 concurrent misses for one cache id make one call to the inner
// manager: the first request calls, the other 63 wait for it.
func TestConcurrentMissesShareOneCall(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	w := watchWaits(c)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	inner.before = func(context.Context) error { return w.reach(goroutines - 1) }
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	cts := make([][]byte, goroutines)
	run(t, goroutines, func(i int) error {
		var err error
		cts[i], err = client.EncryptBytes(bg, []byte("same context"), mm, ec)
		return err
	})
	if inner.encCalls.Load() != 1 || len(tally(t, inner, cts)) != 1 {
		t.Fatalf("%d inner calls for one cache id", inner.encCalls.Load())
	}
	if st := mm.Stats(); st.Misses != 1 || st.Waits != goroutines-1 || st.Hits != goroutines-1 {
		t.Errorf("stats %+v", st)
	}

	// Decryption: 64 goroutines decrypt one message with one call.
	inner.before = func(context.Context) error { return w.reach(2 * (goroutines - 1)) }
	run(t, goroutines, func(i int) error {
		pt, _, err := client.DecryptBytes(bg, cts[i%4], mm, nil)
		if err == nil && string(pt) != "same context" {
			err = fmt.Errorf("decrypted %q", pt)
		}
		return err
	})
	if inner.decCalls.Load() != 1 {
		t.Errorf("%d inner decrypt calls for one message", inner.decCalls.Load())
	}
}

// Distinct cache ids do not wait for each other.
func TestConcurrentDistinctIDs(t *testing.T) {
	inner := newCounting(t)
	mm := newManager(t, inner, newCache(t, goroutines, nil), cache.ManagerOptions{})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	run(t, goroutines, func(i int) error {
		for range 5 {
			if _, err := client.EncryptBytes(bg, nil, mm, map[string]string{"n": fmt.Sprint(i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if inner.encCalls.Load() != goroutines || mm.Stats().Waits != 0 {
		t.Errorf("%d inner calls, stats %+v", inner.encCalls.Load(), mm.Stats())
	}
}

// A waiter whose own context ends stops waiting.
func TestWaiterContextCanceled(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	w := watchWaits(c)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	entered, release := make(chan struct{}), make(chan struct{})
	inner.before = func(context.Context) error {
		close(entered)
		<-release
		return nil
	}
	req := envelope.EncryptionMaterialsRequest{EncryptionContext: ec, PlaintextLength: 1}
	leaderErr := make(chan error)
	go func() {
		_, err := mm.GetEncryptionMaterials(bg, req)
		leaderErr <- err
	}()
	<-entered
	ctx, cancel := context.WithCancel(bg)
	waiterErr := make(chan error)
	go func() {
		_, err := mm.GetEncryptionMaterials(ctx, req)
		waiterErr <- err
	}()
	if err := w.reach(1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-waiterErr; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter: %v", err)
	}
	close(release)
	if err := <-leaderErr; err != nil {
		t.Errorf("leader: %v", err)
	}
}

// A panic in the inner manager reaches its caller; waiters get an error,
// and later requests call again.
func TestInnerPanic(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	w := watchWaits(c)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	entered := make(chan struct{})
	inner.before = func(context.Context) error {
		if inner.encCalls.Load() == 1 {
			close(entered)
			if err := w.reach(1); err != nil {
				return err
			}
			panic("inner manager bug")
		}
		return nil
	}
	req := envelope.EncryptionMaterialsRequest{EncryptionContext: ec, PlaintextLength: 1}
	recovered := make(chan any)
	go func() {
		defer func() { recovered <- recover() }()
		mm.GetEncryptionMaterials(bg, req)
	}()
	<-entered
	_, err := mm.GetEncryptionMaterials(bg, req)
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("waiter: %v", err)
	}
	if r := <-recovered; r != "inner manager bug" {
		t.Errorf("the panic did not reach the caller: %v", r)
	}
	if _, err := mm.GetEncryptionMaterials(bg, req); err != nil || inner.encCalls.Load() != 2 {
		t.Errorf("after the panic: %v, %d calls", err, inner.encCalls.Load())
	}
}

// Hits, evictions and expirations from many goroutines at once, under a
// moving clock and a small cache: run with -race.
func TestConcurrentChurn(t *testing.T) {
	clock := newClock()
	inner := newCounting(t)
	c := newCache(t, 4, clock)
	mm := newManager(t, inner, c, cache.ManagerOptions{MaxAge: time.Minute, MaxMessages: 5})
	client := newClient(t, format.AES256GCMHKDFSHA512CommitKey)
	run(t, goroutines, func(i int) error {
		for j := range 10 {
			ecN := map[string]string{"n": fmt.Sprint((i + j) % 8)}
			ct, err := client.EncryptBytes(bg, []byte("churn"), mm, ecN)
			if err != nil {
				return err
			}
			if _, _, err := client.DecryptBytes(bg, ct, mm, nil); err != nil {
				return err
			}
			if i == 0 {
				clock.Advance(10 * time.Second)
				c.RemoveExpired()
			}
		}
		return nil
	})
	st, cs := mm.Stats(), c.Stats()
	if st.Hits+st.Misses != 2*goroutines*10 || cs.Entries > 4 {
		t.Errorf("stats %+v, cache %+v", st, cs)
	}
	// Every entry that left the cache had its key zeroed; those still in
	// it did not.
	zeroed := 0
	for _, m := range inner.enc {
		if isZero(m.PlaintextDataKey) {
			zeroed++
		}
	}
	for _, m := range inner.dec {
		if isZero(m.PlaintextDataKey) {
			zeroed++
		}
	}
	if left := len(inner.enc) + len(inner.dec) - zeroed; left != cs.Entries {
		t.Errorf("%d keys not zeroed, %d entries in the cache", left, cs.Entries)
	}
}
