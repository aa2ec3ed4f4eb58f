package etcdstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// A disconnected machine keeps running what it ran while the cluster
// moves on; CONNSTATUS sees the revision it runs; reconnecting applies
// everything committed meanwhile; leaving and rejoining connects it again.
func TestDisconnectHoldsRevisions(t *testing.T) {
	ms := newCluster(t, 2, 3*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	meta := store.Meta{User: "admin", Source: "test"}
	before := ms[1].running()
	if err := ms[0].st.Disconnect(ctx, "m2", meta); err != nil {
		t.Fatal(err)
	}
	if err := ms[0].st.Disconnect(ctx, "m2", meta); !errors.Is(err, ErrDisconnected) {
		t.Errorf("second disconnect: %v, want ErrDisconnected", err)
	}
	if err := ms[0].st.Disconnect(ctx, "m9", meta); !errors.Is(err, config.ErrNotMember) {
		t.Errorf("disconnect of no member: %v, want ErrNotMember", err)
	}
	res, err := edit(t, ms[0], config.ClusterLevel, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 17 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)
	if ms[1].running() != before || ms[1].local.Head().Config.Destinations.Default.MaxMsgsPerConn == 17 {
		t.Error("the disconnected m2 activated a revision")
	}
	if ms[0].running().Destinations.Default.MaxMsgsPerConn != 17 {
		t.Error("m1 does not run the revision")
	}
	held, ok := ms[1].st.Held()
	if !ok || held == 0 || held >= res.Rev {
		t.Errorf("m2 Held() = %d, %v; want the revision before %d", held, ok, res.Rev)
	}
	if _, ok := ms[0].st.Held(); ok {
		t.Error("m1 thinks it is disconnected")
	}
	cl, err := ms[0].st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list := cl.Members; len(list) != 2 || list[1].Applied != held || list[0].Applied != res.Rev || !list[1].Disconnected || list[0].Disconnected {
		t.Errorf("List = %+v; want m2 at %d and disconnected, m1 at %d", cl.Members, held, res.Rev)
	}
	if flags, err := ms[1].st.Disconnected(ctx); err != nil || !flags["m2"] || len(flags) != 1 {
		t.Errorf("Disconnected = %v, %v", flags, err)
	}

	if err := ms[1].st.Reconnect(ctx, "m2", meta); err != nil {
		t.Fatal(err)
	}
	if err := ms[1].st.Reconnect(ctx, "m2", meta); !errors.Is(err, ErrConnected) {
		t.Errorf("second reconnect: %v, want ErrConnected", err)
	}
	if ms[1].running().Destinations.Default.MaxMsgsPerConn != 17 {
		t.Error("the reconnected m2 does not run what was committed meanwhile")
	}
	if _, ok := ms[1].st.Held(); ok {
		t.Error("m2 still held after reconnect")
	}

	// A machine that leaves while disconnected and rejoins is connected.
	if err := ms[0].st.Disconnect(ctx, "m2", meta); err != nil {
		t.Fatal(err)
	}
	if _, err := ms[1].st.Leave(ctx, meta); err != nil {
		t.Fatal(err)
	}
	if _, err := ms[1].st.Join(ctx, DefaultGroup, ms[1].local.Head().Config, meta); err != nil {
		t.Fatal(err)
	}
	if flags, err := ms[0].st.Disconnected(ctx); err != nil || len(flags) != 0 {
		t.Errorf("after a rejoin Disconnected = %v, %v", flags, err)
	}
	if _, ok := ms[1].st.Held(); ok {
		t.Error("m2 held after it rejoined")
	}
}
