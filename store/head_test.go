package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"esash/config"
)

// readLimit bounds how long the head tests wait for a reader that should
// not be waiting at all. It is no latency assertion: a reader that takes
// the commit lock never finishes while the commit is held, however long
// the test waits, and a busy machine is given plenty of room.
const readLimit = 30 * time.Second

// heldCommit is a commit that blocks inside its prepare or activate step
// until released.
type heldCommit struct {
	entered chan struct{} // closed when the commit reaches the held step
	release chan struct{} // close to let the commit go on
	done    chan error    // the commit's result
	res     Result
}

// startHeldCommit commits a hostname change in the background and holds
// it in the given step ("prepare" or "activate").
func startHeldCommit(t *testing.T, db *DB, step, hostname string) *heldCommit {
	t.Helper()
	h := &heldCommit{entered: make(chan struct{}), release: make(chan struct{}), done: make(chan error, 1)}
	hold := func() {
		close(h.entered)
		<-h.release
	}
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) { c.Hostname = hostname })
	go func() {
		res, err := d.Commit(context.Background(), "held", false, func(context.Context, *config.Config) (func(), func(), error) {
			if step == "prepare" {
				hold()
				return func() {}, func() {}, nil
			}
			return hold, func() {}, nil
		})
		h.res = res
		h.done <- err
	}()
	<-h.entered
	return h
}

// finish releases the commit and returns its result.
func (h *heldCommit) finish(t *testing.T) Result {
	t.Helper()
	close(h.release)
	if err := <-h.done; err != nil {
		t.Fatalf("held commit: %v", err)
	}
	return h.res
}

// headReads are what a login and a prompt ask of the store: the head
// (sshd's credential check, the prompt's hostname), a fresh draft and its
// refresh (every main prompt), the pending confirmation, the current
// revision's configuration and the newest history entries.
var headReads = []struct {
	name string
	read func(db *DB) uint64 // returns the revision it saw, 0 if none
}{
	{"Head", func(db *DB) uint64 { return db.Head().Rev }},
	{"NewDraft and Refresh", func(db *DB) uint64 {
		d := NewDraft(db, "bob", "ssh:127.0.0.1")
		d.Refresh()
		return d.Base().Rev
	}},
	{"Pending", func(db *DB) uint64 { db.Pending(); return 0 }},
	{"ConfigAt head", func(db *DB) uint64 {
		rev := db.Head().Rev
		if _, err := db.ConfigAt(rev); err != nil {
			return 0
		}
		return rev
	}},
	{"Revisions", func(db *DB) uint64 {
		revs, err := db.Revisions(1)
		if err != nil || len(revs) == 0 {
			return 0
		}
		return revs[0].Rev
	}},
}

// TestHeadDoesNotWaitForCommit is issue 18's reproduced defect: readers of
// the head waited for a whole commit, prepare step included, because Head
// took the commit lock. Each read must complete while a commit is provably
// held in its prepare or its activate step, and see the revision before it:
// a revision is visible only once it is durable and activated.
func TestHeadDoesNotWaitForCommit(t *testing.T) {
	for _, step := range []string{"prepare", "activate"} {
		for _, rd := range headReads {
			t.Run(step+"/"+rd.name, func(t *testing.T) {
				db, _ := newDB(t)
				before := db.Head()
				held := startHeldCommit(t, db, step, "held.example.com")
				seen := make(chan uint64, 1)
				go func() { seen <- rd.read(db) }()
				select {
				case rev := <-seen:
					// Revisions reads bbolt: it lists what is durable,
					// so it sees the held revision once it is written.
					if rev != 0 && rev != before.Rev && rd.name != "Revisions" {
						t.Errorf("%s saw revision %d during the held commit, want %d", rd.name, rev, before.Rev)
					}
				case <-time.After(readLimit):
					t.Errorf("%s waited for a commit held in %s", rd.name, step)
					held.finish(t)
					return
				}
				if h := db.Head(); h.Rev != before.Rev || h.Config.Hostname == "held.example.com" {
					t.Errorf("head = revision %d %q before the commit finished", h.Rev, h.Config.Hostname)
				}
				res := held.finish(t)
				if h := db.Head(); h.Rev != res.Rev || h.Config.Hostname != "held.example.com" {
					t.Errorf("head = revision %d %q after the commit, want %d held.example.com", h.Rev, h.Config.Hostname, res.Rev)
				}
			})
		}
	}
}

// TestHeadNeverShowsFailedCommit: a commit whose prepare fails, or whose
// revision cannot be written, leaves the published head as it was, even
// to a reader that looks while the commit runs.
func TestHeadNeverShowsFailedCommit(t *testing.T) {
	db, _ := newDB(t)
	before := db.Head()
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) { c.Hostname = "failed.example.com" })
	var during Snapshot
	_, err := d.Commit(context.Background(), "", false, func(context.Context, *config.Config) (func(), func(), error) {
		read := make(chan Snapshot, 1)
		go func() { read <- db.Head() }()
		select {
		case during = <-read:
		case <-time.After(readLimit):
			t.Error("Head waited for the commit")
			during = before
		}
		return nil, nil, errors.New("refused by the test")
	})
	if !errors.Is(err, ErrApply) {
		t.Fatalf("commit = %v, want ErrApply", err)
	}
	for what, h := range map[string]Snapshot{"during the commit": during, "after it": db.Head()} {
		if h.Rev != before.Rev || h.Config.Hostname != before.Config.Hostname {
			t.Errorf("head %s = revision %d %q, want %d %q", what, h.Rev, h.Config.Hostname, before.Rev, before.Config.Hostname)
		}
	}
}

// TestCommitsStillSerialise: only readers stopped taking the commit lock;
// a second commit waits for a held one and then merges over it.
func TestCommitsStillSerialise(t *testing.T) {
	db, _ := newDB(t)
	held := startHeldCommit(t, db, "prepare", "first.example.com")
	bob := NewDraft(db, "bob", "console")
	stage(t, bob, func(c *config.Config) { c.Listeners[0].Port = 25 })
	second := make(chan Result, 1)
	go func() {
		res, err := bob.Commit(context.Background(), "second", false, nil)
		if err != nil {
			t.Errorf("second commit: %v", err)
		}
		second <- res
	}()
	first := held.finish(t)
	res := <-second
	if res.Rev != first.Rev+1 || len(res.MergedOver) != 1 {
		t.Errorf("second commit = revision %d merged over %d, want %d over the first", res.Rev, len(res.MergedOver), first.Rev+1)
	}
	if h := db.Head(); h.Config.Hostname != "first.example.com" || h.Config.Listeners[0].Port != 25 {
		t.Errorf("head = %q port %d, want both commits", h.Config.Hostname, h.Config.Listeners[0].Port)
	}
}

// TestSettledHeadWaitsForCommit: unlike Head, SettledHead reports a
// commit that was in progress when it was called (start-up code relies on
// it not to miss a commit whose prepare step did not yet see its service).
func TestSettledHeadWaitsForCommit(t *testing.T) {
	db, _ := newDB(t)
	before := db.Head()
	held := startHeldCommit(t, db, "prepare", "settled.example.com")
	settled := make(chan Snapshot, 1)
	go func() { settled <- db.SettledHead() }()
	if h := db.Head(); h.Rev != before.Rev {
		t.Fatalf("head = revision %d during the held commit", h.Rev)
	}
	res := held.finish(t)
	if h := <-settled; h.Rev != res.Rev || h.Config.Hostname != "settled.example.com" {
		t.Errorf("settled head = revision %d %q, want %d settled.example.com", h.Rev, h.Config.Hostname, res.Rev)
	}
}
