// Package lifecycle is the one contract every long-running part of the
// appliance keeps (the MTA, SSH, HTTPS, the console acceptor, the
// commit-confirmed watcher), and the supervisor cmd/esash runs them under.
//
// The contract:
//
//   - A service that follows the configuration takes each new generation
//     in two steps (Preparer): Prepare readies it beside the running one
//     and fails without disturbing it; then exactly one of activate
//     (publish it) and abort (release what was prepared) is called. This is
//     the store's PrepareFunc shape, so a commit applies to all services or
//     to none.
//   - Every service owns each goroutine it starts, sessions of older
//     generations included. Close(ctx) waits for all of them; when ctx
//     ends first it cuts what is left (closes its connections) and returns
//     an error naming the service and what it abandoned, wrapping ctx's
//     error ("mta: close: abandoned 2 sessions of generation 3: context
//     deadline exceeded"). Close after Close returns nil.
//   - Methods that take a ctx honour it.
//
// Why a package of its own: cmd/esash supervises the services, and the
// services must not import cmd (deps_test.go); this package imports no
// project package, so any of them may name the contract.
package lifecycle

import (
	"context"
	"errors"
	"sync"
)

// Preparer takes a new configuration generation of type C; see the
// package comment.
type Preparer[C any] interface {
	Prepare(ctx context.Context, cfg C) (activate, abort func(), err error)
}

// Closer ends a service and everything it started; see the package
// comment.
type Closer interface {
	Close(ctx context.Context) error
}

// CloserFunc adapts a function to Closer.
type CloserFunc func(ctx context.Context) error

// Close calls f.
func (f CloserFunc) Close(ctx context.Context) error { return f(ctx) }

// Supervisor closes the services it was told about in the reverse of the
// order they started (a service may use the ones started before it, never
// the ones after), collects their errors and logs each abandonment.
type Supervisor struct {
	log func(format string, args ...any)

	mu       sync.Mutex
	services []service
	closed   bool
}

type service struct {
	name string
	c    Closer
}

// NewSupervisor returns a supervisor that logs through log (nil: silent).
func NewSupervisor(log func(format string, args ...any)) *Supervisor {
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Supervisor{log: log}
}

// ErrClosed is the error of Started after Close.
var ErrClosed = errors.New("lifecycle: supervisor closed")

// Started records that the service called name is running and must be
// closed by Close. After Close it closes c at once and returns ErrClosed
// joined with c's error, so that nothing started late outlives shutdown.
func (s *Supervisor) Started(name string, c Closer) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.Join(ErrClosed, c.Close(context.Background()))
	}
	s.services = append(s.services, service{name, c})
	s.mu.Unlock()
	return nil
}

// Close closes every service, the last started first, each under ctx, and
// returns their errors joined (nil when all finished in time).
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	svcs := s.services
	s.services, s.closed = nil, true
	s.mu.Unlock()
	var errs []error
	for i := len(svcs) - 1; i >= 0; i-- {
		// Errors name their service already (the contract).
		if err := svcs[i].c.Close(ctx); err != nil {
			s.log("shutdown of %s: %v", svcs[i].name, err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
