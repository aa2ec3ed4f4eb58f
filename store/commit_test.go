package store

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// TestMergeDisjoint is CM-1: two sessions start at the same revision and
// change different settings; the second commit merges over the first.
func TestMergeDisjoint(t *testing.T) {
	db, _ := newDB(t)
	alice := NewDraft(db, "alice", "console")
	bob := NewDraft(db, "bob", "ssh:192.0.2.9")
	stage(t, alice, func(c *config.Config) { c.Hostname = "alice.example.com" })
	stage(t, bob, func(c *config.Config) {
		c.Destinations.Entries = append(c.Destinations.Entries, entry(1))
		c.Listeners[0].SenderGroups[0].Hosts = []string{"192.0.2.0/24"}
	})

	r1 := commit(t, alice, "alice")
	r2 := commit(t, bob, "bob")
	if r1.Rev != 2 || r2.Rev != 3 {
		t.Fatalf("revisions %d, %d; want 2, 3", r1.Rev, r2.Rev)
	}
	if len(r2.MergedOver) != 1 || r2.MergedOver[0].Rev != 2 || r2.MergedOver[0].Meta.User != "alice" {
		t.Errorf("MergedOver = %+v, want revision 2 by alice", r2.MergedOver)
	}
	h := db.Head().Config
	if h.Hostname != "alice.example.com" || len(h.Destinations.Entries) != 1 || !slices.Equal(h.Listeners[0].SenderGroups[0].Hosts, []string{"192.0.2.0/24"}) {
		t.Errorf("merged head lacks a change: hostname %q, entries %v, hosts %v", h.Hostname, h.Destinations.Entries, h.Listeners[0].SenderGroups[0].Hosts)
	}
	revs, _ := db.Revisions(1)
	if m := revs[0].Meta.Merged; !strings.Contains(m, "revision 2 by alice") {
		t.Errorf("revision 3 merged note = %q", m)
	}
	// The revision records bob's changes against revision 2, not alice's.
	for _, ch := range revs[0].Changes {
		if ch.Path == "hostname" {
			t.Errorf("revision 3 records alice's change %s", ch.Path)
		}
	}
	log, _ := db.AuditLog(1)
	if log[0].Action != "commit" || log[0].Rev != 3 || !strings.Contains(log[0].Detail, "merged over revision 2 by alice") {
		t.Errorf("audit of the merged commit = %+v", log[0])
	}
	if bob.Base().Rev != 3 || bob.Changed() {
		t.Errorf("bob's draft after commit: base %d, changed %v", bob.Base().Rev, bob.Changed())
	}
}

// TestMergeConflict is CM-2: the same setting changed to different values.
func TestMergeConflict(t *testing.T) {
	tests := []struct {
		name         string
		theirs, ours func(c *config.Config)
		path         string
		base, th, ou string
	}{
		{"same setting", func(c *config.Config) { c.Hostname = "alice.example.com" },
			func(c *config.Config) { c.Hostname = "bob.example.com" },
			"hostname", `"esa.example.com"`, `"alice.example.com"`, `"bob.example.com"`},
		{"same setting of a sender group", func(c *config.Config) { c.Listeners[0].SenderGroups[4].Policy = "THROTTLED" },
			func(c *config.Config) { c.Listeners[0].SenderGroups[4].Policy = "BLOCKED" },
			"listeners[IncomingMail].sender_groups[ALL].policy", `"ACCEPTED"`, `"THROTTLED"`, `"BLOCKED"`},
		{"item removed and edited", func(c *config.Config) { c.Listeners = nil },
			func(c *config.Config) { c.Listeners[0].Port = 25 },
			"listeners[IncomingMail].port", "2525", "", "25"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := newDB(t)
			alice := NewDraft(db, "alice", "console")
			bob := NewDraft(db, "bob", "console")
			stage(t, alice, tc.theirs)
			stage(t, bob, tc.ours)
			commit(t, alice, "")
			before := db.Head()

			_, err := bob.Commit(context.Background(), "", false, nil)
			var ce *ConflictError
			if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) {
				t.Fatalf("commit = %v, want a *ConflictError", err)
			}
			if len(ce.Conflicts) != 1 || ce.Head != 2 {
				t.Fatalf("conflicts = %+v at head %d", ce.Conflicts, ce.Head)
			}
			c := ce.Conflicts[0]
			if c.Path != tc.path || string(c.Base) != tc.base || string(c.Theirs) != tc.th || string(c.Ours) != tc.ou {
				t.Errorf("conflict = %s base %s theirs %s ours %s; want %s base %s theirs %s ours %s",
					c.Path, c.Base, c.Theirs, c.Ours, tc.path, tc.base, tc.th, tc.ou)
			}
			if ce.Who[c.Path] != "alice" {
				t.Errorf("Who[%s] = %q, want alice", c.Path, ce.Who[c.Path])
			}
			if h := db.Head(); h.Rev != before.Rev || h.Config != before.Config {
				t.Errorf("head moved to %d after a refused commit", h.Rev)
			}
			if !bob.Changed() {
				t.Error("the refused draft lost its changes")
			}
			// Resolving "ours": start again from the head and restage.
			if tc.name == "item removed and edited" {
				return // nothing of ours to restage on a removed listener
			}
			bob.Clear()
			stage(t, bob, tc.ours)
			res := commit(t, bob, "resolved")
			if res.Rev != 3 {
				t.Errorf("resolved commit = revision %d, want 3", res.Rev)
			}
		})
	}
}

