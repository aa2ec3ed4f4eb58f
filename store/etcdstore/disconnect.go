package etcdstore

// Disconnecting a machine (clusterconfig DISCONNECT and RECONNECT, issue
// 13): AsyncOS detaches a machine from the cluster's synchronisation for a
// while, for maintenance; it keeps running its last applied configuration
// and takes no new cluster revision until it is reconnected.
//
// Here a disconnected machine is the key disconnected/<id>, written and
// removed by a membership revision of its own (audited, guarded by head
// like every change), so that the cluster, not the machine, holds the
// state: any member may disconnect or reconnect any other, and a
// disconnected machine that reboots stays disconnected. The flag names the
// CreateRevision of members/<id> it was set for: a machine that leaves and
// rejoins is a new membership and is connected again.
//
// What a disconnected machine does: its watcher still reads every
// revision (sessions see the cluster as it is), but apply activates none
// of them and leaves status/<id>/applied at the revision it runs, so
// CONNSTATUS tells the truth; the reconnect revision is applied as any
// other, bringing everything committed meanwhile at once. Its etcd member
// goes on voting: disconnecting is about configuration, not about the
// quorum.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

const disPrefix = prefix + "disconnected/"

// disconnectValue is the value of disconnected/<id>.
type disconnectValue struct {
	// Member is the CreateRevision of members/<id> the flag was set for.
	Member int64 `json:"member"`
}

// heldState is this machine while it is disconnected.
type heldState struct {
	rev uint64 // the cluster revision it runs
}

// Disconnect detaches machine from the cluster's synchronisation.
func (s *Store) Disconnect(ctx context.Context, machine string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-disconnect", "machine "+machine+" disconnected"
	return s.setDisconnected(ctx, machine, meta, true)
}

// Reconnect ends machine's disconnection: it applies the cluster's head.
func (s *Store) Reconnect(ctx context.Context, machine string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-reconnect", "machine "+machine+" reconnected"
	return s.setDisconnected(ctx, machine, meta, false)
}

// setDisconnected sets or clears machine's disconnection flag, refusing a
// machine that is no member, and a flag already as asked.
func (s *Store) setDisconnected(ctx context.Context, machine string, meta store.Meta, on bool) error {
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		flags, members, err := s.disconnectedAt(ctx, c.etcdRev, true)
		if err != nil {
			return nil, err
		}
		if _, ok := members[machine]; !ok {
			return nil, fmt.Errorf("machine %s: %w", machine, config.ErrNotMember)
		}
		switch {
		case on && flags[machine]:
			return nil, fmt.Errorf("machine %s: %w", machine, ErrDisconnected)
		case !on && !flags[machine]:
			return nil, fmt.Errorf("machine %s: %w", machine, ErrConnected)
		case !on:
			return []clientv3.Op{clientv3.OpDelete(disPrefix + machine)}, nil
		}
		raw, _ := json.Marshal(disconnectValue{Member: members[machine]})
		return []clientv3.Op{clientv3.OpPut(disPrefix+machine, string(raw))}, nil
	})
	return err
}

// Disconnected is the set of member machines disconnected now (LIST).
func (s *Store) Disconnected(ctx context.Context) (map[string]bool, error) {
	flags, _, err := s.disconnectedAt(ctx, 0, true)
	return flags, err
}

// Held tells whether this machine is disconnected, as of the newest
// revision it read, and which cluster revision it runs meanwhile.
func (s *Store) Held() (uint64, bool) {
	if h := s.held.Load(); h != nil {
		return h.rev, true
	}
	return 0, false
}

// disconnectedAt reads at etcd revision at (0: now) the machines whose
// disconnection is in force, and every member's membership revision
// (withMembers; else only when a flag is set: apply's usual case costs one
// read).
func (s *Store) disconnectedAt(ctx context.Context, at int64, withMembers bool) (flags map[string]bool, members map[string]int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	flags, members = map[string]bool{}, map[string]int64{}
	dr, err := s.cli.Get(ctx, disPrefix, clientv3.WithPrefix(), clientv3.WithRev(at))
	if err != nil {
		return nil, nil, s.etcdErr("read disconnected machines", err)
	}
	if len(dr.Kvs) == 0 && !withMembers {
		return flags, members, nil
	}
	if at == 0 {
		at = dr.Header.Revision // both reads from one snapshot
	}
	mr, err := s.cli.Get(ctx, memPrefix, clientv3.WithPrefix(), clientv3.WithRev(at), clientv3.WithKeysOnly())
	if err != nil {
		return nil, nil, s.etcdErr("read members", err)
	}
	for _, kv := range mr.Kvs {
		members[strings.TrimPrefix(string(kv.Key), memPrefix)] = kv.CreateRevision
	}
	for _, kv := range dr.Kvs {
		var v disconnectValue
		id := strings.TrimPrefix(string(kv.Key), disPrefix)
		if json.Unmarshal(kv.Value, &v) == nil && members[id] == v.Member {
			flags[id] = true
		}
	}
	return flags, members, nil
}

// holding is apply's hook: true when this machine is disconnected in c,
// which it then does not activate (nor report: its status stays at the
// revision it runs). When etcd cannot tell, the previous state holds.
//
// Only a membership revision ("cluster-..." kinds: disconnect, reconnect,
// join, leave, removemachine) changes the state, so the revision that
// follows the previous one with a configuration commit costs no etcd read
// (the commit's path to every member stays as short as it was); a gap
// (boot, a reload after compaction) reads it again.
func (s *Store) holding(ctx context.Context, c *cluster) bool {
	if prev := s.Applied(); prev != 0 && c.rev == prev+1 && !strings.HasPrefix(c.meta.Kind, "cluster-") {
		return s.held.Load() != nil
	}
	flags, _, err := s.disconnectedAt(ctx, c.etcdRev, false)
	if err != nil {
		return s.held.Load() != nil
	}
	if !flags[s.machine] {
		s.held.Store(nil)
		return false
	}
	if s.held.Load() == nil {
		s.held.Store(&heldState{rev: s.runningRev(ctx)})
	}
	return true
}

// runningRev is the cluster revision this machine runs when its hold
// starts: the last it processed, or after a reboot the one it reported.
func (s *Store) runningRev(ctx context.Context) uint64 {
	if rev := s.Applied(); rev != 0 {
		return rev
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, statPrefix+s.machine+"/applied")
	if err != nil || len(resp.Kvs) != 1 {
		return 0
	}
	var st appliedStatus
	_ = json.Unmarshal(resp.Kvs[0].Value, &st)
	return st.Rev
}
