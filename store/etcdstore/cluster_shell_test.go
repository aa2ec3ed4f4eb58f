package etcdstore

import (
	"context"
	"testing"
	"time"

	"esash/shell"
)

// The cluster store is what the shell's sessions see of the cluster.
var _ shell.Cluster = (*Store)(nil)

func TestListMembers(t *testing.T) {
	ms := newCluster(t, 2, 3*time.Second)
	name, list, err := ms[1].st.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if name != "Test-Cluster" || len(list) != 2 || list[1].Hostname != "m2.example.com" || list[1].Group != DefaultGroup || list[1].Applied < 2 {
		t.Errorf("List = %q, %+v", name, list)
	}
	if got := ms[0].st.Members(); len(got) != 2 || got["m1"] != "m1.example.com" {
		t.Errorf("Members = %v", got)
	}
}
