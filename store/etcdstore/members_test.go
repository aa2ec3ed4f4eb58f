package etcdstore

import (
	"context"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// memberNames lists the etcd members m's client sees.
func memberNames(t *testing.T, m *machine) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	resp, err := m.cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mem := range resp.Members {
		names[mem.Name] = true
	}
	return names
}

// REMOVEMACHINE of another machine removes its etcd member too, and so
// does leaving: quorum is counted over the machines that remain, so the
// machine left alone still commits with the two others stopped. The removed machine
// learns it is no member any more (IsMember).
func TestRemoveMachineRemovesEtcdMember(t *testing.T) {
	ms := newCluster(t, 3, 3*time.Second)
	ctx := context.Background()
	meta := store.Meta{User: "admin", Source: "test"}
	if err := ms[0].st.RemoveMachine(ctx, "m3", meta); err != nil {
		t.Fatal(err)
	}
	if names := memberNames(t, ms[0]); len(names) != 2 || names["m3"] {
		t.Fatalf("etcd members after removing m3: %v", names)
	}
	// The removed member stopped itself; its daemon closes it (cmd/esash).
	ms[2].stop()
	for _, tc := range []struct {
		m    *machine
		want bool
	}{{ms[0], true}, {ms[2], false}} {
		got, err := tc.m.st.IsMember(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%s IsMember = %v, %v; want %v", tc.m.id, got, err, tc.want)
		}
	}
	ends, err := ClientEndpoints(ctx, ms[0].cli)
	if err != nil || len(ends) != 2 {
		t.Errorf("client endpoints after removing m3: %v, %v", ends, err)
	}
	// Leaving removes the machine's own etcd member the same way.
	if _, err := ms[1].st.Leave(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if names := memberNames(t, ms[0]); len(names) != 1 || !names["m1"] {
		t.Fatalf("etcd members after m2 left: %v", names)
	}
	ms[1].stop()
	if _, err := edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 7 }); err != nil {
		t.Fatalf("commit on the last machine with the removed ones stopped: %v", err)
	}
}
