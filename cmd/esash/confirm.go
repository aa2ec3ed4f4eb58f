package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"esash/shell"
)

// confirmWatcher reverts a confirmed commit whose deadline passed: at
// once when the appliance starts after it (the deadline survived a
// restart), else when the deadline comes. Its goroutine is its own: Close
// stops it and waits, a revert in progress included.
type confirmWatcher struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (a *appliance) watchConfirm(now func() time.Time) *confirmWatcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &confirmWatcher{cancel: cancel, done: make(chan struct{})}
	if a.revertIfDue(ctx, now, "reverted at boot") {
		fmt.Fprintln(os.Stderr, "esash: a confirmed commit was not confirmed in time and was rolled back at start")
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.revertIfDue(ctx, now, "not confirmed in time")
			}
		}
	}()
	return w
}

// Close stops the watcher and waits for it; when ctx ends first (a revert
// still applying) it says so.
func (w *confirmWatcher) Close(ctx context.Context) error {
	w.cancel()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("commit-confirmed watcher: close: abandoned a revert in progress: %w", ctx.Err())
	}
}

func (a *appliance) revertIfDue(ctx context.Context, now func() time.Time, why string) bool {
	p, ok := a.db.Pending()
	if !ok || now().Before(p.Deadline) {
		return false
	}
	reason := fmt.Sprintf("Automatic rollback of revision %d by %s: %s (deadline %s)", p.Rev, p.User, why, shell.Stamp(p.Deadline))
	if _, err := a.db.RevertPending(ctx, reason, a.prepare); err != nil {
		a.cliLog.Criticalf("confirmed commit: revert of revision %d failed: %v", p.Rev, err)
		return false
	}
	a.cliLog.Warningf("%s", reason)
	return true
}
