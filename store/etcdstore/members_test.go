package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

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

// firstMember starts m1 of three member configurations on 127.0.<net>.1-3
// (closed when the test ends) and a client on it; the others are the
// caller's to join.
func firstMember(t *testing.T, net int) ([]MemberConfig, *clientv3.Client) {
	t.Helper()
	caDir := t.TempDir()
	if err := NewCA(caDir); err != nil {
		t.Fatal(err)
	}
	var mcs []MemberConfig
	for i := range 3 {
		mcs = append(mcs, memberConfig(t, caDir, &machine{id: fmt.Sprintf("m%d", i+1), ip: fmt.Sprintf("127.0.%d.%d", net, i+1)}))
	}
	mcs[0].InitialCluster = "m1=" + mcs[0].PeerURL.String()
	e1, err := StartMember(mcs[0], wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e1.Close() })
	cli, err := Dial([]string{mcs[0].ClientURL.String()}, mcs[0].TLSDir, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return mcs, cli
}

// A member removed while its machine was down stops at its next start,
// before it is ever ready: StartMember fails at once (its peers tell it)
// instead of waiting for its timeout, and the daemon's cluster goes on
// from the client (cmd/esash).
func TestStartRemovedMember(t *testing.T) {
	mcs, cli := firstMember(t, 13)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	e2, err := JoinMember(ctx, cli, mcs[1], wait)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	e3, err := JoinMember(ctx, cli, mcs[2], wait)
	if err != nil {
		t.Fatal(err)
	}
	e3.Close()
	remaining, removed, err := RemoveMember(ctx, cli, "m3")
	if err != nil || !removed || len(remaining) != 2 {
		t.Fatalf("remove m3: %v, %v, remaining %v", removed, err, remaining)
	}
	mcs[2].Existing = true
	if e, err := StartMember(mcs[2], time.Hour); err == nil {
		e.Close()
		t.Fatal("a removed member started")
	} else if !strings.Contains(err.Error(), "stopping") {
		t.Fatalf("start a removed member: %v", err)
	}
}

// A removal asked through the member removed: that member stops as it
// applies its own removal and answers "server stopped" to the request
// that removed it (seen in CI: REMOVEMACHINE failed although the member
// was gone). The removal is asked of the members that remain.
func TestRemoveMemberThroughItself(t *testing.T) {
	mcs, cli := firstMember(t, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 4*wait)
	defer cancel()
	for _, mc := range mcs[1:] {
		e, err := JoinMember(ctx, cli, mc, wait)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
	}
	// Only the member to remove is asked.
	cli.SetEndpoints(mcs[2].ClientURL.String())
	remaining, removed, err := RemoveMember(ctx, cli, "m3")
	if err != nil || !removed || len(remaining) != 2 {
		t.Fatalf("remove m3 through m3: removed %v, %v, remaining %v", removed, err, remaining)
	}
	resp, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatalf("list members after the removal: %v", err)
	}
	for _, m := range resp.Members {
		if m.Name == "m3" {
			t.Fatal("m3 is still a member")
		}
	}
}

// TestStartMemberCancelled: a member waiting for a quorum that does not
// come (its peer never starts) stops when its context is cancelled, and
// its ports are free once StartMemberContext has returned: the appliance
// that boots it can close without leaving it running.
func TestStartMemberCancelled(t *testing.T) {
	caDir := t.TempDir()
	if err := NewCA(caDir); err != nil {
		t.Fatal(err)
	}
	mc := memberConfig(t, caDir, &machine{id: "m1", ip: "127.0.16.1"})
	absent := url.URL{Scheme: "https", Host: fmt.Sprintf("127.0.16.2:%d", freePort(t, "127.0.16.2"))}
	mc.InitialCluster = "m1=" + mc.PeerURL.String() + ",m2=" + absent.String()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		e, err := StartMemberContext(ctx, mc, time.Hour)
		if e != nil {
			e.Close()
		}
		result <- err
	}()
	// Started: its client port answers (etcd listens before it is ready).
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", mc.ClientURL.Host); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the member never listened")
		}
	}
	cancel()
	select {
	case err := <-result:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("StartMemberContext = %v, want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("StartMemberContext went on waiting after its context was cancelled")
	}
	for _, u := range []url.URL{mc.ClientURL, mc.PeerURL} {
		l, err := net.Listen("tcp", u.Host)
		if err != nil {
			t.Errorf("%s still taken after the member stopped: %v", u.Host, err)
			continue
		}
		l.Close()
	}
}
