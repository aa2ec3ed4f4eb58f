package etcdstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

var mainGroup = config.Level{Kind: config.LevelGroup, Name: DefaultGroup}

// commitConfirmed commits fn's change at level on m as user, to be
// reverted at deadline unless confirmed.
func commitConfirmed(t *testing.T, m *machine, level config.Level, user string, deadline time.Time, fn func(c *config.Config)) (store.Result, error) {
	t.Helper()
	d := store.NewDraft(m.st.At(level), user, "test "+m.id)
	if err := d.Update(func(c *config.Config) error { fn(c); return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return d.CommitConfirmed(ctx, "risky", true, deadline, nil)
}

// waitPending waits until every machine sees revision rev pending (0:
// nothing pending).
func waitPending(t *testing.T, ms []*machine, rev uint64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, m := range ms {
		for {
			p, ok := m.st.At(config.ClusterLevel).Pending()
			if (rev == 0 && !ok) || (ok && p.Rev == rev) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees pending %+v (%v), want revision %d", m.id, p, ok, rev)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// reverts lists the confirm-revert revisions of the cluster's history.
func reverts(t *testing.T, m *machine) []store.Revision {
	t.Helper()
	revs, err := m.st.At(config.ClusterLevel).Revisions(100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Revision
	for _, r := range revs {
		if r.Meta.Kind == store.KindConfirmRevert {
			out = append(out, r)
		}
	}
	return out
}

// A confirmed commit extended at a second level and never confirmed is
// reverted on every member, exactly once, both levels as they were (the
// group gets no override it did not have), even after a compaction; while
// it is pending, another administrator can neither commit nor confirm.
func TestConfirmedCommitRevertsOnAll(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	before := ms[1].running().Destinations.Default
	deadline := time.Now().Add(6 * time.Second)
	first, err := commitConfirmed(t, ms[0], config.ClusterLevel, "alice", deadline, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 })
	if err != nil {
		t.Fatal(err)
	}
	waitPending(t, ms, first.Rev)
	if _, err := edit(t, ms[1], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 9 }); !errors.Is(err, store.ErrPending) {
		t.Fatalf("admin's commit while alice's is pending: %v, want %v", err, store.ErrPending)
	}
	if _, err := ms[2].st.At(config.ClusterLevel).Confirm("admin", "test"); !errors.Is(err, store.ErrPending) {
		t.Fatalf("admin confirms alice's commit: %v, want %v", err, store.ErrPending)
	}
	// alice extends it from another member, at the group level.
	second, err := commitConfirmed(t, ms[1], mainGroup, "alice", deadline, func(c *config.Config) { c.Destinations.Default.TLS = config.TLSOutPreferred })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, second.Rev)
	for _, m := range ms {
		if d := m.running().Destinations.Default; d.MaxMsgsPerConn != 7 || d.TLS != config.TLSOutPreferred {
			t.Fatalf("%s runs %+v before the deadline", m.id, d)
		}
	}
	if g := ms[2].st.Layer(mainGroup); g["destinations"] == nil {
		t.Fatal("the group has no override of its own after alice's commit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	compactAll(ctx, t, ms[0])
	waitAll(t, ms, second.Rev+1)
	waitPending(t, ms, 0)
	for _, m := range ms {
		if d := m.running().Destinations.Default; d.MaxMsgsPerConn != before.MaxMsgsPerConn || d.TLS != before.TLS {
			t.Errorf("%s runs %+v after the revert, want %+v", m.id, d, before)
		}
	}
	if _, own := ms[0].st.Layer(mainGroup)["destinations"]; own {
		t.Error("the revert left the group an override it did not have")
	}
	rs := reverts(t, ms[2])
	if len(rs) != 1 || rs[0].Rev != second.Rev+1 || len(rs[0].Changes) == 0 || rs[0].Meta.User != "system" {
		t.Fatalf("confirm-revert revisions %+v, want revision %d alone, with its changes", rs, second.Rev+1)
	}
}

// The author confirms from another member: nothing is reverted. Her plain
// commit confirms too. A later unconfirmed commit is reverted alone.
func TestConfirmedCommitConfirmedElsewhere(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	soon := time.Now().Add(5 * time.Second)
	first, err := commitConfirmed(t, ms[0], config.ClusterLevel, "admin", soon, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 })
	if err != nil {
		t.Fatal(err)
	}
	p, err := ms[2].st.At(mainGroup).Confirm("admin", "test m3")
	if err != nil || p.Rev != first.Rev {
		t.Fatalf("confirm on m3: %+v, %v", p, err)
	}
	waitPending(t, ms, 0)
	if _, err := ms[1].st.At(config.ClusterLevel).Confirm("admin", "test"); !errors.Is(err, store.ErrNoPending) {
		t.Fatalf("confirm twice: %v, want %v", err, store.ErrNoPending)
	}
	second, err := commitConfirmed(t, ms[1], config.ClusterLevel, "admin", soon, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 8 })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := edit(t, ms[1], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxConcurrency = 8 }); err != nil {
		t.Fatalf("the author's plain commit: %v", err)
	}
	waitPending(t, ms, 0)
	third, err := commitConfirmed(t, ms[1], config.ClusterLevel, "admin", soon.Add(time.Second), func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 9 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, third.Rev+1)
	for _, m := range ms {
		if d := m.running().Destinations.Default; d.MaxMsgsPerConn != 8 || d.MaxConcurrency != 8 {
			t.Errorf("%s runs %+v; want the confirmed revisions %d and %d and not %d", m.id, d, first.Rev, second.Rev, third.Rev)
		}
	}
	if rs := reverts(t, ms[0]); len(rs) != 1 || rs[0].Rev != third.Rev+1 {
		t.Fatalf("confirm-revert revisions %+v, want revision %d alone", rs, third.Rev+1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := ms[0].st.At(config.ClusterLevel).RevertPending(ctx, "by hand", nil); !errors.Is(err, store.ErrNoPending) {
		t.Fatalf("revert with nothing pending: %v, want %v", err, store.ErrNoPending)
	}
}

// The holder of confirm-leader dies (its client gone: no keep-alive, no
// revoke) with a commit pending: another member takes the key once the
// lease expires and reverts at the deadline.
func TestConfirmedCommitHolderDies(t *testing.T) {
	ms := newCluster(t, 3, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var holder *machine
	for holder == nil {
		id, err := ConfirmHolder(ctx, ms[1].cli)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if id == m.id {
				holder = m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := ms[0].running().Destinations.Default.MaxMsgsPerConn
	res, err := commitConfirmed(t, holder, config.ClusterLevel, "admin", time.Now().Add(2*time.Second), func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 })
	if err != nil {
		t.Fatal(err)
	}
	holder.cli.Close()
	var others []*machine
	for _, m := range ms {
		if m != holder {
			others = append(others, m)
		}
	}
	waitAll(t, others, res.Rev+1)
	for _, m := range others {
		if got := m.running().Destinations.Default.MaxMsgsPerConn; got != before {
			t.Errorf("%s runs max messages %d after the deadline, want %d", m.id, got, before)
		}
	}
	if rs := reverts(t, others[0]); len(rs) != 1 || rs[0].Rev != res.Rev+1 {
		t.Fatalf("confirm-revert revisions %+v, want revision %d alone", rs, res.Rev+1)
	}
	if id, err := ConfirmHolder(ctx, others[0].cli); err != nil || id == "" || id == holder.id {
		t.Fatalf("confirm-leader after %s died: %q %v", holder.id, id, err)
	}
}
