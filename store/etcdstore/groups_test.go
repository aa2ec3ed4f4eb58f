package etcdstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// RENAMEGROUP, DELETEGROUP, REMOVEMACHINE and SETNAME on a two-machine
// cluster: a renamed group keeps its override and its machines; a group
// with machines and the last group are refused; a removed machine keeps
// its machine layer, detached.
func TestGroupAdmin(t *testing.T) {
	ms := newCluster(t, 2, 3*time.Second)
	ctx := context.Background()
	meta := store.Meta{User: "admin", Source: "test"}
	st := ms[0].st
	if err := st.AddGroup(ctx, "dmz", meta); err != nil {
		t.Fatal(err)
	}
	if err := st.SetGroup(ctx, "m2", "dmz", meta); err != nil {
		t.Fatal(err)
	}
	dmz := config.Level{Kind: config.LevelGroup, Name: "dmz"}
	res, err := edit(t, ms[0], dmz, func(c *config.Config) { c.Destinations.Default.MaxMsgsPerConn = 9 })
	if err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, res.Rev)

	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"rename to an existing group", func() error { return st.RenameGroup(ctx, "dmz", DefaultGroup, meta) }, ErrGroupExists},
		{"rename a missing group", func() error { return st.RenameGroup(ctx, "nope", "x", meta) }, ErrNoGroup},
		{"delete a group with machines", func() error { return st.DeleteGroup(ctx, "dmz", meta) }, ErrGroupHasMembers},
		{"remove this machine", func() error { return st.RemoveMachine(ctx, "m1", meta) }, ErrRemoveSelf},
		{"remove a stranger", func() error { return st.RemoveMachine(ctx, "m9", meta) }, config.ErrNotMember},
	}
	for _, tc := range cases {
		if err := tc.run(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}

	if err := st.RenameGroup(ctx, "dmz", "edge", meta); err != nil {
		t.Fatal(err)
	}
	waitAll(t, ms, ms[0].st.Applied())
	eff, origins, err := ms[1].st.Effective()
	if err != nil {
		t.Fatal(err)
	}
	edge := config.Level{Kind: config.LevelGroup, Name: "edge"}
	if eff.Destinations.Default.MaxMsgsPerConn != 9 || origins["destinations"] != edge {
		t.Errorf("m2 after the rename: %d from %v, want 9 from %v", eff.Destinations.Default.MaxMsgsPerConn, origins["destinations"], edge)
	}
	if got := st.Groups(); len(got) != 2 || got[0] != DefaultGroup || got[1] != "edge" {
		t.Errorf("groups %v", got)
	}

	if err := st.RemoveMachine(ctx, "m2", meta); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Members()["m2"]; ok {
		t.Error("m2 still a member")
	}
	if st.Layer(config.Level{Kind: config.LevelMachine, Name: "m2"})["hostname"] == nil {
		t.Error("m2's machine layer was not kept")
	}
	if err := st.DeleteGroup(ctx, "edge", meta); err != nil {
		t.Fatal(err)
	}
	if len(st.Layer(edge)) != 0 {
		t.Errorf("edge's overrides remain: %v", st.Layer(edge))
	}
	if err := st.DeleteGroup(ctx, DefaultGroup, meta); !errors.Is(err, ErrLastGroup) {
		t.Errorf("deleting the last group: %v", err)
	}
	if err := st.SetName(ctx, "Renamed", meta); err != nil || st.Name() != "Renamed" {
		t.Errorf("SetName: %v, name %q", err, st.Name())
	}
}
