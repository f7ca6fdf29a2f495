//go:build cgo

package pkcs11

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	p11 "github.com/miekg/pkcs11"

	"github.com/go-esdk/esdk/format"
	"github.com/go-esdk/esdk/keyring"
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
	k.tok.pool.put(s, true)
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
	k.tok.pool.put(s, true)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	checkNoUsers(t)
}

// TestFailedSessionsAreReplaced: a session the token dropped is closed and
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
	k.tok.pool.put(s, true)
	if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); !hasCode(err, p11.CKR_SESSION_HANDLE_INVALID) {
		t.Fatalf("Seal on a dead session: %v", err)
	}
	if _, err := k.Seal(context.Background(), randBytes(12), randBytes(32), nil); err != nil {
		t.Fatalf("Seal after the dead session was dropped: %v", err)
	}
}

// TestPanicInOperation: an operation that panics gives its session back,
// closed rather than kept, and the panic goes on to the caller; later
// operations get a session at once, and Close returns.
func TestPanicInOperation(t *testing.T) {
	cfg := newToken(t, "panic")
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
	var panicked p11.SessionHandle
	recovered := func() (r any) {
		defer func() { r = recover() }()
		k.tok.pool.do(context.Background(), func(s p11.SessionHandle) error {
			panicked = s
			panic("operation panicked")
		})
		return nil
	}()
	if recovered != "operation panicked" {
		t.Fatalf("recovered %v; want the operation's own panic", recovered)
	}
	if _, err := k.tok.mod.ctx.GetSessionInfo(panicked); !hasCode(err, p11.CKR_SESSION_HANDLE_INVALID) {
		t.Errorf("the session of the operation that panicked: C_GetSessionInfo says %v; want it closed", err)
	}

	// The only session is free: the next operations do not wait. The
	// deadline only turns a hang into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	iv, pt := randBytes(12), randBytes(32)
	ct, err := k.Seal(ctx, iv, pt, nil)
	if err != nil {
		t.Fatalf("Seal after a panic: %v", err)
	}
	if got, err := k.Open(ctx, iv, ct, nil); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Open after a panic: %x, %v", got, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- k.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close blocked after an operation panicked")
	}
	checkNoUsers(t)
	checkNoGoroutines(t)
}

// TestShutdownEndsWithContext: Shutdown while an operation holds a
// session returns the context's error once it ends; the key is closed to
// new operations meanwhile, and when the operation gives its session
// back the rest is released, with no goroutine left behind.
func TestShutdownEndsWithContext(t *testing.T) {
	cfg := newToken(t, "shutdown")
	cfg.KeyLabel = "aes"
	cfg.MaxSessions = 2
	if err := GenerateAESKey(cfg, 32); err != nil {
		t.Fatal(err)
	}
	kr, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "aes", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, kr)
	// An operation in progress holds a session.
	s, err := kr.Key().tok.pool.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	err = kr.Shutdown(cancelled)
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "esdk/pkcs11: ") || !strings.Contains(err.Error(), "an operation in progress") {
		t.Fatalf("Shutdown with a cancelled context while a session is in use: %v; want context.Canceled", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := kr.Key().Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown whose deadline passes while a session is in use: %v; want context.DeadlineExceeded", err)
	}
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	if err := kr.OnDecrypt(context.Background(), &keyring.DecryptionMaterials{Suite: suite}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("OnDecrypt after Shutdown: %v; want ErrClosed", err)
	}
	if _, err := kr.Key().Seal(context.Background(), randBytes(12), randBytes(32), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Seal after Shutdown: %v; want ErrClosed", err)
	}
	modules.Lock()
	users := kr.Key().tok.mod.users
	modules.Unlock()
	if users != 1 {
		t.Errorf("the module has %d users while an operation runs; want 1 (not finalized under it)", users)
	}

	// The operation ends: giving its session back releases the rest.
	kr.Key().tok.pool.put(s, true)
	checkNoUsers(t)
	if err := kr.Shutdown(cancelled); err != nil {
		t.Errorf("Shutdown after the release: %v", err)
	}
	if err := kr.Close(); err != nil {
		t.Errorf("Close after the release: %v", err)
	}
	checkNoGoroutines(t)
}

