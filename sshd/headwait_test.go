package sshd

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"esash/config"
	"esash/store"
)

// Issue 18: an SSH login reads the running configuration (its accounts,
// keys and hostname) from the store's head, and must never wait for a
// commit, however long the commit's prepare step takes (a listener rebind,
// a certificate check against a slow peer). The test and the benchmark
// hold a commit in its prepare step on a channel, as shell's
// TestLoginAndPromptDoNotWaitForCommit does, but log in over real SSH.
//
// Run the benchmark with
//
//	go test ./sshd -run '^$' -bench SSHLoginDuringSlowCommit -benchtime 50x
//
// It reports the median and 99th percentile of one login (TCP connect,
// key exchange, public-key authentication, an exec of whoami, close) as
// ms/op-p50 and ms/op-p99, with the commit held ("held") and without any
// commit ("idle", the baseline).

// loginBound is how long one login may take on a busy machine. It is not
// a measurement: a login that waits for the held commit never ends.
const loginBound = 60 * time.Second

// holdCommit starts a commit of a new hostname whose prepare step blocks
// until the test ends, and returns once the commit is inside that step.
// At cleanup it releases the commit, which then prepares sshd as the
// daemon's does, and checks that it landed.
func holdCommit(t testing.TB, f *fixture) {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	d := store.NewDraft(f.db, "alice", "console")
	if err := d.Update(func(c *config.Config) error { c.Hostname = "held.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		_, err := d.Commit(context.Background(), "held", false, func(ctx context.Context, c *config.Config) (func(), func(), error) {
			close(entered)
			<-release
			return f.srv.Prepare(ctx, c)
		})
		committed <- err
	}()
	select {
	case <-entered:
	case err := <-committed:
		t.Fatalf("commit ended before its prepare step: %v", err)
	}
	t.Cleanup(func() {
		close(release)
		if err := <-committed; err != nil {
			t.Errorf("held commit: %v", err)
		}
	})
}

// loginWhoami logs in as admin with its key, runs whoami and closes. A
// login still running after loginBound is cut off, so that a benchmark
// whose logins wait for the held commit fails instead of hanging.
func loginWhoami(f *fixture) (string, error) {
	c, err := f.dial("", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		return "", err
	}
	defer c.Close()
	watchdog := time.AfterFunc(loginBound, func() { c.Close() })
	defer watchdog.Stop()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput("whoami")
	return string(out), err
}

// TestSSHLoginDoesNotWaitForCommit: while a commit is held in its prepare
// step, a key login over SSH completes and its command runs. A login that
// waited for the commit would never finish, since the commit is released
// only after the login; the bound is a generous one for a busy machine.
func TestSSHLoginDoesNotWaitForCommit(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	holdCommit(t, f)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := loginWhoami(f)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("login during a held commit: %v\n%s", r.err, r.out)
		}
		if !strings.Contains(r.out, "admin") {
			t.Errorf("whoami during a held commit printed %q, want the admin account", r.out)
		}
	case <-time.After(loginBound):
		t.Fatal("an SSH login waited for a commit held in its prepare step")
	}
	if h := f.db.Head().Config.Hostname; h == "held.example.com" {
		t.Errorf("head is the held commit's revision (%s) before its prepare step returned", h)
	}
}

// BenchmarkSSHLoginDuringSlowCommit: b.N key logins, one after another,
// each running whoami; "held" with a commit held in its prepare step for
// the whole measurement, "idle" without (the baseline). The two should
// match: a login that waited for the commit would never end.
func BenchmarkSSHLoginDuringSlowCommit(b *testing.B) {
	for _, held := range []bool{false, true} {
		name := "idle"
		if held {
			name = "held"
		}
		b.Run(name, func(b *testing.B) {
			f := newFixture(b, fixtureOpts{users: testUsers(b)})
			if held {
				holdCommit(b, f)
			}
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				out, err := loginWhoami(f)
				if err != nil {
					b.Fatalf("login %d: %v\n%s", len(lat)+1, err, out)
				}
				lat = append(lat, time.Since(start))
			}
			reportLoginPercentiles(b, lat)
		})
	}
}

func reportLoginPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "ms/op-p50")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "ms/op-p99")
}