// TestMergeSemanticConflict is CM-3: each change is valid alone, their
// merge is not, and the commit check on the merged tree says why.
func TestMergeSemanticConflict(t *testing.T) {
	db, _ := newDB(t)
	setup := NewDraft(db, "admin", "console")
	stage(t, setup, func(c *config.Config) { c.Certificates = append(c.Certificates, validCert(t, "c1")) })
	commit(t, setup, "add c1")

	alice := NewDraft(db, "alice", "console")
	bob := NewDraft(db, "bob", "console")
	stage(t, alice, func(c *config.Config) {
		c.Certificates = slices.DeleteFunc(c.Certificates, func(ct config.Certificate) bool { return ct.Name == "c1" })
	})
	stage(t, bob, func(c *config.Config) { c.Listeners[0].Certificate = "c1" })
	commit(t, alice, "delete c1")
	head := db.Head()

	_, err := bob.Commit(context.Background(), "", false, nil)
	var ie *InvalidError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("commit = %v, want an *InvalidError", err)
	}
	errs := ie.Problems.Errors()
	if len(errs) != 1 || errs[0].Path != "listeners[IncomingMail].certificate" || !strings.Contains(errs[0].Msg, `"c1" does not exist`) {
		t.Errorf("problems = %v, want listeners[IncomingMail].certificate: c1 does not exist", ie.Problems)
	}
	if h := db.Head(); h.Rev != head.Rev {
		t.Errorf("head moved to %d", h.Rev)
	}
}

// TestCommitCheckReportsAll is CM-4: several mistakes in one draft are
// refused together, in one error, and nothing changes.
func TestCommitCheckReportsAll(t *testing.T) {
	db, _ := newDB(t)
	head := db.Head()
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) {
		c.Listeners[0].SenderGroups[4].Policy = "NOPOLICY"
		c.Listeners = append(c.Listeners, config.FactoryListener("Second", config.Private, "Management", 2525))
		bad := validCert(t, "Mismatch")
		bad.KeyPEM = validCert(t, "other").KeyPEM
		c.Certificates = append(c.Certificates, bad, expiredCert(t, "Old"))
	})
	prepared := false
	_, err := d.Commit(context.Background(), "", false, func(context.Context, *config.Config) (func(), func(), error) {
		prepared = true
		return func() {}, func() {}, nil
	})
	var ie *InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("commit = %v, want an *InvalidError", err)
	}
	var got []string
	for _, p := range ie.Problems.Errors() {
		got = append(got, p.Path)
	}
	slices.Sort(got)
	want := []string{
		"certificates[Mismatch].private_key",
		"certificates[Old].certificate",
		"listeners[IncomingMail].sender_groups[ALL].policy",
		"listeners[Second].port",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems = %q, want %q", got, want)
	}
	for _, p := range want {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error text does not name %s:\n%v", p, err)
		}
	}
	if prepared {
		t.Error("Prepare ran for an invalid configuration")
	}
	if h := db.Head(); h.Rev != head.Rev || h.Config != head.Config {
		t.Errorf("head moved to %d", h.Rev)
	}
	if revs, _ := db.Revisions(10); len(revs) != 1 {
		t.Errorf("%d revisions after a refused commit, want 1", len(revs))
	}
}

