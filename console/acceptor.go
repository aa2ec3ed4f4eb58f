package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Acceptor serves the daemon's console socket: every connection on a
// goroutine it owns, until Close (the lifecycle contract, see package
// lifecycle).
type Acceptor struct {
	ln     net.Listener
	serve  func(ctx context.Context, conn net.Conn)
	ctx    context.Context // the consoles': canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and the consoles

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	stopping bool // Serve's ctx ended: no more accepts, consoles go on
}

// NewAcceptor serves the connections of ln with serve, which must return
// when its ctx ends or its connection is closed; the Acceptor closes the
// connection after serve returns.
func NewAcceptor(ln net.Listener, serve func(ctx context.Context, conn net.Conn)) *Acceptor {
	ctx, cancel := context.WithCancel(context.Background())
	return &Acceptor{ln: ln, serve: serve, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
}

// Serve accepts until ctx ends or Close, then returns nil (the consoles
// being served go on until Close); or it returns the listener's error.
// Transient accept errors are retried.
func (a *Acceptor) Serve(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.wg.Add(1)
	a.mu.Unlock()
	defer a.wg.Done()
	defer context.AfterFunc(ctx, func() {
		a.mu.Lock()
		a.stopping = true
		a.mu.Unlock()
		a.ln.Close()
	})()
	for {
		conn, err := a.ln.Accept()
		if err != nil {
			a.mu.Lock()
			done := a.closed || a.stopping
			a.mu.Unlock()
			if done {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !a.track(conn) {
			conn.Close()
			return nil
		}
		go func() {
			defer a.wg.Done()
			defer a.untrack(conn)
			a.serve(a.ctx, conn)
		}()
	}
}

func (a *Acceptor) track(conn net.Conn) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	a.conns[conn] = struct{}{}
	a.wg.Add(1)
	return true
}

func (a *Acceptor) untrack(conn net.Conn) {
	conn.Close()
	a.mu.Lock()
	delete(a.conns, conn)
	a.mu.Unlock()
}

// forceCloseWait bounds the wait for consoles once their connections are
// closed.
const forceCloseWait = 30 * time.Second

// Close stops accepting, ends the consoles' context and waits for them.
// When ctx ends first it closes their connections and returns an error
// naming how many it cut.
func (a *Acceptor) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	err := a.ln.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	a.cancel()
	done := make(chan struct{})
	go func() {
		a.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
	}
	a.mu.Lock()
	n := len(a.conns)
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	select {
	case <-done:
	case <-time.After(forceCloseWait):
		return errors.Join(err, fmt.Errorf("console: close: %d consoles still running %v after their connections were closed: %w", n, forceCloseWait, ctx.Err()))
	}
	if n == 0 {
		return err
	}
	noun := "consoles"
	if n == 1 {
		noun = "console"
	}
	return errors.Join(err, fmt.Errorf("console: close: abandoned %d %s: %w", n, noun, ctx.Err()))
}
