package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

// Options configure a machine's cluster store.
type Options struct {
	Client  *clientv3.Client
	Machine string    // this machine's stable identity
	Mirror  *store.DB // the local store: what the machine runs and boots from
	DataKey []byte    // the cluster data key (ReadDataKey)
	// Prepare readies the services for a configuration (nil: none); the
	// watcher applies every revision through it and the local store.
	Prepare store.PrepareFunc
	// OnApplyError reports a revision this machine could not activate (an
	// alert); the previous one goes on running.
	OnApplyError func(rev uint64, err error)
	// OnHistoryError reports that pruning the cluster's history failed
	// (err), once until a prune works again (nil): while it fails,
	// revisions and audit entries accumulate in etcd (compact.go).
	OnHistoryError func(err error)
	// Timeout bounds every etcd call; without quorum a commit fails after
	// it (default 2 s).
	Timeout time.Duration
	Now     func() time.Time
}

// Store is one machine's view of the cluster configuration.
type Store struct {
	cli     *clientv3.Client
	machine string
	mirror  *store.DB
	seal    *sealer
	prepare store.PrepareFunc
	onError func(uint64, error)
	// onHistory and pruneFailing: the prune failure reported once
	// (notePrune).
	onHistory    func(error)
	pruneFailing atomic.Bool
	timeout      time.Duration
	now          func() time.Time

	// seen is the newest cluster read (sessions' views are built on it).
	seen atomic.Pointer[cluster]
	// held is set while this machine is disconnected (disconnect.go).
	held atomic.Pointer[heldState]

	mu      sync.Mutex // guards applied and wake
	applied uint64     // the newest revision this machine has processed
	wake    chan struct{}

	commitMu sync.Mutex // one commit at a time from this machine
	// applyMu: the services ready one configuration at a time (the MTA
	// refuses a second prepare while one is pending), so the watcher's
	// apply and a session's dry run of the prepare step take turns.
	applyMu sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}

	confirm confirmState  // the pending confirmed commit (confirm.go)
	history historyBounds // how much history is kept (compact.go)
}

// Open starts the machine's cluster store: it reads the cluster (if etcd
// answers in time) and starts the watcher that applies every revision.
// The local store goes on serving what it holds meanwhile.
func Open(ctx context.Context, opts Options) (*Store, error) {
	seal, err := newSealer(opts.DataKey)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{cli: opts.Client, machine: opts.Machine, mirror: opts.Mirror, seal: seal,
		prepare: opts.Prepare, onError: opts.OnApplyError, onHistory: opts.OnHistoryError, timeout: opts.Timeout, now: opts.Now,
		wake: make(chan struct{}), done: make(chan struct{})}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watch(wctx)
	s.startConfirm(wctx)
	return s, nil
}

// Close stops the watcher. The clients and the local store are the
// caller's.
func (s *Store) Close() error {
	s.cancel()
	<-s.done
	s.waitConfirm()
	return nil
}

// Machine is this machine's identity.
func (s *Store) Machine() string { return s.machine }

// etcdErr names a failed etcd call; a deadline or an unavailable cluster
// is ErrNoQuorum.
func (s *Store) etcdErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, rpctypes.ErrNoLeader) ||
		errors.Is(err, rpctypes.ErrTimeout) || errors.Is(err, rpctypes.ErrGRPCNoLeader) {
		return fmt.Errorf("%s: %w", what, ErrNoQuorum)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// watch applies every revision of head, in order, for as long as ctx.
func (s *Store) watch(ctx context.Context) {
	defer close(s.done)
	var from int64 // the etcd revision to resume after; 0 reloads at the current one
	for ctx.Err() == nil {
		if from == 0 {
			c, err := s.load(ctx, 0)
			if err != nil {
				s.pause(ctx)
				continue
			}
			s.apply(ctx, c)
			from = c.etcdRev
		}
		from = s.follow(ctx, from)
	}
}

// follow watches head after etcd revision from and applies each change;
// it returns where to resume, 0 after a compaction (full reload).
func (s *Store) follow(ctx context.Context, from int64) int64 {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, keyHead, clientv3.WithRev(from+1)) {
		if resp.CompactRevision != 0 || errors.Is(resp.Err(), rpctypes.ErrCompacted) {
			return 0
		}
		if err := resp.Err(); err != nil {
			s.pause(ctx)
			return from
		}
		for _, ev := range resp.Events {
			c, err := s.load(ctx, ev.Kv.ModRevision)
			if errors.Is(err, rpctypes.ErrCompacted) {
				return 0
			}
			if err != nil {
				s.pause(ctx)
				return from
			}
			s.apply(ctx, c)
			from = ev.Kv.ModRevision
		}
	}
	s.pause(ctx)
	return from
}

