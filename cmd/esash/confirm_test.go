package main

import (
	"context"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// TestConfirmDeadlineWhileRunning drives the path the appliance's ticker
// takes when a confirmed commit's deadline passes while it runs (the
// restart path is in testdata/script/commit_confirmed.txtar): the revert
// is a new revision applied through the running services' Prepare.
func TestConfirmDeadlineWhileRunning(t *testing.T) {
	t.Setenv("ESASH_FACTORY_IP", nextLoopback())
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	a, err := openAppliance(options{dataDir: t.TempDir(), now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := a.db.Head()
	d := store.NewDraft(a.db, "alice", "ssh:127.0.0.1")
	if err := d.Update(func(c *config.Config) error { c.Hostname = "risky.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	deadline := now.Add(time.Minute)
	res, err := d.CommitConfirmed(context.Background(), "risky", true, deadline, a.prepare)
	if err != nil {
		t.Fatal(err)
	}
	if a.revertIfDue(context.Background(), func() time.Time { return deadline.Add(-time.Second) }, "early") {
		t.Fatal("reverted before the deadline")
	}
	if !a.revertIfDue(context.Background(), func() time.Time { return deadline }, "not confirmed in time") {
		t.Fatal("not reverted at the deadline")
	}
	h := a.db.Head()
	if h.Rev != res.Rev+1 || h.Config.Hostname != before.Config.Hostname || h.Meta.Kind != store.KindConfirmRevert {
		t.Fatalf("after the deadline: rev %d hostname %q kind %q", h.Rev, h.Config.Hostname, h.Meta.Kind)
	}
	if _, ok := a.db.Pending(); ok {
		t.Error("still pending")
	}
}

// The watcher's goroutine is owned: Close stops it and waits for it.
func TestConfirmWatcherClose(t *testing.T) {
	t.Setenv("ESASH_FACTORY_IP", nextLoopback())
	dir := t.TempDir()
	a, err := openAppliance(options{dataDir: dir, now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w := a.watchConfirm(time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-w.done:
	default:
		t.Fatal("Close returned while the watcher still ran")
	}
}