// TestExpiredInService: a certificate that expired while committed warns
// but does not block unrelated commits.
func TestExpiredInService(t *testing.T) {
	db, _ := newDB(t)
	// Commit a certificate that expires soon, then let the clock pass it.
	clk := newClock()
	db.now = clk.Now
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) {
		c.Certificates = append(c.Certificates, newCert(t, "Short", testNow.Add(-24*time.Hour), testNow.Add(time.Hour)))
	})
	res := commit(t, d, "")
	if len(res.Warnings) != 1 {
		t.Errorf("warnings = %v, want one for the certificate expiring soon", res.Warnings)
	}
	clk.t = clk.t.Add(2 * time.Hour)
	stage(t, d, func(c *config.Config) { c.Hostname = "later.example.com" })
	res = commit(t, d, "")
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Msg, "expired") {
		t.Errorf("warnings = %v, want the expiry as a warning", res.Warnings)
	}
}

func TestPrepare(t *testing.T) {
	t.Run("error refuses the commit", func(t *testing.T) {
		db, _ := newDB(t)
		head := db.Head()
		d := NewDraft(db, "alice", "console")
		stage(t, d, func(c *config.Config) { c.Listeners[0].Port = 25 })
		_, err := d.Commit(context.Background(), "", false, func(context.Context, *config.Config) (func(), func(), error) {
			return nil, nil, errors.New("port 25 is in use")
		})
		if !errors.Is(err, ErrApply) || !strings.Contains(err.Error(), "port 25 is in use") {
			t.Fatalf("commit = %v, want ErrApply with the cause", err)
		}
		if h := db.Head(); h.Rev != head.Rev || h.Config.Listeners[0].Port != 2525 {
			t.Errorf("head = rev %d port %d after a failed prepare", h.Rev, h.Config.Listeners[0].Port)
		}
		if revs, _ := db.Revisions(10); len(revs) != 1 {
			t.Errorf("%d revisions, want 1", len(revs))
		}
		if log, _ := db.AuditLog(1); log[0].Action != "commit-failed" || !strings.Contains(log[0].Detail, "port 25") {
			t.Errorf("audit = %+v", log[0])
		}
		if !d.Changed() {
			t.Error("draft lost its changes")
		}
	})
	t.Run("activate runs once the revision is durable", func(t *testing.T) {
		db, _ := newDB(t)
		alice := NewDraft(db, "alice", "console")
		bob := NewDraft(db, "bob", "console")
		stage(t, alice, func(c *config.Config) { c.Hostname = "alice.example.com" })
		stage(t, bob, func(c *config.Config) { c.Listeners[0].Port = 25 })
		commit(t, alice, "")
		var events []string
		res, err := bob.Commit(context.Background(), "", false, func(_ context.Context, c *config.Config) (func(), func(), error) {
			// Prepare sees the merged configuration, before it is written.
			if c.Hostname != "alice.example.com" || c.Listeners[0].Port != 25 {
				t.Errorf("prepare got hostname %q port %d, want the merged configuration", c.Hostname, c.Listeners[0].Port)
			}
			revs, _ := db.Revisions(1)
			events = append(events, "prepare", "stored "+revString(revs))
			activate := func() {
				revs, _ := db.Revisions(1)
				events = append(events, "activate", "stored "+revString(revs))
			}
			abort := func() { events = append(events, "abort") }
			return activate, abort, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"prepare", "stored 2", "activate", "stored 3"}
		if !slices.Equal(events, want) || res.Rev != 3 {
			t.Errorf("events = %q, rev %d; want %q, rev 3", events, res.Rev, want)
		}
	})
}

func revString(revs []Revision) string {
	if len(revs) == 0 {
		return "none"
	}
	raw, _ := json.Marshal(revs[0].Rev)
	return string(raw)
}

func TestDraftSaveRestore(t *testing.T) {
	db, _ := newDB(t)
	d := NewDraft(db, "alice", "console")
	clean := d.Save()
	stage(t, d, func(c *config.Config) { c.Hostname = "one.example.com" })
	one := d.Save()
	stage(t, d, func(c *config.Config) { c.Listeners[0].Port = 25 })

	d.Restore(one)
	if d.Config().Hostname != "one.example.com" || d.Config().Listeners[0].Port != 2525 || len(d.Changes()) != 1 {
		t.Errorf("after Restore(one): hostname %q, port %d, changes %v", d.Config().Hostname, d.Config().Listeners[0].Port, d.Changes())
	}
	d.Restore(clean)
	if d.Changed() || d.Config() != db.Head().Config {
		t.Errorf("after Restore(clean): changes %v", d.Changes())
	}

	// A failed edit leaves no trace.
	err := d.Update(func(c *config.Config) error {
		c.Hostname = "half.example.com"
		return errors.New("abandoned")
	})
	if err == nil || d.Changed() || d.Config().Hostname != "esa.example.com" {
		t.Errorf("failed Update: err %v, changed %v, hostname %q", err, d.Changed(), d.Config().Hostname)
	}

	// Refresh follows the head only while nothing is staged.
	other := NewDraft(db, "bob", "console")
	stage(t, other, func(c *config.Config) { c.Hostname = "bob.example.com" })
	commit(t, other, "")
	d.Refresh()
	if d.Base().Rev != 2 || d.Config().Hostname != "bob.example.com" {
		t.Errorf("idle draft after Refresh: base %d, hostname %q", d.Base().Rev, d.Config().Hostname)
	}
	stage(t, other, func(c *config.Config) { c.Hostname = "bob2.example.com" })
	commit(t, other, "")
	stage(t, d, func(c *config.Config) { c.Listeners[0].Port = 25 })
	d.Refresh()
	if d.Base().Rev != 2 || d.Config().Listeners[0].Port != 25 {
		t.Errorf("busy draft after Refresh: base %d, port %d", d.Base().Rev, d.Config().Listeners[0].Port)
	}
}

// TestSnapshotImmutable: nothing a session does after a commit reaches a
// committed snapshot.
func TestSnapshotImmutable(t *testing.T) {
	db, _ := newDB(t)
	first := db.Head()
	firstJSON := canon(t, first.Config)

	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) {
		c.Hostname = "one.example.com"
		c.Destinations.Entries = append(c.Destinations.Entries, entry(1))
	})
	res := commit(t, d, "")
	committed := canon(t, res.Snapshot.Config)

	// Editing the draft after the commit.
	stage(t, d, func(c *config.Config) {
		c.Hostname = "two.example.com"
		c.Destinations.Entries[0].TLS = config.TLSOutRequired
		c.Listeners[0].SenderGroups[0].Hosts = append(c.Listeners[0].SenderGroups[0].Hosts, "10.0.0.1")
	})
	if got := canon(t, res.Snapshot.Config); got != committed {
		t.Error("the committed snapshot changed when the draft was edited")
	}

	// Changing a candidate handed to Commit, after the commit.
	cand := db.Head().Config.Clone()
	cand.Alerts.MaxSaved = 7
	if _, err := db.Commit(context.Background(), CommitRequest{Base: db.Head(), Candidate: cand, Meta: Meta{User: "script"}}); err != nil {
		t.Fatal(err)
	}
	head := canon(t, db.Head().Config)
	cand.Alerts.MaxSaved = 8
	cand.Destinations.Entries[0].TLS = config.TLSOutRequired
	cand.Listeners[0].SenderGroups[0].Hosts = []string{"changed"}
	if got := canon(t, db.Head().Config); got != head {
		t.Error("the head changed when the candidate given to Commit was modified")
	}

	// Changing a configuration staged with Replace, after the commit.
	replaced := db.Head().Config.Clone()
	replaced.Alerts.MaxSaved = 9
	d.Clear()
	d.Replace(replaced)
	commit(t, d, "")
	head = canon(t, db.Head().Config)
	replaced.Alerts.MaxSaved = 10
	replaced.Listeners[0].SenderGroups[0].Hosts = []string{"changed again"}
	if got := canon(t, db.Head().Config); got != head {
		t.Error("the head changed when the configuration given to Replace was modified")
	}

	if got := canon(t, first.Config); got != firstJSON {
		t.Error("the factory snapshot changed")
	}
	if c, _ := db.ConfigAt(2); canon(t, c) != committed {
		t.Error("revision 2 rebuilds differently")
	}
}
