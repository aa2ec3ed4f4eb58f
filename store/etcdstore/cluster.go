package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

// DefaultGroup is the group of a new cluster, as on AsyncOS.
const DefaultGroup = "Main_Group"

// Create makes a new cluster at the endpoints of cli from a standalone
// machine's configuration: its settings become the cluster's, its
// machine-only settings its own (config.NewLevels). It fails with
// ErrExists when the endpoints hold a cluster already.
func Create(ctx context.Context, cli *clientv3.Client, dataKey []byte, name, machine string, standalone *config.Config, meta store.Meta) error {
	seal, err := newSealer(dataKey)
	if err != nil {
		return err
	}
	l := config.NewLevels(standalone, DefaultGroup, machine)
	var ops []clientv3.Op
	put := func(at config.Level, layer config.Layer) {
		for sec, raw := range layer {
			k := sectionKey(at, sec)
			ops = append(ops, clientv3.OpPut(k, seal.seal(k, raw)))
		}
	}
	put(config.ClusterLevel, l.Cluster)
	put(config.Level{Kind: config.LevelMachine, Name: machine}, l.Machines[machine])
	mem, _ := json.Marshal(member{Group: DefaultGroup, Hostname: standalone.Hostname})
	meta.Kind, meta.Comment = "cluster-create", "cluster "+name+" created"
	ops = append(ops, clientv3.OpPut(keyName, name), clientv3.OpPut(grpPrefix+DefaultGroup, ""),
		clientv3.OpPut(memPrefix+machine, string(mem)))
	ops = append(ops, revOps(seal, 1, meta, config.ClusterLevel, machine)...)
	tr, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(keyHead), "=", 0)).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("create cluster %s: %w", name, err)
	}
	if !tr.Succeeded {
		return fmt.Errorf("create cluster %s: %w", name, ErrExists)
	}
	return nil
}

// revOps write head, revs/<rev> and the audit entry of a membership
// change (no configuration changes of a session).
func revOps(seal *sealer, rev uint64, meta store.Meta, level config.Level, machine string) []clientv3.Op {
	rk := revKey(rev)
	rv, _ := json.Marshal(revValue{Meta: meta, Level: level, Changes: seal.seal(rk, []byte("null"))})
	hv, _ := json.Marshal(headValue{Rev: rev})
	audit, _ := json.Marshal(store.AuditEntry{Time: meta.Time, User: meta.User, Source: meta.Source,
		Action: meta.Kind, Rev: rev, Detail: meta.Comment})
	return []clientv3.Op{clientv3.OpPut(keyHead, string(hv)), clientv3.OpPut(rk, string(rv)),
		clientv3.OpPut(auditKey(meta.Time.UnixNano(), machine), string(audit))}
}

// admin makes one membership change as a new revision, guarded by head
// like a commit: build returns the writes for the cluster as read.
func (s *Store) admin(ctx context.Context, meta store.Meta, build func(c *cluster) ([]clientv3.Op, error)) (uint64, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	meta.Time = s.now()
	for range maxRaces {
		c, err := s.load(ctx, 0)
		if err != nil {
			return 0, err
		}
		ops, err := build(c)
		if err != nil {
			return 0, err
		}
		ops = append(ops, revOps(s.seal, c.rev+1, meta, config.ClusterLevel, s.machine)...)
		tctx, cancel := context.WithTimeout(ctx, s.timeout)
		tr, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.ModRevision(keyHead), "=", c.headModRev)).Then(ops...).Commit()
		cancel()
		if err != nil {
			return 0, s.etcdErr(meta.Kind, err)
		}
		if tr.Succeeded {
			wctx, cancel := context.WithTimeout(ctx, s.timeout)
			defer cancel()
			return c.rev + 1, s.WaitApplied(wctx, c.rev+1)
		}
	}
	return 0, ErrRaced
}

// Join makes this machine a member of group. Its machine-only sections
// (hostname, interfaces) come from local; a machine-level layer it left
// behind when it last left is its own again (rejoin restores it);
// everything else it takes from the cluster.
func (s *Store) Join(ctx context.Context, group string, local *config.Config, meta store.Meta) (uint64, error) {
	meta.Kind, meta.Comment = "cluster-join", "machine "+s.machine+" joined group "+group
	return s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if !containsString(c.groups, group) {
			return nil, fmt.Errorf("group %q: %w", group, ErrNoGroup)
		}
		at := config.Level{Kind: config.LevelMachine, Name: s.machine}
		var ops []clientv3.Op
		for _, sec := range config.Sections() {
			if config.ScopeOf(sec) != config.MachineOnly {
				continue
			}
			raw, _ := config.SectionValue(local, sec)
			k := sectionKey(at, sec)
			ops = append(ops, clientv3.OpPut(k, s.seal.seal(k, raw)))
		}
		mem, _ := json.Marshal(member{Group: group, Hostname: local.Hostname})
		return append(ops, clientv3.OpPut(memPrefix+s.machine, string(mem))), nil
	})
}

