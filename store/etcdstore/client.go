package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Client is the etcd client the store talks through, for the appliance's
// other uses of the cluster (the ACME leases of cmd/esash).
func (s *Store) Client() *clientv3.Client { return s.cli }

// CatchUp waits until this machine runs the cluster's current revision:
// a member that just took a lease another member held sees that
// member's last commit before it decides anything.
func (s *Store) CatchUp(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	resp, err := s.cli.Get(tctx, keyHead)
	cancel()
	if err != nil {
		return s.etcdErr("read head", err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var hv headValue
	if err := json.Unmarshal(resp.Kvs[0].Value, &hv); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	return s.WaitApplied(ctx, hv.Rev)
}