// TestHostileKeysKeepSessions: encrypted data keys that the token refuses
// (an AES-GCM tag that does not match, an RSA ciphertext that does not
// decrypt) do not cost a C_OpenSession each: the session is kept once the
// token shows that the operation is over.
func TestHostileKeysKeepSessions(t *testing.T) {
	cfg := newToken(t, "hostile")
	a, r := cfg, cfg
	a.KeyLabel, r.KeyLabel = "aes", "rsa"
	a.MaxSessions, r.MaxSessions = 2, 2
	if err := GenerateAESKey(a, 32); err != nil {
		t.Fatal(err)
	}
	importRSAKey(t, r, rsaKey(t), false)
	ak, err := NewAESKeyring(AESKeyringOptions{Namespace: "esdk-test", Name: "aes", Config: a})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, ak)
	rk, err := NewRSAKeyring(RSAKeyringOptions{Namespace: "esdk-test", Name: "rsa", Padding: keyring.OAEPSHA1, Config: r})
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, rk)
	suite := format.MustSuite(format.AES256GCMHKDFSHA512CommitKey)
	ctx := context.Background()
	const hostile = 200
	for _, c := range []struct {
		name string
		kr   keyring.Keyring
		pool *pool
	}{{"AES", ak, ak.Key().tok.pool}, {"RSA", rk, rk.Key().tok.pool}} {
		em := &keyring.EncryptionMaterials{Suite: suite}
		if err := c.kr.OnEncrypt(ctx, em); err != nil {
			t.Fatal(err)
		}
		good := em.EncryptedDataKeys[0]
		before := opened(c.pool)
		for range hostile / 10 {
			edks := make([]format.EncryptedDataKey, 10)
			for i := range edks {
				edks[i] = good
				edks[i].Ciphertext = randBytes(len(good.Ciphertext))
			}
			err := c.kr.OnDecrypt(ctx, &keyring.DecryptionMaterials{Suite: suite}, edks)
			if !errors.Is(err, keyring.ErrNoMatchingKey) {
				t.Fatalf("%s: hostile data keys: %v; want ErrNoMatchingKey", c.name, err)
			}
		}
		dm := &keyring.DecryptionMaterials{Suite: suite}
		if err := c.kr.OnDecrypt(ctx, dm, em.EncryptedDataKeys); err != nil || !bytes.Equal(dm.PlaintextDataKey, em.PlaintextDataKey) {
			t.Fatalf("%s: the real data key after the hostile ones: %v", c.name, err)
		}
		after := opened(c.pool)
		t.Logf("%s: %d hostile data keys and one real one: %d C_OpenSession", c.name, hostile, after-before)
		if after != before {
			t.Errorf("%s: %d hostile data keys cost %d C_OpenSession; want none", c.name, hostile, after-before)
		}
	}
}

// TestRefusalWithOperationActive: a refusal of C_Decrypt or C_Encrypt
// after which the token still has the operation active (a token that does
// not end it as PKCS #11 says) closes the session, as do a session- or
// device-class error and an error that holds no PKCS #11 code; a refusal
// whose operation is over keeps it.
func TestRefusalWithOperationActive(t *testing.T) {
	cfg := newToken(t, "active")
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
	ctx := context.Background()
	p := k.tok.pool
	decrypt := func(s p11.SessionHandle, ct []byte) error {
		params := p11.NewGCMParams(randBytes(12), nil, 128)
		defer params.Free()
		if err := k.tok.mod.ctx.DecryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, k.obj.handle()); err != nil {
			t.Fatal(err)
		}
		if ct == nil {
			return nil // leave the operation active
		}
		_, err := k.tok.mod.ctx.Decrypt(s, ct)
		return ckrErr("C_Decrypt", err)
	}
	encrypt := func(s p11.SessionHandle, finish bool) {
		params := p11.NewGCMParams(randBytes(12), nil, 128)
		defer params.Free()
		if err := k.tok.mod.ctx.EncryptInit(s, []*p11.Mechanism{p11.NewMechanism(p11.CKM_AES_GCM, params)}, k.obj.handle()); err != nil {
			t.Fatal(err)
		}
		if finish {
			if _, err := k.tok.mod.ctx.Encrypt(s, randBytes(32)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name string
		op   func(p11.SessionHandle) error
		kept bool
	}{
		{"refused, operation over", func(s p11.SessionHandle) error { return decrypt(s, randBytes(48)) }, true},
		{"refused, operation active", func(s p11.SessionHandle) error {
			decrypt(s, nil)
			return &Error{Func: "C_Decrypt", Code: p11.CKR_ENCRYPTED_DATA_INVALID}
		}, false},
		{"encryption refused, operation over", func(s p11.SessionHandle) error {
			encrypt(s, true)
			return &Error{Func: "C_Encrypt", Code: p11.CKR_DATA_LEN_RANGE}
		}, true},
		{"encryption refused, operation active", func(s p11.SessionHandle) error {
			encrypt(s, false)
			return &Error{Func: "C_Encrypt", Code: p11.CKR_DATA_LEN_RANGE}
		}, false},
		{"device error", func(s p11.SessionHandle) error { return &Error{Func: "C_Decrypt", Code: p11.CKR_DEVICE_ERROR} }, false},
		{"not a PKCS #11 error", func(s p11.SessionHandle) error { return errors.New("esdk/pkcs11: something else") }, false},
	} {
		var used p11.SessionHandle
		before := opened(p)
		err := p.do(ctx, func(s p11.SessionHandle) error {
			used = s
			return c.op(s)
		})
		if err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		_, infoErr := k.tok.mod.ctx.GetSessionInfo(used)
		if kept := infoErr == nil; kept != c.kept {
			t.Errorf("%s: session kept %v (C_GetSessionInfo: %v); want %v", c.name, kept, infoErr, c.kept)
		}
		iv, pt := randBytes(12), randBytes(32)
		ct, err := k.Seal(ctx, iv, pt, nil)
		if err != nil {
			t.Fatalf("%s: Seal after it: %v", c.name, err)
		}
		if got, err := k.Open(ctx, iv, ct, nil); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: Open after it: %v", c.name, err)
		}
		if n := opened(p) - before; (n == 0) != c.kept {
			t.Errorf("%s: %d C_OpenSession after it", c.name, n)
		}
	}
}

// opened returns the number of sessions p has opened.
func opened(p *pool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.opened
}

// checkNoGoroutines fails when a goroutine other than the caller's is
// still in code of this package, such as a caller left waiting by Close.
// Goroutines that are ending are given a moment to end.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	var left []string
	for range 200 {
		left = left[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i > 0 && strings.Contains(g, "esdk/keyring/pkcs11.") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("goroutines left in package pkcs11:\n%s", strings.Join(left, "\n\n"))
}
