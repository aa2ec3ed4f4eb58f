package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"esash/config"
	"esash/store"
	"esash/store/etcdstore"
)

// In a cluster (issue 15) one member at a time orders a cluster- or
// group-level ACME profile: it takes a lease, an etcd mutex
// (client/v3/concurrency, part of the etcd client already pinned) under
// /esa/v1/leases/acme/<level>/<profile>, tied to a session whose TTL ends
// it if the member dies mid-order. The certificate is committed through
// the cluster store at the level the certificates section comes from, so
// every member applies it through its watch. Machine-level profiles (and a
// standalone machine) need no lease and commit locally or at the machine's
// own level.

// acmeLeaseTTL is the session's TTL in seconds: a member that dies while
// it holds a lease frees it this long after.
const acmeLeaseTTL = 30

// acmeCatchUpTimeout bounds the wait for the cluster's last revision
// after a lease is taken.
const acmeCatchUpTimeout = 30 * time.Second

// acmeReleaseTimeout bounds the unlock of a lease.
const acmeReleaseTimeout = 5 * time.Second

// acmeLeaseKey is the lease of a profile at a level.
func acmeLeaseKey(level config.Level, profile string) string {
	k := "/esa/v1/leases/acme/" + strings.ToLower(string(level.Kind))
	if level.Name != "" {
		k += "/" + level.Name
	}
	return k + "/" + profile
}

// tryLease takes the lease at key if nobody holds it: held false when
// another holder has it.
func tryLease(ctx context.Context, cli *clientv3.Client, key string) (release func(), held bool, err error) {
	sess, err := concurrency.NewSession(cli, concurrency.WithTTL(acmeLeaseTTL), concurrency.WithContext(ctx))
	if err != nil {
		return nil, false, fmt.Errorf("lease %s: session: %w", key, err)
	}
	mu := concurrency.NewMutex(sess, key)
	if err := mu.TryLock(ctx); err != nil {
		sess.Close()
		if errors.Is(err, concurrency.ErrLocked) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lease %s: %w", key, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), acmeReleaseTimeout)
		defer cancel()
		mu.Unlock(ctx) // closing the session revokes it anyway
		sess.Close()
	}, true, nil
}

// acmeCluster is the cluster store and client, nil when standalone.
func (a *appliance) acmeCluster() (*etcdstore.Store, *clientv3.Client) {
	a.cluster.mu.Lock()
	defer a.cluster.mu.Unlock()
	return a.cluster.st, a.cluster.cli
}

// certificatesLevel is where this machine's certificates section comes
// from in the cluster.
func certificatesLevel(st *etcdstore.Store) (config.Level, error) {
	_, origins, err := st.Effective()
	if err != nil {
		return config.Level{}, err
	}
	lvl, ok := origins["certificates"]
	if !ok {
		return config.ClusterLevel, nil
	}
	return lvl, nil
}

// acmeLease is acme.Options.Lease.
func (a *appliance) acmeLease(ctx context.Context, profile string) (func(), bool, error) {
	st, cli := a.acmeCluster()
	if st == nil || cli == nil {
		return func() {}, true, nil
	}
	lvl, err := certificatesLevel(st)
	if err != nil {
		return nil, false, err
	}
	if lvl.Kind == config.LevelMachine {
		return func() {}, true, nil
	}
	release, held, err := tryLease(ctx, cli, acmeLeaseKey(lvl, profile))
	if err != nil || !held {
		return nil, held, err
	}
	// The previous holder's certificate may not have reached this machine
	// yet: without it the manager would order the profile again.
	wctx, cancel := context.WithTimeout(ctx, acmeCatchUpTimeout)
	defer cancel()
	if err := st.CatchUp(wctx); err != nil {
		release()
		return nil, false, fmt.Errorf("lease %s: %w", profile, err)
	}
	return release, true, nil
}

// acmeCommitTo is acme.Options.CommitTo: the cluster store at the
// certificates' level, nil (the local store) when standalone.
func (a *appliance) acmeCommitTo() (store.Backend, error) {
	st, _ := a.acmeCluster()
	if st == nil {
		return nil, nil
	}
	lvl, err := certificatesLevel(st)
	if err != nil {
		return nil, err
	}
	return st.At(lvl), nil
}
