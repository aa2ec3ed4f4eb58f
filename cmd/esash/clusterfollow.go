package main

// Following the cluster's membership while the appliance runs (issue 13).
// Every ESASH_CLUSTER_SYNC (default 30 s), and at once when this
// machine's etcd member stops by itself (etcd stops a member its peers
// removed):
//
//   - a machine another member removed (REMOVEMACHINE: members/<id> is
//     gone, as a quorum says) leaves the cluster by itself: it goes on as
//     a standalone appliance with the configuration its local store
//     mirrors, every session standalone from its next command, and the
//     data directory forgets the cluster (the next boot is standalone);
//   - the client's endpoints and cluster/state.json follow the voters'
//     client URLs (etcd's member list), so that a member restarted after
//     the machine it joined through was removed, or while it is down,
//     still finds the cluster.
//
// Without a quorum neither happens: the machine cannot tell, and goes on
// with what it runs.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"

	"esash/config"
	"esash/store"
	"esash/store/etcdstore"
)

// defaultClusterSync is how often a machine follows the membership.
const defaultClusterSync = 30 * time.Second

// removalWait bounds how long a removed machine waits for its etcd
// member's removal (etcd may refuse it for its health interval, 5 s,
// after a member joined).
const removalWait = 30 * time.Second

// followCluster starts following the membership of the cluster ci
// describes, the store being open (boot, create, join).
func (a *appliance) followCluster(ci clusterInfo) error {
	interval, err := envDuration("ESASH_CLUSTER_SYNC")
	if err != nil {
		return err
	}
	if interval <= 0 {
		interval = defaultClusterSync
	}
	h := &a.cluster
	h.mu.Lock()
	old := h.follow
	h.follow = nil
	h.mu.Unlock()
	old.stop(context.Background())
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || h.st == nil {
		return nil
	}
	st, cli := h.st, h.cli
	h.info = ci
	h.follow = startFollower(func(ctx context.Context) { a.follow(ctx, st, cli, interval) })
	return nil
}

// follower is the membership follower goroutine's handle: whoever
// replaces or closes the cluster stops it, and stop returns once it has
// returned, so no follower uses a client or a store being closed. The
// follower itself may be what closes the cluster (a machine removed by
// another member leaves): its context says so, and stop then only
// cancels it, as it is on its way out.
type follower struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// followerKey marks the context of a follower with the follower.
type followerKey struct{}

// startFollower runs run in a goroutine of its own.
func startFollower(run func(ctx context.Context)) *follower {
	ctx, cancel := context.WithCancel(context.Background())
	f := &follower{cancel: cancel, done: make(chan struct{})}
	ctx = context.WithValue(ctx, followerKey{}, f)
	go func() {
		defer close(f.done)
		run(ctx)
	}()
	return f
}

// stop cancels the follower and waits for it to return, unless ctx is
// the follower's own. A nil follower is stopped.
func (f *follower) stop(ctx context.Context) {
	if f == nil {
		return
	}
	f.cancel()
	if ctx.Value(followerKey{}) == f {
		return
	}
	<-f.done
}

// lockLeaving takes mu unless ctx ends first (false): the follower must
// not wait for a session's leaving, which waits for the follower.
func lockLeaving(ctx context.Context, mu *sync.Mutex) bool {
	for !mu.TryLock() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// follow checks the membership every interval and when the member stops.
func (a *appliance) follow(ctx context.Context, st *etcdstore.Store, cli *clientv3.Client, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var heard *embed.Etcd // the member whose stop was handled
	for {
		var stopped <-chan struct{}
		a.cluster.mu.Lock()
		if e := a.cluster.etcd; e != nil && e != heard {
			stopped = e.Server.StopNotify()
		}
		a.cluster.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-stopped:
			heard = a.closeStoppedMember()
		}
		if a.followOnce(ctx, st, cli) {
			return
		}
	}
}

// closeStoppedMember closes this machine's etcd member once it stopped
// by itself (removed by its peers, or failed): its listeners close, so
// clients ask the other members instead of a server that answers
// "stopped". It returns the member.
func (a *appliance) closeStoppedMember() *embed.Etcd {
	a.cluster.mu.Lock()
	e := a.cluster.etcd
	a.cluster.etcd = nil
	a.cluster.mu.Unlock()
	if e != nil {
		a.cliLog.Warningf("cluster: this machine's etcd member stopped")
		e.Close()
	}
	return e
}

