package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"esash/config"
	"esash/store"
)

// BenchmarkClusterStages takes a commit on a 3-member cluster apart, in one
// process, with etcd's production timing (heartbeat 100 ms, election 1 s,
// call deadline 2 s) and the services replaced by a prepare that records
// what would run (the real services are in cmd/esash's BenchmarkCluster):
//
//	go test -run '^$' -bench '^BenchmarkClusterStages$' -benchtime 100x ./store/etcdstore/
//
// Every figure is wall-clock per operation, in milliseconds:
//
//   - standalone: a change (the default destination's MaxMsgsPerConn)
//     committed through a draft on a local store (store.DB: bbolt, fsync).
//   - commit: the same change through a draft at the cluster level on m1,
//     answered once m1 runs it (p50-ms, p99-ms), then awaited on every
//     member through WaitApplied (active-all-p50-ms, active-all-p99-ms);
//     a watch of the benchmark's own says when head reached the revision
//     (head-seen: read, check and Txn done) and when m1's status did
//     (m1-status-seen: m1's watcher read the cluster, activated, reported).
//   - load: one read of the whole cluster at its current revision (what a
//     commit does first and every member does per revision).
//   - txn: one guarded Txn writing one key (the consensus round of a
//     commit: the leader's and a follower's WAL fsync).
//   - put: one Put (what each member's status report costs).
//   - mirror: a member's local store taking an effective configuration
//     with the prepare step (bbolt write and fsync).
func BenchmarkClusterStages(b *testing.B) {
	ms := newBenchCluster(b, 3)
	m1 := ms[0]
	ctx := context.Background()
	n := 0
	change := func(c *config.Config) {
		n++
		c.Destinations.Default.MaxMsgsPerConn = 1 + n%999
	}
	b.Run("standalone", func(b *testing.B) {
		db := benchLocal(b, "solo")
		stageTimes(b, func() {
			d := store.NewDraft(db, "admin", "bench")
			if err := d.Update(func(c *config.Config) error { change(c); return nil }); err != nil {
				b.Fatal(err)
			}
			if _, err := d.Commit(ctx, "bench", false, nil); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("commit", func(b *testing.B) {
		seen := watchSeen(b, m1.cli)
		var commits, all, heads, applied []time.Duration
		for range b.N {
			d := store.NewDraft(m1.st.At(config.ClusterLevel), "admin", "bench")
			if err := d.Update(func(c *config.Config) error { change(c); return nil }); err != nil {
				b.Fatal(err)
			}
			begin := time.Now()
			res, err := d.Commit(ctx, "bench", false, nil)
			if err != nil {
				b.Fatal(err)
			}
			commits = append(commits, time.Since(begin))
			wctx, cancel := context.WithTimeout(ctx, wait)
			for _, m := range ms {
				if err := m.st.WaitApplied(wctx, res.Rev); err != nil {
					b.Fatal(err)
				}
			}
			cancel()
			all = append(all, time.Since(begin))
			heads = append(heads, seen.when(b, keyHead, res.Rev).Sub(begin))
			applied = append(applied, seen.when(b, statPrefix+m1.id+"/applied", res.Rev).Sub(begin))
		}
		benchQuantiles(b, "", commits)
		benchQuantiles(b, "active-all-", all)
		benchQuantiles(b, "head-seen-", heads)
		benchQuantiles(b, "m1-status-seen-", applied)
	})
	b.Run("load", func(b *testing.B) {
		stageTimes(b, func() {
			if _, err := m1.st.load(ctx, 0); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("txn", func(b *testing.B) {
		stageTimes(b, func() {
			tctx, cancel := context.WithTimeout(ctx, m1.st.timeout)
			defer cancel()
			_, err := m1.cli.Txn(tctx).If(clientv3.Compare(clientv3.Version(prefix+"bench"), ">", -1)).
				Then(clientv3.OpPut(prefix+"bench", strconv.Itoa(n))).Commit()
			if err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("put", func(b *testing.B) {
		stageTimes(b, func() {
			tctx, cancel := context.WithTimeout(ctx, m1.st.timeout)
			defer cancel()
			if _, err := m1.cli.Put(tctx, statPrefix+"bench/applied", `{"rev":1}`); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("mirror", func(b *testing.B) {
		stageTimes(b, func() {
			head := m1.local.Head()
			next := head.Config.Clone()
			change(next)
			if _, err := m1.local.Commit(ctx, store.CommitRequest{Base: head, Candidate: next, Meta: store.Meta{User: "bench"}, Prepare: m1.prepare}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// seenKeys records when a watch of the benchmark saw head and the
// applied statuses reach each revision.
type seenKeys struct {
	mu   sync.Mutex
	at   map[string]map[uint64]time.Time
	grew chan struct{}
}

func watchSeen(b *testing.B, cli *clientv3.Client) *seenKeys {
	w := &seenKeys{at: map[string]map[uint64]time.Time{}, grew: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	wch := cli.Watch(ctx, prefix, clientv3.WithPrefix())
	go func() {
		for resp := range wch {
			now := time.Now()
			w.mu.Lock()
			for _, ev := range resp.Events {
				k := string(ev.Kv.Key)
				if k != keyHead && !strings.HasPrefix(k, statPrefix) {
					continue
				}
				var v appliedStatus // head's value has the same "rev"
				if json.Unmarshal(ev.Kv.Value, &v) != nil {
					continue
				}
				if w.at[k] == nil {
					w.at[k] = map[uint64]time.Time{}
				}
				if _, ok := w.at[k][v.Rev]; !ok {
					w.at[k][v.Rev] = now
				}
			}
			close(w.grew)
			w.grew = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	return w
}

// when is when key reached rev, waiting for the watch to tell.
func (w *seenKeys) when(b *testing.B, key string, rev uint64) time.Time {
	timeout := time.After(wait)
	for {
		w.mu.Lock()
		t, ok := w.at[key][rev]
		grew := w.grew
		w.mu.Unlock()
		if ok {
			return t
		}
		select {
		case <-grew:
		case <-timeout:
			b.Fatalf("the watch did not see %s reach revision %d", key, rev)
		}
	}
}

// stageTimes runs op b.N times and reports the quantiles of its duration.
func stageTimes(b *testing.B, op func()) {
	var lat []time.Duration
	for range b.N {
		begin := time.Now()
		op()
		lat = append(lat, time.Since(begin))
	}
	benchQuantiles(b, "", lat)
}

func benchQuantiles(b *testing.B, prefix string, s []time.Duration) {
	if len(s) == 0 {
		return
	}
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(s[len(s)/2]), prefix+"p50-ms")
	b.ReportMetric(ms(s[len(s)*99/100]), prefix+"p99-ms")
	b.ReportMetric(0, "ns/op") // the wall clock of the loop includes the waits: see the quantiles
}

// newBenchCluster is newCluster for benchmarks, with etcd's production
// timing: m1 creates the cluster, the others start as learners, join
// Main_Group and are promoted.
func newBenchCluster(b *testing.B, n int) []*machine {
	b.Helper()
	caDir := b.TempDir()
	if err := NewCA(caDir); err != nil {
		b.Fatal(err)
	}
	key := NewDataKey()
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	ms := make([]*machine, n)
	var members []string
	for i := range ms {
		m := &machine{id: fmt.Sprintf("m%d", i+1), ip: fmt.Sprintf("127.0.113.%d", i+1)}
		ms[i] = m
		mc := benchMemberConfig(b, caDir, m)
		var err error
		if i == 0 {
			mc.InitialCluster = m.id + "=" + mc.PeerURL.String()
			m.etcd, err = StartMember(mc, wait)
		} else {
			m.etcd, m.learner, err = StartLearner(ctx, ms[0].cli, mc, wait)
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(m.stop)
		members = append(members, mc.ClientURL.String())
		if m.cli, err = Dial(members[:1], mc.TLSDir, wait); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.cli.Close() })
		m.local = benchLocal(b, m.id)
		m.active = m.local.Head().Config
		if i == 0 {
			if err := Create(ctx, m.cli, key, "Bench", m.id, m.local.Head().Config, store.Meta{User: "admin", Time: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
		if m.st, err = Open(ctx, Options{Client: m.cli, Machine: m.id, Mirror: m.local, DataKey: key, Prepare: m.prepare}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { m.st.Close() })
		if i > 0 {
			if err := m.st.WaitApplied(ctx, 1); err != nil {
				b.Fatal(err)
			}
			if _, err := m.st.Join(ctx, DefaultGroup, m.local.Head().Config, store.Meta{User: "admin"}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, m := range ms {
		if m.learner != 0 {
			if err := Promote(ctx, ms[0].cli, m.learner); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, m := range ms {
		m.cli.SetEndpoints(members...)
		if err := m.st.WaitApplied(ctx, uint64(n)); err != nil {
			b.Fatal(err)
		}
	}
	return ms
}

// benchMemberConfig is m's member on free ports of its address, with
// etcd's default heartbeat and election timeout.
func benchMemberConfig(b *testing.B, caDir string, m *machine) MemberConfig {
	b.Helper()
	tlsDir := b.TempDir()
	if err := IssueMember(caDir, tlsDir, m.id, net.ParseIP(m.ip)); err != nil {
		b.Fatal(err)
	}
	port := func() int {
		l, err := net.Listen("tcp", m.ip+":0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
	return MemberConfig{Name: m.id, Dir: b.TempDir(), TLSDir: tlsDir,
		PeerURL:   url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", m.ip, port())},
		ClientURL: url.URL{Scheme: "https", Host: fmt.Sprintf("%s:%d", m.ip, port())},
		Logger:    zap.NewNop()}
}

// benchLocal is a machine's local store with its own hostname.
func benchLocal(b *testing.B, id string) *store.DB {
	b.Helper()
	demo := testCert(b, "Demo")
	db, err := store.Open(filepath.Join(b.TempDir(), "config.db"), store.Options{Factory: func() (*config.Config, error) {
		c := config.Factory(demo)
		c.Hostname = id + ".example.com"
		c.Interfaces[0].Hostname = c.Hostname
		return c, nil
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
