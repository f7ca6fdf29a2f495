//go:build cgo

package pkcs11

import (
	"context"
	"errors"
	"fmt"
	"sync"

	p11 "github.com/miekg/pkcs11"
)

// pool holds up to cap(sem) read-only sessions on one token, opened when
// first needed. A PKCS #11 session runs one operation at a time, so each
// caller takes a session for the length of its operation.
type pool struct {
	ctx  *p11.Ctx
	slot uint
	// sem holds one token per session in use or being opened.
	sem chan struct{}
	// done is closed by close, to wake the callers waiting for a session.
	done chan struct{}
	// drained is closed once the pool is closed and no session is in use.
	drained chan struct{}
	// onDrained, when set, is called once by whichever of close and put
	// closes drained, after it has.
	onDrained func()

	mu     sync.Mutex
	idle   []p11.SessionHandle
	open   int // sessions open, idle or in use
	inUse  int // sessions handed out by get and not yet put back
	opened int // successful C_OpenSession calls, ever
	closed bool
}

func newPool(ctx *p11.Ctx, slot uint, max int) *pool {
	return &pool{ctx: ctx, slot: slot, sem: make(chan struct{}, max), done: make(chan struct{}), drained: make(chan struct{})}
}

// get returns an idle session or opens one, waiting while all are in use.
// It gives up when ctx is done or the pool is closed. Every session it
// returns must be given back with put.
func (p *pool) get(ctx context.Context) (p11.SessionHandle, error) {
	select {
	case <-p.done:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, fmt.Errorf("esdk/pkcs11: waiting for a session: %w", ctx.Err())
	default:
	}
	select {
	case p.sem <- struct{}{}:
	case <-p.done:
		return 0, ErrClosed
	case <-ctx.Done():
		return 0, fmt.Errorf("esdk/pkcs11: waiting for a session: %w", ctx.Err())
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return 0, ErrClosed
	}
	p.inUse++
	if n := len(p.idle); n > 0 {
		s := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.open++
	p.mu.Unlock()
	s, err := p.ctx.OpenSession(p.slot, p11.CKF_SERIAL_SESSION)
	if err != nil {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
		p.release()
		return 0, ckrErr("C_OpenSession", err)
	}
	p.mu.Lock()
	p.opened++
	p.mu.Unlock()
	return s, nil
}

// put gives back a session from get. It is kept for the next caller when
// reuse is set and the pool is open; otherwise it is closed.
func (p *pool) put(s p11.SessionHandle, reuse bool) {
	p.mu.Lock()
	if !reuse || p.closed {
		p.open--
		p.mu.Unlock()
		p.ctx.CloseSession(s)
	} else {
		p.idle = append(p.idle, s)
		p.mu.Unlock()
	}
	p.release()
}

// release ends the use of a slot taken by get, and closes drained when it
// was the last in use of a closed pool.
func (p *pool) release() {
	p.mu.Lock()
	p.inUse--
	last := p.closed && p.inUse == 0
	if last {
		close(p.drained)
	}
	p.mu.Unlock()
	<-p.sem
	if last && p.onDrained != nil {
		p.onDrained()
	}
}

// do runs f with a session from the pool and gives the session back
// however f ends. The session is kept after f succeeds, and after a
// refusal of the data it was given once the token shows that the
// operation is over (see finished). After any other error, or a panic,
// which goes on up the stack, it is closed: it may be broken, or hold an
// operation that would make the next caller's fail.
func (p *pool) do(ctx context.Context, f func(p11.SessionHandle) error) error {
	s, err := p.get(ctx)
	if err != nil {
		return err
	}
	reuse := false
	defer func() { p.put(s, reuse) }()
	err = f(s)
	reuse = err == nil || p.finished(s, err)
	return err
}

// finished reports whether err, from an operation in session s, is the
// token refusing the data of a single-part C_Encrypt or C_Decrypt (a
// ciphertext that does not authenticate or decrypt, a length out of
// range) and s is left with no operation active, so that it can serve
// the next caller.
//
// Whether err is a refusal is decided by refused, which the keyrings use
// too to tell a message that is not theirs from a token that fails: a
// session is closed exactly after the errors that a keyring reports as a
// failure. PKCS #11 says that C_Encrypt and C_Decrypt end the operation
// whatever they return except CKR_BUFFER_TOO_SMALL (or CKR_OK to a length
// query); rather than trust the token with that, finished asks it: the
// same function called again must say CKR_OPERATION_NOT_INITIALIZED. That
// call costs no cryptography, and less than the C_OpenSession that
// closing the session would cost the next caller.
func (p *pool) finished(s p11.SessionHandle, err error) bool {
	var e *Error
	if !refused(err) || !errors.As(err, &e) {
		return false
	}
	var probe error
	switch e.Func {
	case "C_Decrypt":
		var out []byte
		out, probe = p.ctx.Decrypt(s, []byte{0})
		clear(out)
	case "C_Encrypt":
		_, probe = p.ctx.Encrypt(s, []byte{0})
	default:
		return false
	}
	return hasCode(probe, p11.CKR_OPERATION_NOT_INITIALIZED)
}

// isClosed reports whether close was called.
func (p *pool) isClosed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// close refuses new callers: those waiting for a session get ErrClosed.
// Sessions in use are closed as they come back; drained is closed when
// the last has (now, if none is in use). It does not wait.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	last := p.inUse == 0
	if last {
		close(p.drained)
	}
	p.mu.Unlock()
	if last && p.onDrained != nil {
		p.onDrained()
	}
}

// closeIdle closes the idle sessions. After close, it is called once the
// pool is drained.
func (p *pool) closeIdle() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	var errs []error
	for _, s := range idle {
		if err := p.ctx.CloseSession(s); err != nil {
			errs = append(errs, ckrErr("C_CloseSession", err))
		}
	}
	return errors.Join(errs...)
}

// inUseCount returns the number of sessions in use.
func (p *pool) inUseCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}