// followOnce leaves the cluster when this machine is no member of it
// any more (true), or brings the endpoints up to date.
func (a *appliance) followOnce(ctx context.Context, st *etcdstore.Store, cli *clientv3.Client) (left bool) {
	member, err := st.IsMember(ctx)
	if ctx.Err() != nil {
		return true
	}
	if err == nil && !member {
		a.removedFromCluster(ctx, st.Name())
		return true
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	endpoints, err := etcdstore.ClientEndpoints(lctx, cli)
	cancel()
	if err != nil || len(endpoints) == 0 {
		return false
	}
	if err := a.syncEndpoints(ctx, cli, endpoints); err != nil {
		a.cliLog.Warningf("cluster endpoints: %v", err)
	}
	return false
}

// syncEndpoints makes endpoints those of the client and of state.json.
// Under the cluster's lock, checking ctx: a cluster left meanwhile is not
// written back.
func (a *appliance) syncEndpoints(ctx context.Context, cli *clientv3.Client, endpoints []string) error {
	h := &a.cluster
	h.mu.Lock()
	defer h.mu.Unlock()
	if ctx.Err() != nil || slices.Equal(h.info.Endpoints, endpoints) {
		return nil
	}
	h.info.Endpoints = endpoints
	cli.SetEndpoints(endpoints...)
	return writeClusterInfo(a.clusterDir(), h.info)
}

// sessionCluster is the cluster the shell's sessions use: the store, its
// Leave holding the daemon's leaving lock, so that the follower, which
// sees the membership gone as soon as Leave's revision is in, neither
// closes the client Leave still uses nor takes the leave for a removal.
type sessionCluster struct {
	*etcdstore.Store
	a *appliance
}

// Leave is etcdstore.Store.Leave under the leaving lock.
func (c sessionCluster) Leave(ctx context.Context, meta store.Meta) (*config.Config, error) {
	h := &c.a.cluster
	h.leaving.Lock()
	defer h.leaving.Unlock()
	cfg, err := c.Store.Leave(ctx, meta)
	if err == nil {
		h.selfLeft = true
	}
	return cfg, err
}

// removedFromCluster makes this machine standalone after another member
// removed it: as after leaving, the membership change done.
func (a *appliance) removedFromCluster(ctx context.Context, name string) {
	h := &a.cluster
	if !lockLeaving(ctx, &h.leaving) {
		return
	}
	self := h.selfLeft
	h.leaving.Unlock()
	if self || ctx.Err() != nil {
		return // a session's Leave: the session finishes it (leftCluster)
	}
	a.cliLog.Warningf("this machine was removed from cluster %s by another member: it goes on as a standalone appliance with its last configuration", name)
	a.shell.LeaveCluster()
	head := a.db.Head()
	if err := a.db.Audit(store.AuditEntry{Time: time.Now(), User: "system", Source: "cluster " + name, Action: "cluster-leave",
		Rev: head.Rev, Detail: "removed from the cluster by another member; running its effective configuration standalone"}); err != nil {
		a.cliLog.Warningf("removed from the cluster: audit: %v", err)
	}
	// The member is the remover's to remove (etcdstore's RemoveMachine),
	// right after the membership: until it is, it still counts for the
	// quorum that removal needs, so it runs until it stops (etcd stops a
	// member its peers removed), within a bound.
	a.cluster.mu.Lock()
	e := a.cluster.etcd
	a.cluster.mu.Unlock()
	if e != nil {
		select {
		case <-e.Server.StopNotify():
		case <-time.After(removalWait):
			a.cliLog.Warningf("removed from the cluster: its etcd member was not removed within %s; closing it", removalWait)
		case <-ctx.Done():
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	a.leftClusterFollower(ctx)
}

// forgetCluster empties the cluster directory but for the SSH host keys
// of the members joined through (knownHostsFile): a machine that leaves
// and joins again still recognises them.
func (a *appliance) forgetCluster() {
	entries, err := os.ReadDir(a.clusterDir())
	if err != nil && !os.IsNotExist(err) {
		a.cliLog.Warningf("forget the cluster: %v", err)
	}
	for _, e := range entries {
		if e.Name() == knownHostsFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(a.clusterDir(), e.Name())); err != nil {
			a.cliLog.Warningf("forget the cluster: %v", fmt.Errorf("%s: %w", e.Name(), err))
		}
	}
}
