package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-esdk/esdk/cache"
	"github.com/go-esdk/esdk/envelope"
	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
)

// The tests of this file are about requests that wait for another
// request's call to the inner manager: which of them take its error and
// which ask again. They know that their waiters wait through the cache's
// wait hook (watchWaits), not by sleeping.

// A direction makes requests of one direction for one cache id, which
// differ only in their commitment policy. Both policies used here allow
// suite 0x0478 both ways, so that the cache serves every request.
type direction struct {
	ask func(ctx context.Context, mm envelope.MaterialsManager, p envelope.CommitmentPolicy) error
}

func directions(t *testing.T, inner *countingManager) []direction {
	t.Helper()
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ct, err := newClient(t, suite.ID()).EncryptBytes(bg, nil, inner.inner, ec)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := format.ParseHeader(ct, format.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return []direction{
		{func(ctx context.Context, mm envelope.MaterialsManager, p envelope.CommitmentPolicy) error {
			req := envelope.EncryptionMaterialsRequest{EncryptionContext: ec, Suite: suite, CommitmentPolicy: p, PlaintextLength: 1}
			mat, err := mm.GetEncryptionMaterials(ctx, req)
			if err == nil && len(mat.PlaintextDataKey) != suite.KeyLength() {
				err = errors.New("materials without a data key")
			}
			return err
		}},
		{func(ctx context.Context, mm envelope.MaterialsManager, p envelope.CommitmentPolicy) error {
			req := envelope.DecryptionMaterialsRequest{Suite: suite, CommitmentPolicy: p, EncryptedDataKeys: h.EncryptedDataKeys, EncryptionContext: h.EncryptionContext}
			mat, err := mm.DecryptMaterials(ctx, req)
			if err == nil && len(mat.PlaintextDataKey) != suite.KeyLength() {
				err = errors.New("materials without a data key")
			}
			return err
		}},
	}
}

func (m *countingManager) calls() int64 { return m.encCalls.Load() + m.decCalls.Load() }

// gate makes the inner manager's first call wait until release is
// closed, having closed entered, and then fail with leaderErr(ctx) if
// leaderErr is set; later calls pass.
func (m *countingManager) gate(leaderErr func(context.Context) error) (entered, release chan struct{}) {
	entered, release = make(chan struct{}), make(chan struct{})
	m.before = func(ctx context.Context) error {
		if m.calls() != 1 {
			return nil
		}
		close(entered)
		<-release
		if leaderErr != nil {
			return leaderErr(ctx)
		}
		return nil
	}
	return entered, release
}

// A request waiting for a call that failed for a reason of its caller's
// own, its context, asks the inner manager itself and gets materials: when
// the caller's context was canceled, and when the error derives from the
// caller's deadline while the context is still live (a dial that gives up
// early to stay within a deadline returns such an error).
func TestLeaderContextErrorNotShared(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  func(ctx context.Context) error
	}{
		{"canceled", func(ctx context.Context) error {
			<-ctx.Done()
			return fmt.Errorf("calling the key service: %w", ctx.Err())
		}},
		{"deadline", func(ctx context.Context) error {
			if ctx.Err() != nil {
				return errors.New("the test's context ended")
			}
			return fmt.Errorf("dial tcp: the call would not end before its deadline: %w", context.DeadlineExceeded)
		}},
	} {
		for i, name := range []string{"encrypt", "decrypt"} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				inner := newCounting(t)
				d := directions(t, inner)[i]
				c := newCache(t, 10, nil)
				w := watchWaits(c)
				mm := newManager(t, inner, c, cache.ManagerOptions{})
				entered, release := inner.gate(tc.err)

				ctx, cancel := context.WithTimeout(bg, time.Hour)
				defer cancel()
				leaderErr, waiterErr := make(chan error), make(chan error)
				go func() { leaderErr <- d.ask(ctx, mm, envelope.RequireEncryptRequireDecrypt) }()
				<-entered
				go func() { waiterErr <- d.ask(bg, mm, envelope.RequireEncryptRequireDecrypt) }()
				if err := w.reach(1); err != nil {
					t.Fatal(err)
				}
				if tc.name == "canceled" {
					cancel()
				}
				close(release)
				if err := <-leaderErr; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("leader: %v", err)
				}
				if err := <-waiterErr; err != nil {
					t.Errorf("waiter: got %v, want materials of its own call", err)
				}
				want := cache.ManagerStats{Misses: 2, Waits: 1, InnerCalls: 2}
				if st := mm.Stats(); inner.calls() != 2 || st != want {
					t.Errorf("%d inner calls, stats %+v; want 2 and %+v", inner.calls(), st, want)
				}
			})
		}
	}
}

