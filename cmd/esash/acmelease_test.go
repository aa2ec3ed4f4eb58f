package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/shell/shelltest"
	"esash/store"
	"esash/store/etcdstore"
	"esash/store/etcdstore/etcdtest"
)

func soloCluster(t *testing.T, ip string) *etcdstore.Store {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	return etcdtest.Solo(t, ip, "Test-Cluster", "m1", local)
}

// TestACMELeaseExcludes: on real etcd two holders of the lease of the same
// cluster-level profile exclude each other, the second gets it once the
// first releases it, and another profile's lease is independent.
func TestACMELeaseExcludes(t *testing.T) {
	st := soloCluster(t, "127.0.15.41")
	a, b := &appliance{}, &appliance{}
	a.cluster.st, a.cluster.cli = st, st.Client()
	b.cluster.st, b.cluster.cli = st, st.Client()
	ctx, cancel := context.WithTimeout(context.Background(), etcdtest.Wait)
	defer cancel()

	if lvl, err := certificatesLevel(st); err != nil || lvl != config.ClusterLevel {
		t.Fatalf("certificates come from %v (%v), want the cluster", lvl, err)
	}
	releaseA, held, err := a.acmeLease(ctx, "Mail")
	if err != nil || !held {
		t.Fatalf("first holder: held %v, %v", held, err)
	}
	if _, held, err := b.acmeLease(ctx, "Mail"); err != nil || held {
		t.Fatalf("second holder while the first holds it: held %v, %v", held, err)
	}
	releaseOther, held, err := b.acmeLease(ctx, "Other")
	if err != nil || !held {
		t.Fatalf("another profile: held %v, %v", held, err)
	}
	releaseOther()
	releaseA()
	releaseB, held, err := b.acmeLease(ctx, "Mail")
	if err != nil || !held {
		t.Fatalf("second holder after the release: held %v, %v", held, err)
	}
	if _, held, _ := a.acmeLease(ctx, "Mail"); held {
		t.Fatal("first holder got the lease the second holds")
	}
	releaseB()
	got, err := st.Client().Get(ctx, acmeLeaseKey(config.ClusterLevel, "Mail"), clientv3.WithPrefix())
	if err != nil || got.Count != 0 {
		t.Fatalf("lease keys left after release: %v %v", got, err)
	}
}

// A standalone machine needs no lease.
func TestACMELeaseStandalone(t *testing.T) {
	a := &appliance{}
	release, held, err := a.acmeLease(context.Background(), "Mail")
	if err != nil || !held {
		t.Fatalf("standalone: held %v, %v", held, err)
	}
	release()
	if b, err := a.acmeCommitTo(); b != nil || err != nil {
		t.Fatalf("standalone commits through %v (%v), want the local store", b, err)
	}
}

// TestACMECommitLevel: a certificate is committed through the cluster
// store at the level the certificates section comes from; once this
// machine overrides the section, its profiles need no lease.
func TestACMECommitLevel(t *testing.T) {
	st := soloCluster(t, "127.0.15.42")
	a := &appliance{}
	a.cluster.st, a.cluster.cli = st, st.Client()
	b, err := a.acmeCommitTo()
	if err != nil {
		t.Fatal(err)
	}
	if lb, ok := b.(*etcdstore.LevelBackend); !ok || lb.Level() != config.ClusterLevel {
		t.Fatalf("commits through %T %v, want the cluster level", b, b)
	}
	own := config.Level{Kind: config.LevelMachine, Name: "m1"}
	ctx, cancel := context.WithTimeout(context.Background(), etcdtest.Wait)
	defer cancel()
	d := store.NewDraft(st.At(own), "admin", "test")
	d.Update(func(c *config.Config) error {
		c.Certificates = append([]config.Certificate(nil), c.Certificates...)
		if len(c.Certificates) == 0 {
			t.Fatal("no certificate to override")
		}
		extra := c.Certificates[0]
		extra.Name = "MachineOwn"
		c.Certificates = append(c.Certificates, extra)
		return nil
	})
	res, err := d.Commit(ctx, "machine certificates", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WaitApplied(ctx, res.Rev); err != nil {
		t.Fatal(err)
	}
	if lvl, err := certificatesLevel(st); err != nil || lvl != own {
		t.Fatalf("certificates come from %v (%v), want the machine", lvl, err)
	}
	if b, err := a.acmeCommitTo(); err != nil || b.(*etcdstore.LevelBackend).Level() != own {
		t.Fatalf("commits through %v (%v), want the machine level", b, err)
	}
	release, held, err := a.acmeLease(ctx, "Mail")
	if err != nil || !held {
		t.Fatalf("machine-level profile: held %v, %v", held, err)
	}
	release()
	got, err := st.Client().Get(ctx, "/esa/v1/leases/", clientv3.WithPrefix())
	if err != nil || got.Count != 0 {
		t.Fatalf("a machine-level profile took a lease: %v %v", got.Kvs, err)
	}
}
