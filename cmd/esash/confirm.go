package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"esash/shell"
)

// watchConfirm reverts a confirmed commit whose deadline passed: at once
// when the appliance starts after it (the deadline survived a restart),
// else when the deadline comes. It stops when stop is closed.
func (a *appliance) watchConfirm(now func() time.Time, stop <-chan struct{}) {
	if a.revertIfDue(now, "reverted at boot") {
		fmt.Fprintln(os.Stderr, "esash: a confirmed commit was not confirmed in time and was rolled back at start")
	}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				a.revertIfDue(now, "not confirmed in time")
			}
		}
	}()
}

func (a *appliance) revertIfDue(now func() time.Time, why string) bool {
	p, ok := a.db.Pending()
	if !ok || now().Before(p.Deadline) {
		return false
	}
	reason := fmt.Sprintf("Automatic rollback of revision %d by %s: %s (deadline %s)", p.Rev, p.User, why, shell.Stamp(p.Deadline))
	if _, err := a.db.RevertPending(context.Background(), reason, a.prepare); err != nil {
		a.cliLog.Criticalf("confirmed commit: revert of revision %d failed: %v", p.Rev, err)
		return false
	}
	a.cliLog.Warningf("%s", reason)
	return true
}