// strictManager refuses decryption materials under any policy but
// RequireEncryptRequireDecrypt, as an inner manager with rules of its own
// may (the cache id does not hold the policy). It asks its inner manager
// first, so that the gate of a countingManager sees every call.
type strictManager struct{ envelope.MaterialsManager }

func (m strictManager) DecryptMaterials(ctx context.Context, req envelope.DecryptionMaterialsRequest) (*keyring.DecryptionMaterials, error) {
	mat, err := m.MaterialsManager.DecryptMaterials(ctx, req)
	if err == nil && req.CommitmentPolicy != envelope.RequireEncryptRequireDecrypt {
		return nil, fmt.Errorf("%w: this manager decrypts under RequireEncryptRequireDecrypt only", envelope.ErrCommitmentPolicy)
	}
	return mat, err
}

// A request refused for its own commitment policy does not fail a waiter
// with another policy, which asks itself and gets materials; a waiter with
// the very same request takes the refusal without a call. On encryption
// the default manager refuses a committing suite under
// ForbidEncryptAllowDecrypt; on decryption a stricter inner manager
// refuses RequireEncryptAllowDecrypt.
func TestLeaderPolicyErrorNotShared(t *testing.T) {
	for i, refused := range []envelope.CommitmentPolicy{envelope.ForbidEncryptAllowDecrypt, envelope.RequireEncryptAllowDecrypt} {
		t.Run([]string{"encrypt", "decrypt"}[i], func(t *testing.T) {
			inner := newCounting(t)
			d := directions(t, inner)[i]
			c := newCache(t, 10, nil)
			w := watchWaits(c)
			mm := newManager(t, strictManager{inner}, c, cache.ManagerOptions{})
			entered, release := inner.gate(nil)

			leaderErr, sameErr, otherErr := make(chan error), make(chan error), make(chan error)
			go func() { leaderErr <- d.ask(bg, mm, refused) }()
			<-entered
			go func() { sameErr <- d.ask(bg, mm, refused) }()
			go func() { otherErr <- d.ask(bg, mm, envelope.RequireEncryptRequireDecrypt) }()
			if err := w.reach(2); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-leaderErr; !errors.Is(err, envelope.ErrCommitmentPolicy) {
				t.Errorf("leader: %v", err)
			}
			if err := <-sameErr; !errors.Is(err, envelope.ErrCommitmentPolicy) {
				t.Errorf("waiter with the leader's request: %v", err)
			}
			if err := <-otherErr; err != nil {
				t.Errorf("waiter with another policy: got %v, want materials", err)
			}
			want := cache.ManagerStats{Misses: 2, Waits: 2, InnerCalls: 2}
			if st := mm.Stats(); inner.calls() != 2 || st != want {
				t.Errorf("%d inner calls, stats %+v; want 2 and %+v", inner.calls(), st, want)
			}
		})
	}
}

