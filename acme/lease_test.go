package acme

import (
	"context"
	"sync"
	"testing"
	"time"

	"esash/config"
)

// fakeLease is a lease another member holds until the test releases it.
type fakeLease struct {
	mu        sync.Mutex
	elsewhere bool
	asked     int
	changed   chan struct{}
}

func (l *fakeLease) lease(_ context.Context, profile string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked++
	select {
	case l.changed <- struct{}{}:
	default:
	}
	if l.elsewhere {
		return nil, false, nil
	}
	l.elsewhere = true // ours until release
	return func() { l.mu.Lock(); l.elsewhere = false; l.mu.Unlock() }, true, nil
}

// TestLeaseHeldElsewhere: while another member holds the profile's lease
// the manager does not order (no attempt, so no call to Pebble, no
// failure, no alert) and asks again; once released it orders.
func TestLeaseHeldElsewhere(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	l := &fakeLease{elsewhere: true, changed: make(chan struct{}, 1)}
	var logMu sync.Mutex
	var requested int
	r.m.opts.Lease, r.m.opts.LeaseRetry = l.lease, 50*time.Millisecond
	r.m.opts.Log = func(format string, args ...any) {
		t.Logf(format, args...)
		if format == "ACME: requesting a certificate for profile %s (%v) from %s" {
			logMu.Lock()
			requested++
			logMu.Unlock()
		}
	}
	r.run()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		asked := l.asked
		l.mu.Unlock()
		if asked >= 3 {
			break
		}
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("the lease was asked %d times, want it asked again after LeaseRetry", asked)
		}
	}
	logMu.Lock()
	n := requested
	logMu.Unlock()
	if n != 0 {
		t.Fatalf("%d orders while the lease was held elsewhere", n)
	}
	if st := r.m.Status(); len(st) != 1 || st[0].State != "pending" || st[0].Failures != 0 {
		t.Fatalf("status while the lease is held elsewhere: %+v", st)
	}
	r.mu.Lock()
	failed := len(r.failed)
	r.mu.Unlock()
	if failed != 0 || r.head().ACME.AccountURL != "" {
		t.Fatalf("alerts %d, account %q: the manager talked to the CA", failed, r.head().ACME.AccountURL)
	}
	l.mu.Lock()
	l.elsewhere = false
	l.mu.Unlock()
	st := r.wait("issuance after the lease is released", func(s Status) bool { return s.State == "valid" })
	r.verifyIssued(r.head())
	logMu.Lock()
	n = requested
	logMu.Unlock()
	if n != 1 || st.Failures != 0 {
		t.Fatalf("%d orders, status %+v; want one order", n, st)
	}
}
