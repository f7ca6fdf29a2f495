//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"
)

// TestConcurrentKeys runs AES seals and opens and RSA decryptions from 16
// goroutines through keys with few sessions; run it with -race. The keys
// never hold more sessions than they allow.
func TestConcurrentKeys(t *testing.T) {
	cfg := newToken(t, "concurrent")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	a.MaxSessions, r.MaxSessions = 3, 2
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	key := rsaKey(t)
	importRSAKey(t, r, key, false)
	ak, err := OpenAESKey(a)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ak)
	rk, err := OpenRSAKey(r)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, rk)

	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		maxOpen = map[*pool]int{}
	)
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 8 {
				iv, pt, aad := randBytes(12), randBytes(32), []byte{byte(g), byte(i)}
				ct, err := ak.Seal(ctx, iv, pt, aad)
				if err != nil {
					errs <- err
					return
				}
				got, err := ak.Open(ctx, iv, ct, aad)
				if err != nil || !bytes.Equal(got, pt) {
					errs <- errors.Join(errors.New("AES round trip failed"), err)
					return
				}
				if i%4 == 0 {
					rct, _ := rsa.EncryptOAEP(newHash(crypto.SHA1), rand.Reader, &key.PublicKey, pt, nil)
					got, err := rk.DecryptContext(ctx, nil, rct, &rsa.OAEPOptions{Hash: crypto.SHA1})
					if err != nil || !bytes.Equal(got, pt) {
						errs <- errors.Join(errors.New("RSA decryption failed"), err)
						return
					}
				}
				mu.Lock()
				for _, p := range []*pool{ak.tok.pool, rk.tok.pool} {
					p.mu.Lock()
					maxOpen[p] = max(maxOpen[p], p.open)
					p.mu.Unlock()
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if a, r := maxOpen[ak.tok.pool], maxOpen[rk.tok.pool]; a < 1 || a > 3 || r < 1 || r > 2 {
		t.Errorf("the keys had %d and %d sessions open at most; want 1 to 3 and 1 to 2", a, r)
	}
	t.Logf("sessions open at most: %d AES, %d RSA", maxOpen[ak.tok.pool], maxOpen[rk.tok.pool])
}

// TestSessionWaitHonoursContext takes the only session of a key: a second
// caller waits until its context ends, and Close wakes the waiters.
func TestSessionWaitHonoursContext(t *testing.T) {
	cfg := newToken(t, "wait")
	cfg.KeyLabel = "aes"
	cfg.MaxSessions = 1
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	k, err := OpenAESKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	s, err := k.tok.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = k.Seal(ctx, randBytes(12), randBytes(32), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Seal while the only session is busy: %v; want context.DeadlineExceeded", err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if _, err := k.Open(cctx, randBytes(12), randBytes(48), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: %v", err)
	}

	// Give the session back: the next caller gets it.
	k.tok.pool.put(s, false)
	if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); err != nil {
		t.Fatal(err)
	}

	// Close while a caller waits: the waiter gets ErrClosed, and Close
	// waits for the session in use to come back.
	s, err = k.tok.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() {
		_, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil)
		waiter <- err
	}()
	closed := make(chan error, 1)
	time.Sleep(10 * time.Millisecond) // let the waiter wait
	go func() { closed <- k.Close() }()
	if err := <-waiter; !errors.Is(err, ErrClosed) {
		t.Errorf("waiter: %v; want ErrClosed", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a session was in use", err)
	case <-time.After(20 * time.Millisecond):
	}
	k.tok.pool.put(s, false)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	checkNoUsers(t)
}

// TestClosedSessionsAreReopened: a session the token dropped is closed and
// replaced, not handed out again.
func TestFailedSessionsAreReplaced(t *testing.T) {
	cfg := newToken(t, "replace")
	cfg.KeyLabel = "aes"
	cfg.MaxSessions = 1
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	k, err := OpenAESKey(cfg)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, k)
	s, err := k.tok.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	k.tok.mod.ctx.CloseSession(s) // the token forgets it
	k.tok.pool.put(s, false)
	if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); !hasCode(err, p11.CKR_SESSION_HANDLE_INVALID) {
		t.Fatalf("Seal on a dead session: %v", err)
	}
	if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); err != nil {
		t.Fatalf("Seal after the dead session was dropped: %v", err)
	}
}
