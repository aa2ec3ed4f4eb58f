package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.uber.org/zap"

	"esash/config"
	"esash/store"
)

// msgsAt is the setting commit i of the compaction test writes.
func msgsAt(i int) int { return 10 + i }

// TestHistoryCompacted is issue 13's unbounded history: after more
// commits than the window, the oldest revisions answer ErrNotKept on
// every member, rollback to the oldest kept one works everywhere, the
// revision records and audit entries are bounded, every member's etcd
// compacted below the window, and a member stopped across the compaction
// catches up when it returns.
func TestHistoryCompacted(t *testing.T) {
	ms := newCluster(t, 3, 2*time.Second)
	for _, m := range ms {
		if cfg := m.etcd.Config(); cfg.SnapshotCount != snapshotEvery || cfg.AutoCompactionRetention != "" && cfg.AutoCompactionRetention != "0" {
			t.Errorf("%s: etcd snapshot count %d, auto-compaction %q; want %d and none (compact.go compacts)", m.id, cfg.SnapshotCount, cfg.AutoCompactionRetention, snapshotEvery)
		}
	}
	bounds := historyBounds{revs: 10, audit: 12, every: 5}
	for _, m := range ms {
		m.st.history = bounds
	}
	// m3 goes away, its store and its etcd member, across the compaction.
	late := ms[2]
	late.st.Close()
	late.stop()
	live := ms[:2]
	byRev := map[uint64]int{} // revision -> the setting it committed
	var head uint64
	for i := range 23 {
		res, err := edit(t, live[i%2], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = msgsAt(i) })
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		byRev[res.Rev], head = msgsAt(i), res.Rev
		waitAll(t, live, head) // the next draft starts from it: no merge
	}
	oldestKept := head - bounds.revs + 1
	for _, m := range live {
		for _, rev := range []uint64{1, oldestKept - 1} {
			_, err := m.st.At(config.ClusterLevel).ConfigAt(rev)
			if !errors.Is(err, ErrNotKept) || !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "no longer kept") {
				t.Errorf("%s: ConfigAt(%d) outside the window = %v, want ErrNotKept", m.id, rev, err)
			}
		}
	}
	t.Logf("outside the window: %v", func() error { _, err := ms[0].st.At(config.ClusterLevel).ConfigAt(1); return err }())
	checkBounded(t, ms[0], bounds, head)
	// The committer of the newest multiple of the period pruned last.
	compactedBelow := head - head%bounds.every - bounds.revs + 1
	checkCompacted(t, live, compactedBelow)
	// A machine that prunes late, behind another's compaction, is not
	// told of a failure: its Compact is refused as already done.
	pctx, pcancel := context.WithTimeout(context.Background(), wait)
	defer pcancel()
	if _, err := ms[1].st.prune(pctx, head-head%bounds.every-bounds.every); err != nil {
		t.Errorf("a late prune: %v", err)
	}

	// Rollback to the oldest revision kept, from the other member.
	cfg, err := ms[1].st.At(config.ClusterLevel).ConfigAt(oldestKept)
	if err != nil {
		t.Fatalf("ConfigAt(oldest kept %d): %v", oldestKept, err)
	}
	if got := cfg.Destinations.Default.MaxMsgsPerConn; got != byRev[oldestKept] {
		t.Fatalf("revision %d read back with %d, committed %d", oldestKept, got, byRev[oldestKept])
	}
	d := store.NewDraft(ms[1].st.At(config.ClusterLevel), "admin", "test")
	d.Replace(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	res, err := d.Commit(ctx, "rollback", false, nil)
	if err != nil {
		t.Fatalf("rollback to %d: %v", oldestKept, err)
	}

	// m3 returns: its member catches up with the compacted cluster, its
	// store (whose watch starts below the compaction) reloads.
	restartMember(t, late)
	late.st, err = Open(context.Background(), Options{Client: late.cli, Machine: late.id, Mirror: late.local, DataKey: late.key, Prepare: late.prepare, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.st.Close() })
	waitAll(t, ms, res.Rev)
	for _, m := range ms {
		if got := m.running().Destinations.Default.MaxMsgsPerConn; got != byRev[oldestKept] {
			t.Errorf("%s runs %d after the rollback, want %d", m.id, got, byRev[oldestKept])
		}
	}
	checkCompacted(t, ms, compactedBelow)
}