// A keyring that is down fails every request once, with one inner call
// for each distinct request and not one for each request: 16 requests
// under one policy share the first call's error, 16 under another ask
// again once and share that call's error. The failure is not cached.
func TestInnerFailureSharedByEqualRequests(t *testing.T) {
	const group = 16
	boom := errors.New("key service unavailable")
	for i, name := range []string{"encrypt", "decrypt"} {
		t.Run(name, func(t *testing.T) {
			inner := newCounting(t)
			d := directions(t, inner)[i]
			c := newCache(t, 10, nil)
			w := watchWaits(c)
			mm := newManager(t, inner, c, cache.ManagerOptions{})
			entered := make(chan struct{})
			inner.before = func(context.Context) error {
				// Each call waits until every request that can wait
				// for it does: all others for the first, the second
				// group's others for the second.
				switch inner.calls() {
				case 1:
					close(entered)
					if err := w.reach(2*group - 1); err != nil {
						return err
					}
				case 2:
					if err := w.reach(2*group - 1 + group - 1); err != nil {
						return err
					}
				}
				return boom
			}
			errs := make(chan error, 2*group)
			ask := func(p envelope.CommitmentPolicy) {
				err := d.ask(bg, mm, p)
				if !errors.Is(err, boom) {
					err = fmt.Errorf("%v: got %v, want the inner error", p, err)
				} else {
					err = nil
				}
				errs <- err
			}
			go ask(envelope.RequireEncryptRequireDecrypt)
			<-entered
			for range group - 1 {
				go ask(envelope.RequireEncryptRequireDecrypt)
			}
			for range group {
				go ask(envelope.RequireEncryptAllowDecrypt)
			}
			for range 2 * group {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
			want := cache.ManagerStats{Misses: 2, Waits: 2*group - 1, InnerCalls: 2}
			if st := mm.Stats(); inner.calls() != 2 || st != want {
				t.Errorf("%d inner calls, stats %+v; want 2 and %+v", inner.calls(), st, want)
			}

			inner.before = nil
			if err := d.ask(bg, mm, envelope.RequireEncryptRequireDecrypt); err != nil || inner.calls() != 3 {
				t.Errorf("with the keyring back: %v, %d inner calls", err, inner.calls())
			}
		})
	}
}

// Managers sharing a partition share their flights, but not their inner
// managers' errors: a request of a manager whose keyring works, waiting
// for a call of another manager whose keyring is down, asks its own.
func TestOtherManagersErrorNotShared(t *testing.T) {
	down, up := newCounting(t), newCounting(t)
	c := newCache(t, 10, nil)
	w := watchWaits(c)
	a := newManager(t, down, c, cache.ManagerOptions{Partition: "shared"})
	b := newManager(t, up, c, cache.ManagerOptions{Partition: "shared"})
	boom := errors.New("key service unavailable")
	entered, release := down.gate(func(context.Context) error { return boom })
	ask := directions(t, down)[0].ask

	aErr, bErr := make(chan error), make(chan error)
	go func() { aErr <- ask(bg, a, envelope.RequireEncryptRequireDecrypt) }()
	<-entered
	go func() { bErr <- ask(bg, b, envelope.RequireEncryptRequireDecrypt) }()
	if err := w.reach(1); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-aErr; !errors.Is(err, boom) {
		t.Errorf("the manager whose keyring is down: %v", err)
	}
	if err := <-bErr; err != nil {
		t.Errorf("the manager whose keyring works: got %v, want materials", err)
	}
	if down.calls() != 1 || up.calls() != 1 || b.Stats() != (cache.ManagerStats{Misses: 1, Waits: 1, InnerCalls: 1}) {
		t.Errorf("inner calls %d and %d, stats %+v", down.calls(), up.calls(), b.Stats())
	}
}

// A context error under a leader's context that can never end is the
// inner manager's own (a client timeout, say), and a waiter with the same
// request takes it as it would any failure of the inner manager.
func TestInnerTimeoutSharedUnderBackground(t *testing.T) {
	inner := newCounting(t)
	c := newCache(t, 10, nil)
	w := watchWaits(c)
	mm := newManager(t, inner, c, cache.ManagerOptions{})
	timeout := fmt.Errorf("key service: client timeout: %w", context.DeadlineExceeded)
	entered, release := inner.gate(func(context.Context) error { return timeout })
	ask := directions(t, inner)[0].ask

	leaderErr, waiterErr := make(chan error), make(chan error)
	go func() { leaderErr <- ask(bg, mm, envelope.RequireEncryptRequireDecrypt) }()
	<-entered
	go func() { waiterErr <- ask(bg, mm, envelope.RequireEncryptRequireDecrypt) }()
	if err := w.reach(1); err != nil {
		t.Fatal(err)
	}
	close(release)
	for _, ch := range []chan error{leaderErr, waiterErr} {
		if err := <-ch; !errors.Is(err, timeout) {
			t.Errorf("got %v, want the inner manager's timeout", err)
		}
	}
	if inner.calls() != 1 {
		t.Errorf("%d inner calls, want 1", inner.calls())
	}
}
