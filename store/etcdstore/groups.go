package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

// The membership changes of clusterconfig's clustered menu besides
// AddGroup and SetGroup: each one revision of its own, guarded by head
// like a commit (admin).

// RenameGroup renames a group: its overrides move with it (re-sealed
// under their new keys, the key being the sealing's additional data) and
// its machines stay in it.
func (s *Store) RenameGroup(ctx context.Context, from, to string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-renamegroup", "group "+from+" renamed "+to
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if !containsString(c.groups, from) {
			return nil, fmt.Errorf("group %q: %w", from, ErrNoGroup)
		}
		if containsString(c.groups, to) {
			return nil, fmt.Errorf("group %q: %w", to, ErrGroupExists)
		}
		ops := []clientv3.Op{clientv3.OpDelete(grpPrefix + from), clientv3.OpPut(grpPrefix+to, ""),
			clientv3.OpDelete(sectionKey(config.Level{Kind: config.LevelGroup, Name: from}, ""), clientv3.WithPrefix())}
		for sec, raw := range c.levels.Groups[from] {
			k := sectionKey(config.Level{Kind: config.LevelGroup, Name: to}, sec)
			ops = append(ops, clientv3.OpPut(k, s.seal.seal(k, raw)))
		}
		for id, m := range c.members {
			if m.Group == from {
				m.Group = to
				raw, _ := json.Marshal(m)
				ops = append(ops, clientv3.OpPut(memPrefix+id, string(raw)))
			}
		}
		return ops, nil
	})
	return err
}

// DeleteGroup deletes a group without machines, and its overrides. The
// cluster's last group stays: a machine that joins needs one.
func (s *Store) DeleteGroup(ctx context.Context, group string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-deletegroup", "group "+group+" deleted"
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if !containsString(c.groups, group) {
			return nil, fmt.Errorf("group %q: %w", group, ErrNoGroup)
		}
		if len(c.groups) == 1 {
			return nil, fmt.Errorf("group %q: %w", group, ErrLastGroup)
		}
		var in []string
		for _, m := range c.members {
			if m.Group == group {
				in = append(in, m.Hostname)
			}
		}
		if len(in) > 0 {
			sort.Strings(in)
			return nil, fmt.Errorf("group %q (%v): %w", group, in, ErrGroupHasMembers)
		}
		return []clientv3.Op{clientv3.OpDelete(grpPrefix + group),
			clientv3.OpDelete(sectionKey(config.Level{Kind: config.LevelGroup, Name: group}, ""), clientv3.WithPrefix())}, nil
	})
	return err
}

// RemoveMachine ends another machine's membership, then removes its etcd
// member (removeEtcdMember), so that quorum counts the machines that
// remain. As when it leaves, its machine-level sections stay in etcd,
// detached, for a rejoin. The machine itself notices (cmd/esash) and goes
// on standalone with its last configuration; it keeps its member running
// until the member is removed (a voter closed before its removal could
// cost the quorum the removal needs). The membership goes first: this
// machine's watch may be on the member removed, which answers nothing
// more until its machine closes it, and the revision waits for the watch.
// A machine no longer a member whose etcd member stayed (an earlier
// removal that failed halfway) loses it now.
func (s *Store) RemoveMachine(ctx context.Context, machine string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-removemachine", "machine "+machine+" removed"
	if machine == s.machine {
		return fmt.Errorf("machine %s: %w", machine, ErrRemoveSelf)
	}
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if _, ok := c.members[machine]; !ok {
			return nil, fmt.Errorf("machine %s: %w", machine, config.ErrNotMember)
		}
		return []clientv3.Op{clientv3.OpDelete(memPrefix + machine)}, nil
	})
	if err != nil && !errors.Is(err, config.ErrNotMember) {
		return err
	}
	removed, merr := s.removeEtcdMember(ctx, machine)
	if merr != nil {
		return merr
	}
	if err != nil && !removed {
		return err
	}
	return nil
}

// SetName renames the cluster.
func (s *Store) SetName(ctx context.Context, name string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-setname", "cluster renamed "+name
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		return []clientv3.Op{clientv3.OpPut(keyName, name)}, nil
	})
	return err
}
