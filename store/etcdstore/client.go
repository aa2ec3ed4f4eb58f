package etcdstore

import clientv3 "go.etcd.io/etcd/client/v3"

// Client is the etcd client the store talks through, for the appliance's
// other uses of the cluster (the ACME leases of cmd/esash).
func (s *Store) Client() *clientv3.Client { return s.cli }
