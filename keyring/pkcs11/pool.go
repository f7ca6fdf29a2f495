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

	mu     sync.Mutex
	idle   []p11.SessionHandle
	open   int // sessions open, idle or in use
	closed bool
}

func newPool(ctx *p11.Ctx, slot uint, max int) *pool {
	return &pool{ctx: ctx, slot: slot, sem: make(chan struct{}, max), done: make(chan struct{})}
}

// get returns an idle session or opens one, waiting while all are in use.
// It gives up when ctx is done or the pool is closed.
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
		<-p.sem
		return 0, ckrErr("C_OpenSession", err)
	}
	return s, nil
}

// put gives back a session from get. A session whose operation failed is
// closed rather than kept: the failure may have left an operation active
// or the session unusable.
func (p *pool) put(s p11.SessionHandle, failed bool) {
	p.mu.Lock()
	if failed || p.closed {
		p.open--
		p.mu.Unlock()
		p.ctx.CloseSession(s)
	} else {
		p.idle = append(p.idle, s)
		p.mu.Unlock()
	}
	<-p.sem
}

// do runs f with a session from the pool.
func (p *pool) do(ctx context.Context, f func(p11.SessionHandle) error) error {
	s, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = f(s)
	p.put(s, err != nil)
	return err
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

// close waits for the sessions in use to come back, then closes them all.
// Callers waiting for a session get ErrClosed.
func (p *pool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	// Take every slot: each in-flight operation gives its back when done.
	for range cap(p.sem) {
		p.sem <- struct{}{}
	}
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
