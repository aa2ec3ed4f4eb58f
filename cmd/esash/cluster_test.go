package main

import (
	"fmt"
	"strings"
	"testing"
)

// clusterEnv shortens etcd's timeouts for the tests.
var clusterEnv = []string{"ESASH_ETCD_TICK_MS=50", "ESASH_ETCD_ELECTION_MS=500", "ESASH_CLUSTER_TIMEOUT=5s"}

// newClusterMachines starts n daemons, each on its own loopback address
// with SSH password login open for admin.
func newClusterMachines(t *testing.T, n int) []*sshAppliance {
	t.Helper()
	ms := make([]*sshAppliance, n)
	for i := range ms {
		ms[i] = newSSHAppliance(t, sshOpts{env: clusterEnv})
		if out, code := ms[i].console("passwd\n" + adminPW + "\n" + adminPW + "\n"); code != 0 {
			t.Fatalf("passwd: %d\n%s", code, out)
		}
	}
	return ms
}

// TestClusterCreateJoin: A creates a cluster, B and C join through the
// batch form over real SSH; every session then starts at the cluster
// level and every machine is listed.
func TestClusterCreateJoin(t *testing.T) {
	ms := newClusterMachines(t, 3)
	r := ms[0].withPassword("admin", adminPW, "", "clusterconfig create Test-Cluster "+ms[0].ip)
	if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
		t.Fatalf("create: %d\n%s", r.code, r.out)
	}
	for _, m := range ms[1:] {
		r := m.withPassword("admin", adminPW, "", fmt.Sprintf("clusterconfig join %s admin %s Main_Group", ms[0].addr(), adminPW))
		if r.code != 0 || !strings.Contains(r.out, "cluster takes effect immediately") {
			t.Fatalf("join %s: %d\n%s", m.ip, r.code, r.out)
		}
	}
	r = ms[2].withPassword("admin", adminPW, "", "clusterconfig list")
	if r.code != 0 || strings.Count(r.out, "Machine ") != 3 {
		t.Fatalf("list on C: %d\n%s", r.code, r.out)
	}
	t.Log(r.out)
}
