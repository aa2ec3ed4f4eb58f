package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"esash/config"
)

// TestCommitConfirmed covers CM-7, CM-8 and CM-9 of the reliability
// reference: the automatic revert, the revert at boot, and other
// administrators' commits refused while a confirmation is pending.
func TestCommitConfirmed(t *testing.T) {
	ctx := context.Background()

	t.Run("revert makes a new revision equal to the earlier one", func(t *testing.T) {
		db, _ := newDB(t)
		before := db.Head()
		d := NewDraft(db, "alice", "ssh:127.0.0.1")
		stage(t, d, func(c *config.Config) { c.Hostname = "risky.example.com" })
		res, err := d.CommitConfirmed(ctx, "risky", true, testNow.Add(10*time.Minute), nil)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := db.Pending()
		if !ok || p.Rev != res.Rev || p.Prev != before.Rev || p.User != "alice" {
			t.Fatalf("pending = %+v, %v", p, ok)
		}
		applied := 0
		rr, err := db.RevertPending(ctx, "not confirmed", func(context.Context, *config.Config) (func(), func(), error) {
			return func() { applied++ }, func() {}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if rr.Rev != res.Rev+1 || rr.Snapshot.Meta.Kind != KindConfirmRevert || applied != 1 {
			t.Fatalf("revert: rev %d kind %q applied %d", rr.Rev, rr.Snapshot.Meta.Kind, applied)
		}
		assertSame(t, "reverted head", db.Head().Config, before.Config)
		if _, ok := db.Pending(); ok {
			t.Error("still pending after the revert")
		}
		if _, err := db.RevertPending(ctx, "again", nil); !errors.Is(err, ErrNoPending) {
			t.Errorf("second revert: %v", err)
		}
	})

	t.Run("confirm keeps it", func(t *testing.T) {
		db, _ := newDB(t)
		d := NewDraft(db, "alice", "console")
		stage(t, d, func(c *config.Config) { c.Hostname = "kept.example.com" })
		if _, err := d.CommitConfirmed(ctx, "kept", true, testNow.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Confirm("bob", "console"); !errors.Is(err, ErrPending) {
			t.Errorf("confirm by another user: %v", err)
		}
		if _, err := db.Confirm("alice", "console"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.RevertPending(ctx, "late", nil); !errors.Is(err, ErrNoPending) {
			t.Errorf("revert after confirm: %v", err)
		}
		if db.Head().Config.Hostname != "kept.example.com" {
			t.Errorf("head %q", db.Head().Config.Hostname)
		}
	})

	t.Run("others are refused while pending, naming the owner", func(t *testing.T) {
		db, _ := newDB(t)
		alice := NewDraft(db, "alice", "console")
		bob := NewDraft(db, "bob", "console")
		stage(t, alice, func(c *config.Config) { c.Hostname = "a.example.com" })
		stage(t, bob, func(c *config.Config) { c.Alerts.From = "x@example.com" })
		if _, err := alice.CommitConfirmed(ctx, "a", true, testNow.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		_, err := bob.Commit(ctx, "b", true, nil)
		var pe *PendingError
		if !errors.As(err, &pe) || pe.Pending.User != "alice" {
			t.Fatalf("bob's commit while pending: %v", err)
		}
		// The owner may commit again; a plain commit confirms.
		stage(t, alice, func(c *config.Config) { c.Hostname = "a2.example.com" })
		if _, err := alice.Commit(ctx, "a2", true, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := db.Pending(); ok {
			t.Error("a plain commit by the owner did not confirm")
		}
		if _, err := bob.Commit(ctx, "b", true, nil); err != nil {
			t.Errorf("bob after confirmation: %v", err)
		}
	})

	t.Run("pending survives a restart and reverts to before the first unconfirmed commit", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "config.db")
		db := openDB(t, path, Options{})
		before := db.Head()
		d := NewDraft(db, "alice", "console")
		stage(t, d, func(c *config.Config) { c.Hostname = "one.example.com" })
		if _, err := d.CommitConfirmed(ctx, "one", true, testNow.Add(time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		stage(t, d, func(c *config.Config) { c.Hostname = "two.example.com" })
		if _, err := d.CommitConfirmed(ctx, "two", true, testNow.Add(2*time.Minute), nil); err != nil {
			t.Fatal(err)
		}
		db.Close()
		db2, err := Open(path, Options{Factory: noFactory(t), Now: newClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		p, ok := db2.Pending()
		if !ok || p.Prev != before.Rev || !p.Deadline.Equal(testNow.Add(2*time.Minute)) {
			t.Fatalf("after reopen: %+v %v", p, ok)
		}
		if _, err := db2.RevertPending(ctx, "reverted at boot", nil); err != nil {
			t.Fatal(err)
		}
		if h := db2.Head(); h.Config.Hostname != before.Config.Hostname || h.Meta.Comment != "reverted at boot" {
			t.Errorf("head after boot revert: %q %q", h.Config.Hostname, h.Meta.Comment)
		}
		log, _ := db2.AuditLog(10)
		if len(log) == 0 || log[0].Action != KindConfirmRevert {
			t.Errorf("audit: %+v", log)
		}
	})
}