func (s *Store) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(s.timeout / 4):
	}
}

// apply makes c what this machine runs: its effective configuration is
// committed into the local store through the services' prepare step.
func (s *Store) apply(ctx context.Context, c *cluster) {
	s.seen.Store(c)
	held := s.holding(ctx, c) // disconnect.go: a disconnected machine keeps what it runs
	var applyErr error
	if _, member := c.members[s.machine]; member && !held {
		applyErr = s.activate(ctx, c)
	}
	if !held {
		s.report(ctx, c.rev, applyErr)
	}
	s.mu.Lock()
	s.applied = c.rev
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// activate runs c's effective configuration for this machine.
func (s *Store) activate(ctx context.Context, c *cluster) error {
	eff, _, err := c.levels.Effective(s.machine)
	if err != nil {
		return err
	}
	head := s.mirror.Head()
	meta := c.meta
	meta.Source = fmt.Sprintf("cluster %s revision %d (%s)", c.name, c.rev, meta.Source)
	meta.Kind = "cluster"
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	_, err = s.mirror.Commit(ctx, store.CommitRequest{Base: head, Candidate: eff, Meta: meta, Prepare: s.prepare})
	if errors.Is(err, store.ErrNoChanges) {
		return nil
	}
	return err
}

// appliedStatus is the value of status/<id>/applied.
type appliedStatus struct {
	Rev   uint64 `json:"rev"`
	Error string `json:"error,omitempty"`
}

// report records what this machine runs; a failure raises the alert.
func (s *Store) report(ctx context.Context, rev uint64, applyErr error) {
	st := appliedStatus{Rev: rev}
	if applyErr != nil {
		st.Error = applyErr.Error()
		if s.onError != nil {
			s.onError(rev, applyErr)
		}
	}
	raw, _ := json.Marshal(st)
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// Best effort: the status is for CONNSTATUS; the machine runs what it
	// runs whether or not the cluster hears of it.
	_, _ = s.cli.Put(pctx, statPrefix+s.machine+"/applied", string(raw))
}

// WaitApplied waits until this machine has processed revision rev.
func (s *Store) WaitApplied(ctx context.Context, rev uint64) error {
	for {
		s.mu.Lock()
		applied, wake := s.applied, s.wake
		s.mu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for revision %d: %w", rev, ctx.Err())
		case <-wake:
		}
	}
}

// Applied is the newest cluster revision this machine has processed.
func (s *Store) Applied() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied
}

// Effective is this machine's effective configuration in the newest
// cluster revision seen, with the origin of each section (showconfig).
func (s *Store) Effective() (*config.Config, config.Origins, error) {
	c := s.seen.Load()
	if c == nil {
		return nil, nil, fmt.Errorf("cluster configuration not read yet: %w", ErrNoQuorum)
	}
	return c.levels.Effective(s.machine)
}

// Name is the cluster's name ("" before the cluster was read).
func (s *Store) Name() string {
	if c := s.seen.Load(); c != nil {
		return c.name
	}
	return ""
}

// Groups lists the cluster's groups, sorted.
func (s *Store) Groups() []string {
	c := s.seen.Load()
	if c == nil {
		return nil
	}
	out := append([]string(nil), c.groups...)
	sort.Strings(out)
	return out
}

// Members maps each member machine to its hostname.
func (s *Store) Members() map[string]string {
	out := map[string]string{}
	if c := s.seen.Load(); c != nil {
		for id, m := range c.members {
			out[id] = m.Hostname
		}
	}
	return out
}

// Layer is a copy of the sections level holds itself in the newest cluster
// revision seen (nil before the cluster was read).
func (s *Store) Layer(level config.Level) config.Layer {
	c := s.seen.Load()
	if c == nil {
		return nil
	}
	switch level.Kind {
	case config.LevelCluster:
		return c.levels.Cluster.Clone()
	case config.LevelGroup:
		return c.levels.Groups[level.Name].Clone()
	}
	return c.levels.Machines[level.Name].Clone()
}

// Origins tells where each section of a session's view at level comes
// from, on this machine, in the newest cluster revision seen.
func (s *Store) Origins(level config.Level) config.Origins {
	c := s.seen.Load()
	if c == nil {
		return nil
	}
	_, origins, err := c.levels.View(level, s.machine)
	if err != nil {
		return nil
	}
	return origins
}
