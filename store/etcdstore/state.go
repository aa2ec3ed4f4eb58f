package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"esash/config"
	"esash/store"
)

// headValue is the value of head.
type headValue struct {
	Rev uint64 `json:"rev"`
}

// member is the value of members/<id>.
type member struct {
	Group    string `json:"group"`
	Hostname string `json:"hostname"`
}

// revValue is the value of revs/<n>.
type revValue struct {
	Meta    store.Meta   `json:"meta"`
	Level   config.Level `json:"level"`
	Changes string       `json:"changes"` // sealed JSON of []config.Change
}

// cluster is the whole cluster configuration at one etcd revision.
type cluster struct {
	etcdRev    int64  // the etcd revision it was read at
	headModRev int64  // ModRevision of head: the commit guard
	rev        uint64 // the cluster's own revision
	name       string
	meta       store.Meta
	levels     *config.Levels
	groups     []string
	members    map[string]member
}

// load reads the cluster at etcd revision at (0: the current one). All
// reads are at one revision, so they form one consistent snapshot.
func (s *Store) load(ctx context.Context, at int64) (*cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// One read-only Txn: every read at one revision, one round trip (one
	// ReadIndex) instead of one per prefix. History and audit grow; only
	// the configuration and the newest revision record are read.
	ops := []clientv3.Op{clientv3.OpGet(keyHead, clientv3.WithRev(at))}
	for _, p := range []string{keyName, cfgPrefix, grpPrefix, memPrefix} {
		opts := []clientv3.OpOption{clientv3.WithRev(at)}
		if strings.HasSuffix(p, "/") {
			opts = append(opts, clientv3.WithPrefix())
		}
		ops = append(ops, clientv3.OpGet(p, opts...))
	}
	ops = append(ops, clientv3.OpGet(revPrefix, append(clientv3.WithLastKey(), clientv3.WithRev(at))...))
	tr, err := s.readTxn(ctx, ops)
	if err != nil {
		return nil, s.etcdErr("read the cluster configuration", err)
	}
	hr := tr.Responses[0].GetResponseRange()
	if len(hr.Kvs) == 0 {
		return nil, fmt.Errorf("read head: %w", ErrNotClustered)
	}
	if at == 0 {
		at = tr.Header.Revision
	}
	c := &cluster{etcdRev: at, headModRev: hr.Kvs[0].ModRevision, members: map[string]member{},
		levels: &config.Levels{Cluster: config.Layer{}, Groups: map[string]config.Layer{}, Machines: map[string]config.Layer{}, Membership: map[string]string{}}}
	var hv headValue
	if err := json.Unmarshal(hr.Kvs[0].Value, &hv); err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	c.rev = hv.Rev
	for _, r := range tr.Responses[1:] {
		for _, kv := range r.GetResponseRange().Kvs {
			if err := s.loadKey(c, string(kv.Key), kv.Value); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// readTxn runs a read-only Txn, again while etcd answers that its leader
// changed or that it is unavailable, until ctx ends. The client retries a
// Range by itself, but never a Txn (it cannot tell a read-only one), and
// load's reads were single Ranges before they became one Txn: a leader
// change during a commit then failed it with "leader changed"
// (TestClusterLeaderKilled).
func (s *Store) readTxn(ctx context.Context, ops []clientv3.Op) (*clientv3.TxnResponse, error) {
	pause := 20 * time.Millisecond
	for {
		tr, err := s.cli.Txn(ctx).Then(ops...).Commit()
		if err == nil || status.Code(err) != codes.Unavailable && !errors.Is(err, rpctypes.ErrLeaderChanged) {
			return tr, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// loadKey adds one key to c. History and status keys are read elsewhere.
func (s *Store) loadKey(c *cluster, key string, value []byte) error {
	switch {
	case key == keyName:
		c.name = string(value)
	case strings.HasPrefix(key, cfgPrefix):
		at, section, ok := parseSectionKey(key)
		if !ok {
			return nil // a key of a later version: ignored, not fatal
		}
		plain, err := s.seal.open(key, value)
		if err != nil {
			return err
		}
		layer := layerOf(c.levels, at)
		layer[section] = plain
	case strings.HasPrefix(key, grpPrefix):
		g := strings.TrimPrefix(key, grpPrefix)
		c.groups = append(c.groups, g)
		if c.levels.Groups[g] == nil {
			c.levels.Groups[g] = config.Layer{}
		}
	case strings.HasPrefix(key, memPrefix):
		var m member
		if err := json.Unmarshal(value, &m); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		id := strings.TrimPrefix(key, memPrefix)
		c.members[id] = m
		c.levels.Membership[id] = m.Group
	case key == revKey(c.rev):
		var rv revValue
		if err := json.Unmarshal(value, &rv); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		c.meta = rv.Meta
	}
	return nil
}

// layerOf is the layer of a level, created when missing.
func layerOf(l *config.Levels, at config.Level) config.Layer {
	var m map[string]config.Layer
	switch at.Kind {
	case config.LevelCluster:
		return l.Cluster
	case config.LevelGroup:
		m = l.Groups
	default:
		m = l.Machines
	}
	if m[at.Name] == nil {
		m[at.Name] = config.Layer{}
	}
	return m[at.Name]
}