// Leave ends this machine's membership and removes its etcd member, so
// that quorum counts the machines that remain. It goes on running its
// last effective configuration, which its local store already holds (the
// flattening is recorded there as a cluster-leave audit entry); its
// machine-level sections stay in etcd, detached, for a rejoin. The
// member is removed here, before the daemon closes the cluster, not by
// the daemon: it also sees the membership gone (cmd/esash) and must not
// race a removal of its own.
func (s *Store) Leave(ctx context.Context, meta store.Meta) (*config.Config, error) {
	meta.Kind, meta.Comment = "cluster-leave", "machine "+s.machine+" left the cluster"
	if _, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if _, ok := c.members[s.machine]; !ok {
			return nil, fmt.Errorf("machine %s: %w", s.machine, config.ErrNotMember)
		}
		return []clientv3.Op{clientv3.OpDelete(memPrefix + s.machine)}, nil
	}); err != nil {
		return nil, err
	}
	if _, err := s.removeEtcdMember(ctx, s.machine); err != nil {
		return nil, fmt.Errorf("left; its etcd member stays until another machine removes it (REMOVEMACHINE %s): %w", s.machine, err)
	}
	head := s.mirror.Head()
	err := s.mirror.Audit(store.AuditEntry{Time: s.now(), User: meta.User, Source: meta.Source, Action: "cluster-leave",
		Rev: head.Rev, Detail: "left the cluster; running its effective configuration standalone"})
	return head.Config, err
}

// AddGroup creates a group.
func (s *Store) AddGroup(ctx context.Context, group string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-addgroup", "group "+group+" added"
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		if containsString(c.groups, group) {
			return nil, fmt.Errorf("group %q: %w", group, ErrGroupExists)
		}
		return []clientv3.Op{clientv3.OpPut(grpPrefix+group, "")}, nil
	})
	return err
}

// SetGroup moves a member machine to another group.
func (s *Store) SetGroup(ctx context.Context, machine, group string, meta store.Meta) error {
	meta.Kind, meta.Comment = "cluster-setgroup", "machine "+machine+" moved to group "+group
	_, err := s.admin(ctx, meta, func(c *cluster) ([]clientv3.Op, error) {
		m, ok := c.members[machine]
		if !ok {
			return nil, fmt.Errorf("machine %s: %w", machine, config.ErrNotMember)
		}
		if !containsString(c.groups, group) {
			return nil, fmt.Errorf("group %q: %w", group, ErrNoGroup)
		}
		m.Group = group
		raw, _ := json.Marshal(m)
		return []clientv3.Op{clientv3.OpPut(memPrefix+machine, string(raw))}, nil
	})
	return err
}

// List lists the groups and the member machines with the revision each
// runs and whether it is disconnected (LIST, CONNSTATUS), all read from
// the cluster now at one etcd revision.
func (s *Store) List(ctx context.Context) (store.ClusterStatus, error) {
	c, err := s.load(ctx, 0)
	if err != nil {
		return store.ClusterStatus{}, err
	}
	flags, _, err := s.disconnectedAt(ctx, c.etcdRev, false)
	if err != nil {
		return store.ClusterStatus{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	out := store.ClusterStatus{Name: c.name, Groups: append([]string(nil), c.groups...)}
	sort.Strings(out.Groups)
	for id, m := range c.members {
		mem := store.MemberStatus{ID: id, Group: m.Group, Hostname: m.Hostname, Disconnected: flags[id]}
		if resp, err := s.cli.Get(ctx, statPrefix+id+"/applied", clientv3.WithRev(c.etcdRev)); err == nil && len(resp.Kvs) == 1 {
			var st appliedStatus
			if json.Unmarshal(resp.Kvs[0].Value, &st) == nil {
				mem.Applied, mem.ApplyError = st.Rev, st.Error
			}
		}
		out.Members = append(out.Members, mem)
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].ID < out.Members[j].ID })
	return out, nil
}

// memberChangeWait is how long a removal waits beyond the call deadline
// for etcd to accept a change of its voters.
const memberChangeWait = 10 * time.Second

// removeEtcdMember removes the etcd member of machine, voter or learner
// (removed false: it has none), so that quorum counts the machines that
// remain; RemoveMember leaves this client asking only them. (Other
// machines follow the voters: cmd/esash.)
func (s *Store) removeEtcdMember(ctx context.Context, machine string) (bool, error) {
	// etcd refuses to change its voters for a few seconds after a member
	// joined (its health interval, 5 s): longer than one call's deadline.
	ctx, cancel := context.WithTimeout(ctx, s.timeout+memberChangeWait)
	defer cancel()
	_, removed, err := RemoveMember(ctx, s.cli, machine)
	if err != nil {
		return false, s.etcdErr("remove the etcd member of "+machine, err)
	}
	return removed, nil
}

// IsMember tells whether this machine is a member of the cluster now, as
// a quorum says: false once another machine removed it. An error decides
// nothing (no quorum, or no cluster at the endpoints).
func (s *Store) IsMember(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tr, err := s.cli.Txn(ctx).Then(clientv3.OpGet(keyHead), clientv3.OpGet(memPrefix+s.machine)).Commit()
	if err != nil {
		return false, s.etcdErr("read membership", err)
	}
	if len(tr.Responses[0].GetResponseRange().Kvs) == 0 {
		return false, fmt.Errorf("read membership: %w", ErrNotClustered)
	}
	return len(tr.Responses[1].GetResponseRange().Kvs) == 1, nil
}
