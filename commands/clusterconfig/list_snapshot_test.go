package clusterconfig_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/commands/clusterconfig"
	"esash/shell"
	"esash/shell/shelltest"
	"esash/store"
	"esash/store/etcdstore"
	"esash/store/etcdstore/etcdtest"
)

// changingCluster is the cluster store with another administrator's
// change made right after LIST read the members: what a session shows
// must come from one read, whatever happens after it.
type changingCluster struct {
	*etcdstore.Store
	change func(ctx context.Context)
}

func (c *changingCluster) List(ctx context.Context) (store.ClusterStatus, error) {
	cl, err := c.Store.List(ctx)
	if c.change != nil {
		c.change(ctx)
		c.change = nil
	}
	return cl, err
}

// TestListIsOneSnapshot: LIST showed the members read from the cluster
// under the groups of the newest revision the watcher had applied, read
// apart from them; a group renamed in between (by another machine, or
// before this one's watcher caught up) left its machines under no group
// at all, and the machine vanished from the list. The disconnection flags
// came from a third read.
func TestListIsOneSnapshot(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	local := shelltest.OpenStore(t, dir, shelltest.Options{Clock: time.Now})
	st := etcdtest.Solo(t, "127.0.14.7", "Test-Cluster", "m1", local)
	ctx, cancel := context.WithTimeout(context.Background(), etcdtest.Wait)
	defer cancel()
	meta := store.Meta{User: "other", Source: "test"}
	if err := st.AddGroup(ctx, "dmz", meta); err != nil {
		t.Fatal(err)
	}
	if err := st.SetGroup(ctx, "m1", "dmz", meta); err != nil {
		t.Fatal(err)
	}
	c := &changingCluster{Store: st}
	sh, err := shell.New(local, shell.Options{Now: time.Now, Cluster: c}, clusterconfig.New())
	if err != nil {
		t.Fatal(err)
	}
	a := &shelltest.Appliance{Dir: dir, DB: local, Shell: sh, Source: "test"}
	c.change = func(ctx context.Context) {
		if err := st.RenameGroup(ctx, "dmz", "edge", meta); err != nil {
			t.Error(err)
		}
		if err := st.Disconnect(ctx, "m1", meta); err != nil {
			t.Error(err)
		}
	}
	out, code, _ := a.Run(false, "clusterconfig list\n")
	if c.change != nil {
		t.Fatal("LIST did not read the members; the test no longer changes the cluster inside it")
	}
	want := "Cluster Test-Cluster\nGroup Main_Group:\nGroup dmz:\n    Machine esa.example.com\n"
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("exit %d; want the cluster as LIST read it:\n%s\ngot:\n%s", code, want, out)
	}
}
