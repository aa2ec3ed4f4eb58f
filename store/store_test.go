package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"esash/config"
)

func TestOpenNew(t *testing.T) {
	demo := validCert(t, "Demo")
	db, path := func() (*DB, string) {
		path := filepath.Join(t.TempDir(), "config.db")
		return openDB(t, path, Options{Factory: func() (*config.Config, error) { return config.Factory(demo), nil }}), path
	}()
	h := db.Head()
	if h.Rev != 1 || h.Meta.Kind != "factory" || h.Meta.User != "system" {
		t.Errorf("head of a new database = rev %d, meta %+v; want rev 1 by system, kind factory", h.Rev, h.Meta)
	}
	assertSame(t, "head of a new database", h.Config, config.Factory(demo))
	revs, err := db.Revisions(10)
	if err != nil || len(revs) != 1 || revs[0].Rev != 1 {
		t.Errorf("Revisions = %+v, %v; want the factory revision", revs, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("database mode %o, want 600", m)
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		prep func(t *testing.T, path string) // makes the file before Open
		opts func(t *testing.T) Options
		is   error // nil: any error
	}{
		{"new database without factory", nil, func(t *testing.T) Options { return Options{} }, nil},
		{"factory fails", nil, func(t *testing.T) Options {
			return Options{Factory: func() (*config.Config, error) { return nil, errors.New("no entropy") }}
		}, nil},
		{"schema of another version", func(t *testing.T, path string) {
			b, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			err = b.Update(func(tx *bolt.Tx) error {
				m, err := tx.CreateBucketIfNotExists(bucketMeta)
				if err != nil {
					return err
				}
				return m.Put(keySchema, []byte("99"))
			})
			if err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) Options { return Options{Factory: factoryFunc(t)} }, ErrSchema},
		{"not a database", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(strings.Repeat("junk", 4096)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T) Options { return Options{Factory: factoryFunc(t)} }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.db")
			if tc.prep != nil {
				tc.prep(t, path)
			}
			db, err := Open(path, tc.opts(t))
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Open = %v, want %v", err, tc.is)
			}
			// A failed Open leaves the file closed and unlocked.
			if tc.is == nil && tc.name != "not a database" {
				db := openDB(t, path, Options{})
				if db.Head().Rev != 1 {
					t.Errorf("after a failed first Open, head = %d, want the factory revision", db.Head().Rev)
				}
			}
		})
	}
}

func TestReopenKeepsHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.db")
	db, err := Open(path, Options{Factory: factoryFunc(t), Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) { c.Hostname = "mx.example.org" })
	commit(t, d, "one")
	stage(t, d, func(c *config.Config) {
		c.Destinations.Entries = append(c.Destinations.Entries, entry(1), entry(2))
		c.Listeners[0].SenderGroups[0].Hosts = []string{"10.0.0.0/8"}
		c.Users = append(c.Users, config.User{Name: "ops", Role: config.RoleOperator})
		c.Routes = []config.Route{} // empty, not nil: the same setting
	})
	commit(t, d, "two")
	want := db.Head()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path, Options{Factory: noFactory(t)})
	got := db.Head()
	if got.Rev != want.Rev || got.Meta != want.Meta {
		t.Errorf("reopened head = rev %d %+v, want rev %d %+v", got.Rev, got.Meta, want.Rev, want.Meta)
	}
	assertSame(t, "reopened head", got.Config, want.Config)
	if d := config.Diff(want.Config, got.Config); len(d) != 0 {
		t.Errorf("Diff(head before close, head after reopen) = %v", d)
	}
}

