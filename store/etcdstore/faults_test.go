package etcdstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// errBusy is what the MTA answers a second prepare while one is pending
// (mta.Server.prepare): one configuration is readied at a time.
var errBusy = errors.New("another configuration is being applied")

// exclusiveServices stand for a daemon's services: one configuration
// prepared at a time, until it is activated or aborted. hold makes the
// next prepare wait, once it holds the services, until hold is closed.
type exclusiveServices struct {
	mu      sync.Mutex
	pending bool
	hold    chan struct{}
	holding chan struct{} // closed when the held prepare has the services
}

func (s *exclusiveServices) holdNext() (holding, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.holding = make(chan struct{}), make(chan struct{})
	return s.holding, s.hold
}

func (s *exclusiveServices) prepare(context.Context, *config.Config) (func(), func(), error) {
	s.mu.Lock()
	if s.pending {
		s.mu.Unlock()
		return nil, nil, errBusy
	}
	s.pending = true
	hold, holding := s.hold, s.holding
	s.hold, s.holding = nil, nil
	s.mu.Unlock()
	if hold != nil {
		close(holding)
		<-hold
	}
	done := func() { s.mu.Lock(); s.pending = false; s.mu.Unlock() }
	return done, done, nil
}

// reopen replaces m's cluster store by one whose services are svc.
func reopen(t *testing.T, m *machine, svc *exclusiveServices) {
	t.Helper()
	m.st.Close()
	st, err := Open(context.Background(), Options{Client: m.cli, Machine: m.id, Mirror: m.local, DataKey: m.key,
		Prepare: svc.prepare, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m.st = st
	t.Cleanup(func() { st.Close() })
}

// A session's commit on a machine whose watcher is applying another
// machine's revision waits for that apply instead of failing: its dry run
// of the services' prepare step must not find them busy with the
// watcher's (seen as "another configuration is being applied" in 5 of
// 100 commits of TestClusterLeaderKilled).
func TestCommitWhileApplying(t *testing.T) {
	ms := newCluster(t, 2, 5*time.Second)
	a, b := ms[0], ms[1]
	svc := &exclusiveServices{}
	reopen(t, a, svc)
	waitAll(t, ms, 2)

	holding, release := svc.holdNext()
	res, err := edit(t, b, config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 })
	if err != nil {
		t.Fatal(err)
	}
	<-holding // a's watcher is applying b's revision
	done := make(chan error, 1)
	go func() {
		d := store.NewDraft(a.st.At(config.ClusterLevel), "admin", "test")
		_ = d.Update(func(c *config.Config) error { c.Destinations.Default.MaxConcurrency = 9; return nil })
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, err := d.Commit(ctx, "while applying", false, svc.prepare)
		done <- err
	}()
	// The commit may not finish while the watcher holds the services;
	// one that does failed against them. A second is ample for it to
	// get there (on a loaded machine it may not: the test then passes
	// without having proved anything, it never fails wrongly).
	select {
	case err := <-done:
		close(release)
		t.Fatalf("a commit while the watcher applied revision %d finished before it: %v", res.Rev, err)
	case <-time.After(time.Second):
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("a commit while the watcher applied revision %d: %v", res.Rev, err)
	}
	waitAll(t, ms, res.Rev+1)
	for _, m := range ms {
		d := m.local.Head().Config.Destinations.Default
		if d.MaxMsgsPerConn != 7 || d.MaxConcurrency != 9 {
			t.Errorf("%s runs %d messages per connection, %d concurrent connections; want 7 and 9", m.id, d.MaxMsgsPerConn, d.MaxConcurrency)
		}
	}
}

// leaderIndex is the machine whose etcd member leads the cluster.
func leaderIndex(t *testing.T, ms []*machine) int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		for i, m := range ms {
			if m.etcd != nil && m.etcd.Server.Leader() == m.etcd.Server.MemberID() {
				return i
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no member leads the cluster")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A commit whose transaction reached the leader but was not confirmed
// (the quorum went away between the read and the transaction) is not
// reported as refused: the leader keeps the entry in its log and commits
// it if it leads again once the others return. The session is told the
// outcome is unknown and where to look.
func TestCommitUnconfirmed(t *testing.T) {
	ms := newCluster(t, 3, time.Second)
	li := leaderIndex(t, ms)
	l := ms[li]
	// The services' dry run runs between the cluster read and the
	// transaction: the quorum goes away there.
	lose := func(context.Context, *config.Config) (func(), func(), error) {
		for i, m := range ms {
			if i != li {
				m.stop()
			}
		}
		return func() {}, func() {}, nil
	}
	before := l.local.Head()
	d := store.NewDraft(l.st.At(config.ClusterLevel), "admin", "test")
	_ = d.Update(func(c *config.Config) error { c.Destinations.Default.MaxMsgsPerConn = 5; return nil })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := d.Commit(ctx, "quorum lost in flight", false, lose)
	if !errors.Is(err, ErrUnconfirmed) {
		t.Fatalf("a commit sent and not confirmed = %v, want ErrUnconfirmed", err)
	}
	t.Logf("the session is told: %v", err)
	if strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "commitdetail") {
		t.Errorf("message %q: the outcome is unknown, and commitdetail tells it later", err)
	}
	if l.local.Head().Rev != before.Rev {
		t.Error("the machine runs a commit the cluster did not confirm")
	}
}