// checkBounded: the revision records are the window and at most a
// pruning period more, the audit trail at most its bound plus what the
// commits since the last pruning added.
func checkBounded(t *testing.T, m *machine, b historyBounds, head uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := m.cli.Get(ctx, revPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count < int64(b.revs) || resp.Count >= int64(b.revs+b.every) {
		t.Errorf("%d revision records kept at head %d, want %d to %d", resp.Count, head, b.revs, b.revs+b.every-1)
	}
	revs, err := m.st.At(config.ClusterLevel).Revisions(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != int(b.revs) || revs[len(revs)-1].Rev != head-b.revs+1 {
		t.Errorf("Revisions lists %d down to %d, want the window: %d down to %d", len(revs), revs[len(revs)-1].Rev, head, head-b.revs+1)
	}
	audit, err := m.st.At(config.ClusterLevel).AuditLog(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) > int(b.audit)+int(b.every) {
		t.Errorf("%d audit entries kept, want at most %d", len(audit), int(b.audit)+int(b.every))
	}
}

// checkCompacted waits until every member's etcd refuses a read below the
// etcd revision of revision oldest with ErrCompacted, and still serves it.
func checkCompacted(t *testing.T, ms []*machine, oldest uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := ms[0].cli.Get(ctx, revKey(oldest))
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("revision record %d: %v", oldest, err)
	}
	at := resp.Kvs[0].ModRevision
	if _, err := ms[0].cli.Get(ctx, keyHead, clientv3.WithRev(at-1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("a read below the window (etcd revision %d) = %v, want ErrCompacted", at-1, err)
	}
	for _, m := range ms {
		kv := m.etcd.Server.KV()
		for {
			_, err := kv.Range(ctx, []byte(keyHead), nil, mvcc.RangeOptions{Rev: at - 1})
			if errors.Is(err, mvcc.ErrCompacted) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: a read at etcd revision %d = %v, want compacted", m.id, at-1, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := kv.Range(ctx, []byte(keyHead), nil, mvcc.RangeOptions{Rev: at}); err != nil {
			t.Errorf("%s: the oldest revision kept (etcd revision %d) unreadable: %v", m.id, at, err)
		}
	}
}

// restartMember starts m's stopped etcd member again from its data
// directory.
func restartMember(t *testing.T, m *machine) {
	t.Helper()
	cfg := m.etcd.Config()
	mc := MemberConfig{Name: cfg.Name, Dir: cfg.Dir, TLSDir: filepath.Dir(cfg.ClientTLSInfo.CertFile),
		PeerURL: cfg.ListenPeerUrls[0], ClientURL: cfg.ListenClientUrls[0], InitialCluster: cfg.InitialCluster,
		Existing: true, TickMs: cfg.TickMs, ElectionMs: cfg.ElectionMs, Logger: zap.NewNop()}
	e, err := StartMember(mc, wait)
	if err != nil {
		t.Fatal(err)
	}
	m.etcd, m.once = e, sync.Once{}
}

// TestPruneFailureReported: a prune that fails does not fail the commit
// but is reported, once however many commits it keeps failing, and the
// first prune that works again is reported too; the revision records are
// bounded again after it.
func TestPruneFailureReported(t *testing.T) {
	m := newCluster(t, 1, 2*time.Second)[0]
	var mu sync.Mutex
	var reports []string
	m.st.onHistory = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, fmt.Sprint(err))
	}
	injected := errors.New("injected prune failure")
	var failing sync.Mutex // held: prunes fail
	m.st.history = historyBounds{revs: 3, every: 1, fault: func() error {
		if failing.TryLock() {
			failing.Unlock()
			return nil
		}
		return injected
	}}
	failing.Lock()
	var head uint64
	for i := range 6 {
		res, err := edit(t, m, config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = msgsAt(i) })
		if err != nil {
			t.Fatalf("commit %d while prunes fail: %v", i, err)
		}
		head = res.Rev
	}
	records := func() int64 {
		t.Helper()
		resp, err := m.st.cli.Get(context.Background(), revPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	if n := records(); n != int64(head) {
		t.Fatalf("%d revision records after %d revisions whose prunes failed", n, head)
	}
	failing.Unlock()
	if _, err := edit(t, m, config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = msgsAt(7) }); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{injected.Error(), "<nil>"}
	if !slices.Equal(reports, want) {
		t.Errorf("reports %q, want %q (the failure once, then the recovery)", reports, want)
	}
	if n := records(); n != 3 {
		t.Errorf("%d revision records after a prune worked again, want 3", n)
	}
}
