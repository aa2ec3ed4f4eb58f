package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// A cluster-level change committed on one machine is what every machine
// runs, through its prepare step and its local store.
func TestCommitActiveOnAll(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	cert := testCert(t, "Shared")
	res, err := edit(t, ms[1], config.ClusterLevel, func(c *config.Config) {
		c.Certificates = append(c.Certificates, cert)
		c.Destinations.Certificate = "Shared"
	})
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	for _, m := range ms {
		for what, c := range map[string]*config.Config{"services": m.running(), "local store": m.local.Head().Config} {
			if c == nil || c.Destinations.Certificate != "Shared" {
				t.Errorf("%s %s: destination certificate not Shared", m.id, what)
				continue
			}
			if c.Hostname != m.id+".example.com" {
				t.Errorf("%s %s: hostname %q, want its own", m.id, what, c.Hostname)
			}
		}
	}
	revs, err := ms[2].st.At(config.ClusterLevel).Revisions(1)
	if err != nil || len(revs) != 1 || revs[0].Rev != res.Rev || len(revs[0].Changes) == 0 {
		t.Errorf("history on m3 = %+v, %v; want revision %d with its changes", revs, err, res.Rev)
	}
	// A watch from before a compaction reloads in full (follow returns 0).
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	compactAll(ctx, t, ms[0])
	if from := ms[2].st.follow(ctx, 1); from != 0 {
		t.Errorf("a watch from a compacted revision resumed at %d, want a full reload (0)", from)
	}
	res, err = edit(t, ms[2], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 11 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	for _, m := range ms {
		if m.running().Destinations.Default.MaxMsgsPerConn != 11 {
			t.Errorf("%s does not run the revision committed after the compaction", m.id)
		}
	}
}

// A group override reaches the group's machines only; a machine-level
// certificate survives leave and rejoin.
func TestGroupOverrideLeaveRejoin(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := ms[0].st.AddGroup(ctx, "dmz", store.Meta{User: "admin"}); err != nil {
		t.Fatal(err)
	}
	if err := ms[0].st.SetGroup(ctx, "m3", "dmz", store.Meta{User: "admin"}); err != nil {
		t.Fatal(err)
	}
	res, err := edit(t, ms[0], config.Level{Kind: config.LevelGroup, Name: "dmz"}, func(c *config.Config) {
		c.Destinations.Default.TLS = config.TLSOutPreferred
	})
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	for i, want := range []config.TLSOut{config.TLSOutNo, config.TLSOutNo, config.TLSOutPreferred} {
		if got := ms[i].running().Destinations.Default.TLS; got != want {
			t.Errorf("%s runs destination TLS %q, want %q", ms[i].id, got, want)
		}
	}
	own := testCert(t, "MachineCert")
	if _, err := edit(t, ms[2], config.Level{Kind: config.LevelMachine, Name: "m3"}, func(c *config.Config) {
		c.Certificates = append(c.Certificates, own)
	}); err != nil {
		t.Fatal(err)
	}
	flat, err := ms[2].st.Leave(ctx, store.Meta{User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if !hasCert(flat, own) || flat.Destinations.Default.TLS != config.TLSOutPreferred {
		t.Errorf("flattened configuration lost the machine certificate or the group override")
	}
	// Leave removed m3's etcd member; its daemon closes it (cmd/esash).
	ms[2].stop()
	// Meanwhile, the cluster goes on; the machine that left does not follow.
	res, err = edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 42 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	if ms[2].local.Head().Config.Destinations.Default.MaxMsgsPerConn == 42 {
		t.Error("a machine that left applied a cluster revision")
	}
	fresh := ms[2].local.Head().Config.Clone()
	fresh.Certificates = fresh.Certificates[:1]
	rev, err := ms[2].st.Join(ctx, DefaultGroup, fresh, store.Meta{User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, rev)
	back := ms[2].running()
	if !hasCert(back, own) {
		t.Error("rejoin did not restore the machine-level certificate")
	}
	if back.Destinations.Default.MaxMsgsPerConn != 42 {
		t.Error("rejoined machine does not run the cluster's newer revision")
	}
}

func hasCert(c *config.Config, want config.Certificate) bool {
	for _, x := range c.Certificates {
		if x.Name == want.Name && x.KeyPEM == want.KeyPEM && x.CertPEM == want.CertPEM {
			return true
		}
	}
	return false
}

// Two machines commit from the same revision at once: different settings
// merge, the same setting changed differently is a conflict for one.
func TestConcurrentCommits(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	for _, tc := range []struct {
		name         string
		a, b         func(c *config.Config)
		wantConflict bool
	}{
		{"different settings merge",
			func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 },
			func(c *config.Config) { c.Delivery.MaxConcurrency = 777 }, false},
		{"same setting conflicts",
			func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 8 },
			func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 9 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			da := store.NewDraft(ms[0].st.At(config.ClusterLevel), "alice", "test")
			db := store.NewDraft(ms[1].st.At(config.ClusterLevel), "bob", "test")
			if da.Base().Rev != db.Base().Rev {
				t.Fatalf("drafts start at %d and %d", da.Base().Rev, db.Base().Rev)
			}
			for d, fn := range map[*store.Draft]func(*config.Config){da: tc.a, db: tc.b} {
				if err := d.Update(func(c *config.Config) error { fn(c); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			results := make([]store.Result, 2)
			for i, d := range []*store.Draft{da, db} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx, cancel := context.WithTimeout(context.Background(), wait)
					defer cancel()
					results[i], errs[i] = d.Commit(ctx, tc.name, false, nil)
				}()
			}
			wg.Wait()
			var conflicts, merged int
			for i, err := range errs {
				var ce *store.ConflictError
				switch {
				case errors.As(err, &ce):
					conflicts++
					if len(ce.Conflicts) != 1 || ce.Conflicts[0].Path != "destinations.default.max_messages_per_connection" {
						t.Errorf("conflict = %v", ce)
					}
				case err != nil:
					t.Fatalf("commit %d: %v", i, err)
				case len(results[i].MergedOver) > 0:
					merged++
				}
			}
			if tc.wantConflict && (conflicts != 1) || !tc.wantConflict && (conflicts != 0 || merged != 1) {
				t.Fatalf("conflicts %d, merged %d; errors %v", conflicts, merged, errs)
			}
			// Wait for the newest committed revision, not for what a third
			// machine has seen so far (it may be one revision behind).
			waitAll(t, ms, max(results[0].Rev, results[1].Rev))
			for _, m := range ms {
				if !tc.wantConflict && (m.running().Delivery.MaxConcurrency != 777 || m.running().Destinations.Default.MaxMsgsPerConn != 7) {
					t.Errorf("%s does not run both merged changes", m.id)
				}
			}
		})
	}
}

// Without quorum a commit is refused with a clear message within the
// timeout, and the survivor's services keep what they run.
func TestQuorumLoss(t *testing.T) {
	ms := newCluster(t, 3, time.Second)
	before := ms[0].running()
	ms[1].stop()
	ms[2].stop()
	start := time.Now()
	_, err := edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 3 })
	if !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("commit without quorum = %v, want ErrNoQuorum", err)
	}
	if !strings.Contains(err.Error(), "cluster has no quorum; commit refused") {
		t.Errorf("message %q does not say why", err)
	}
	if d := time.Since(start); d > wait/2 {
		t.Errorf("the refusal took %s", d)
	}
	if ms[0].running() != before || ms[0].local.Head().Config.Destinations.Default.MaxMsgsPerConn == 3 {
		t.Error("the survivor's running configuration changed")
	}
}

// No private key is in clear in etcd: not in a snapshot of its database.
func TestSnapshotHasNoPrivateKey(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	cert := testCert(t, "Secret")
	if _, err := edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Certificates = append(c.Certificates, cert) }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	rc, err := ms[1].cli.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	snap, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(snap, []byte(revKey(1))) {
		t.Fatal("the snapshot does not hold the cluster's keys: the test would prove nothing")
	}
	body := strings.Split(strings.TrimSpace(cert.KeyPEM), "\n")[1] // a line of the key's base64
	for _, needle := range []string{"PRIVATE KEY", body, "Demo"} {
		if bytes.Contains(snap, []byte(needle)) {
			t.Errorf("the etcd snapshot contains %q in clear", needle)
		}
	}
}

// compactAll compacts etcd at its current revision through m's client:
// every older revision is gone.
func compactAll(ctx context.Context, t *testing.T, m *machine) {
	t.Helper()
	cur, err := m.cli.Get(ctx, keyHead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.cli.Compact(ctx, cur.Header.Revision); err != nil {
		t.Fatal(err)
	}
}