func TestCommitWritesRevision(t *testing.T) {
	db, _ := newDB(t)
	d := NewDraft(db, "alice", "ssh:192.0.2.7")
	if _, err := d.Commit(context.Background(), "nothing", false, nil); !errors.Is(err, ErrNoChanges) {
		t.Fatalf("commit of a clean draft = %v, want ErrNoChanges", err)
	}
	stage(t, d, func(c *config.Config) {
		c.Hostname = "mx.example.org"
		c.Listeners[0].Port = 25
	})
	res, err := d.Commit(context.Background(), "new name", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rev != 2 || res.Changes != 2 || res.Snapshot.Rev != 2 || len(res.MergedOver) != 0 {
		t.Errorf("Result = rev %d, %d changes, snapshot %d, merged over %v", res.Rev, res.Changes, res.Snapshot.Rev, res.MergedOver)
	}
	h := db.Head()
	if h.Rev != 2 || h.Config.Hostname != "mx.example.org" || h.Config != res.Snapshot.Config {
		t.Errorf("head = rev %d %q", h.Rev, h.Config.Hostname)
	}
	revs, err := db.Revisions(1)
	if err != nil {
		t.Fatal(err)
	}
	r := revs[0]
	m := r.Meta
	if r.Rev != 2 || m.User != "alice" || m.Source != "ssh:192.0.2.7" || m.Comment != "new name" || m.Kind != "commit" || !m.Rollback || m.Time.IsZero() {
		t.Errorf("revision = %d %+v", r.Rev, m)
	}
	var ps []string
	for _, ch := range r.Changes {
		ps = append(ps, ch.Path)
	}
	if want := []string{"hostname", "listeners[IncomingMail].port"}; !slices.Equal(ps, want) {
		t.Errorf("revision changes = %q, want %q", ps, want)
	}
	if d.Changed() || d.Base().Rev != 2 {
		t.Errorf("draft after commit: changed %v, base %d", d.Changed(), d.Base().Rev)
	}
	// Committing the same thing again is no change.
	stage(t, d, func(c *config.Config) { c.Hostname = "mx.example.org" })
	if _, err := d.Commit(context.Background(), "again", false, nil); !errors.Is(err, ErrNoChanges) {
		t.Errorf("commit of an unchanged draft = %v, want ErrNoChanges", err)
	}
}

func TestRevisionsNewestFirst(t *testing.T) {
	db, _ := newDB(t)
	d := NewDraft(db, "alice", "console")
	for i := range 5 {
		stage(t, d, func(c *config.Config) { c.Alerts.MaxSaved = 100 + i })
		commit(t, d, fmt.Sprint("commit ", i))
	}
	tests := []struct {
		limit int
		want  []uint64
	}{
		{0, nil},
		{1, []uint64{6}},
		{3, []uint64{6, 5, 4}},
		{100, []uint64{6, 5, 4, 3, 2, 1}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint("limit ", tc.limit), func(t *testing.T) {
			revs, err := db.Revisions(tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, r := range revs {
				got = append(got, r.Rev)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Revisions(%d) = %v, want %v", tc.limit, got, tc.want)
			}
		})
	}
}

// historyEdit is the edit of commit i of the history test: settings,
// additions, removals from the middle and reorders, at the top level and
// inside a listener, so that rebuilding old revisions exercises every kind
// of change.
func historyEdit(i int) func(c *config.Config) {
	return func(c *config.Config) {
		c.Hostname = fmt.Sprintf("h%d.example.com", i)
		c.Destinations.Entries = append(c.Destinations.Entries, entry(i))
		if i%3 == 0 && len(c.Destinations.Entries) > 4 {
			c.Destinations.Entries = slices.Delete(c.Destinations.Entries, 1, 2)
		}
		if i%5 == 0 {
			slices.Reverse(c.Destinations.Entries)
		}
		g := c.Listeners[0].SenderGroups
		switch i % 4 {
		case 0:
			g[0].Hosts = append(g[0].Hosts, fmt.Sprintf("10.0.%d.0/24", i))
		case 1:
			g[1], g[2] = g[2], g[1]
		case 2:
			c.Listeners[0].SenderGroups = slices.Insert(g, 1, config.SenderGroup{Name: fmt.Sprintf("G%d", i), Policy: "ACCEPTED"})
		case 3:
			if j := slices.IndexFunc(g, func(s config.SenderGroup) bool { return strings.HasPrefix(s.Name, "G") }); j >= 0 {
				c.Listeners[0].SenderGroups = slices.Delete(g, j, j+1)
			}
		}
		if i%7 == 0 {
			c.Users = append(c.Users, config.User{Name: fmt.Sprintf("u%d", i), Role: config.RoleReadOnly})
		}
		if i%11 == 0 && len(c.Users) > 1 {
			c.Users = slices.Delete(c.Users, 1, 2)
		}
	}
}

// TestHistory is CM-10 and the history half of the store: many commits,
// the newest KeepRevisions kept, every kept revision rebuilt exactly, and a
// rollback committed as a new revision.
func TestHistory(t *testing.T) {
	const commits = 120
	db, path := newDB(t)
	committed := map[uint64]*config.Config{1: db.Head().Config}
	d := NewDraft(db, "alice", "console")
	for i := 1; i <= commits; i++ {
		stage(t, d, historyEdit(i))
		res := commit(t, d, fmt.Sprint("commit ", i))
		committed[res.Rev] = res.Snapshot.Config.Clone()
	}
	head := db.Head().Rev
	if head != commits+1 {
		t.Fatalf("head = %d, want %d", head, commits+1)
	}

	revs, err := db.Revisions(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != KeepRevisions || KeepRevisions < 50 {
		t.Errorf("history holds %d revisions, want KeepRevisions = %d (at least 50)", len(revs), KeepRevisions)
	}
	for i, r := range revs {
		if r.Rev != head-uint64(i) {
			t.Fatalf("Revisions[%d] = %d, want %d", i, r.Rev, head-uint64(i))
		}
		if r.Meta.User != "alice" || r.Meta.Source != "console" || r.Meta.Comment != fmt.Sprint("commit ", r.Rev-1) || r.Meta.Time.IsZero() {
			t.Errorf("revision %d meta = %+v", r.Rev, r.Meta)
		}
	}

	oldest := head - KeepRevisions // the parent of the oldest kept revision
	all := make([]uint64, 0, KeepRevisions+1)
	for rev := oldest; rev <= head; rev++ {
		all = append(all, rev)
	}
	rebuild := func(t *testing.T, db *DB, revs []uint64) {
		for _, rev := range revs {
			got, err := db.ConfigAt(rev)
			if err != nil {
				t.Fatalf("ConfigAt(%d): %v", rev, err)
			}
			assertSame(t, fmt.Sprintf("ConfigAt(%d)", rev), got, committed[rev])
		}
		for _, rev := range []uint64{0, oldest - 1, head + 1} {
			if _, err := db.ConfigAt(rev); !errors.Is(err, ErrNotFound) {
				t.Errorf("ConfigAt(%d) = %v, want ErrNotFound", rev, err)
			}
		}
	}
	t.Run("ConfigAt", func(t *testing.T) { rebuild(t, db, all) })
	db.Close()
	db = openDB(t, path, Options{Factory: noFactory(t)})
	t.Run("ConfigAt after reopen", func(t *testing.T) {
		rebuild(t, db, []uint64{oldest, oldest + 1, head - 50, head - 1, head})
	})
	t.Run("rollback is a new revision", func(t *testing.T) {
		target := head - 50
		old, err := db.ConfigAt(target)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDraft(db, "bob", "console")
		d.Replace(old)
		staged := d.Changes()
		if len(staged) == 0 {
			t.Fatal("rollback draft shows no changes")
		}
		res, err := d.CommitKind(context.Background(), "rollback", fmt.Sprint("rollback to ", target), false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rev != head+1 || res.Changes != len(staged) {
			t.Errorf("rollback result = rev %d, %d changes; want rev %d, %d changes", res.Rev, res.Changes, head+1, len(staged))
		}
		assertSame(t, "head after rollback", db.Head().Config, committed[target])
		revs, _ := db.Revisions(1)
		if revs[0].Meta.Kind != "rollback" {
			t.Errorf("rollback revision kind = %q", revs[0].Meta.Kind)
		}
		// The history is not rewritten: the revisions rolled back over can
		// still be rebuilt.
		got, err := db.ConfigAt(head)
		if err != nil {
			t.Fatal(err)
		}
		assertSame(t, "ConfigAt(revision before the rollback)", got, committed[head])
	})
}

func TestAudit(t *testing.T) {
	db, _ := newDB(t)
	alice := NewDraft(db, "alice", "console")
	bob := NewDraft(db, "bob", "ssh:192.0.2.9")

	stage(t, alice, func(c *config.Config) { c.Hostname = "a.example.com" })
	commit(t, alice, "alice's name")

	stage(t, alice, func(c *config.Config) { c.Listeners[0].Certificate = "Gone" })
	if _, err := alice.Commit(context.Background(), "", false, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid commit = %v", err)
	}
	alice.Clear()

	stage(t, bob, func(c *config.Config) { c.Hostname = "b.example.com" })
	if _, err := bob.Commit(context.Background(), "", false, nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflicting commit = %v", err)
	}
	if err := db.Audit(AuditEntry{User: "bob", Source: "console", Action: "login"}); err != nil {
		t.Fatal(err)
	}

	log, err := db.AuditLog(100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ user, action, detail string }{
		{"bob", "login", ""},
		{"bob", "commit-failed", "conflicting change"},
		{"bob", "conflict", "hostname"},
		{"alice", "commit-failed", "listeners[IncomingMail].certificate"},
		{"alice", "commit", "alice's name"},
	}
	if len(log) != len(want) {
		t.Fatalf("audit log = %+v, want %d entries", log, len(want))
	}
	for i, w := range want {
		e := log[i]
		if e.User != w.user || e.Action != w.action || !strings.Contains(e.Detail, w.detail) || e.Time.IsZero() {
			t.Errorf("audit[%d] = %+v, want %s %s with %q", i, e, w.user, w.action, w.detail)
		}
	}
	if log[4].Rev != 2 || log[2].Rev != 2 {
		t.Errorf("audit revisions: commit %d, conflict %d; want 2, 2", log[4].Rev, log[2].Rev)
	}
	if log, _ := db.AuditLog(2); len(log) != 2 || log[0].Action != "login" {
		t.Errorf("AuditLog(2) = %+v", log)
	}
}

// TestConcurrentCommits commits from many sessions at once. Every commit
// adds its own entry, so all merge, and nothing is lost.
func TestConcurrentCommits(t *testing.T) {
	const sessions, each = 6, 5
	db, _ := newDB(t)
	var wg sync.WaitGroup
	errs := make(chan error, sessions*each)
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := NewDraft(db, fmt.Sprint("user", s), "console")
			for i := range each {
				err := d.Update(func(c *config.Config) error {
					c.Destinations.Entries = append(c.Destinations.Entries, entry(s*100+i))
					return nil
				})
				if err == nil {
					_, err = d.Commit(context.Background(), "", false, nil)
				}
				if err != nil {
					errs <- err
				}
				db.Head() // readers run alongside
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h := db.Head()
	if h.Rev != 1+sessions*each || len(h.Config.Destinations.Entries) != sessions*each {
		t.Errorf("head = rev %d with %d entries, want rev %d with %d", h.Rev, len(h.Config.Destinations.Entries), 1+sessions*each, sessions*each)
	}
}
