package etcdstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

// LevelBackend is the store.Backend of a session editing at one level
// (clustermode): its Head is the level's view, its commits write the
// level's sections.
type LevelBackend struct {
	s     *Store
	level config.Level
}

var _ store.Backend = (*LevelBackend)(nil)

// At is the backend of a session editing at level.
func (s *Store) At(level config.Level) store.Backend { return &LevelBackend{s: s, level: level} }

// Level is the level the backend edits.
func (b *LevelBackend) Level() config.Level { return b.level }

// Head implements store.Backend: the level's view in the newest cluster
// revision seen; before any, the local store's head.
func (b *LevelBackend) Head() store.Snapshot {
	c := b.s.seen.Load()
	if c == nil {
		return b.s.mirror.Head()
	}
	v, _, err := c.levels.View(b.level, b.s.machine)
	if err != nil {
		return b.s.mirror.Head()
	}
	return store.Snapshot{Rev: c.rev, Meta: c.meta, Config: v}
}

// maxRaces bounds how often a commit starts over after losing head.
const maxRaces = 8

// Commit implements store.Backend: one etcd Txn guarded by head.
func (b *LevelBackend) Commit(ctx context.Context, req store.CommitRequest) (store.Result, error) {
	s := b.s
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	ours := config.Diff(req.Base.Config, req.Candidate)
	if len(ours) == 0 {
		return store.Result{}, store.ErrNoChanges
	}
	for range maxRaces {
		res, won, err := b.try(ctx, req, ours)
		if err != nil || !won {
			if err != nil {
				return res, err
			}
			continue
		}
		s.afterCommit(ctx, res.Rev) // compact.go: bound the history
		wctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		// The commit answers once this machine runs it, as standalone.
		if err := s.WaitApplied(wctx, res.Rev); err != nil {
			return res, fmt.Errorf("revision %d committed, not yet active here: %w", res.Rev, err)
		}
		res.Snapshot = b.Head()
		return res, nil
	}
	return store.Result{}, ErrRaced
}

// try makes one attempt: read, merge, stage, check, Txn. won is false
// when another machine moved head between the read and the Txn.
func (b *LevelBackend) try(ctx context.Context, req store.CommitRequest, ours []config.Change) (store.Result, bool, error) {
	s := b.s
	c, err := s.load(ctx, 0)
	if err != nil {
		return store.Result{}, false, err
	}
	confirm, err := b.confirmStep(ctx, c, req) // confirm.go
	if err != nil {
		return store.Result{}, false, err
	}
	headView, _, err := c.levels.View(b.level, s.machine)
	if err != nil {
		return store.Result{}, false, err
	}
	var res store.Result
	cand := req.Candidate
	if req.Base.Rev > c.rev {
		return res, false, fmt.Errorf("the draft began at revision %d, the cluster is at %d: clear and edit again", req.Base.Rev, c.rev)
	}
	if c.rev != req.Base.Rev {
		since, err := b.Revisions(int(c.rev - req.Base.Rev))
		if err != nil {
			return res, false, err
		}
		if cand, err = store.MergeOver(req.Base.Config, store.Snapshot{Rev: c.rev, Config: headView}, ours, since); err != nil {
			return res, false, err
		}
		res.MergedOver = since
	}
	changes := config.Diff(headView, cand)
	if len(changes) == 0 {
		return res, false, store.ErrNoChanges
	}
	next := c.levels.Clone()
	sections, err := next.Stage(b.level, headView, cand)
	if err != nil {
		return res, false, err
	}
	if res.Warnings, err = b.check(ctx, c.levels, next, req.Prepare); err != nil {
		return res, false, err
	}
	meta := req.Meta
	meta.Time = s.now()
	if meta.Kind == "" {
		meta.Kind = "commit"
	}
	if len(res.MergedOver) > 0 {
		last := res.MergedOver[0]
		meta.Merged = fmt.Sprintf("merged over revision %d by %s", last.Rev, last.Meta.User)
	}
	ops, err := b.ops(c, next, sections, meta, changes)
	if err != nil {
		return res, false, err
	}
	pops, err := confirm.ops(c.levels, sections, c.rev+1)
	if err != nil {
		return res, false, err
	}
	ops = append(ops, pops...)
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tr, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.ModRevision(keyHead), "=", c.headModRev), confirm.guard()).Then(ops...).Commit()
	if err != nil {
		return res, false, s.txnErr(c.rev+1, err)
	}
	if tr.Succeeded {
		confirm.committed(pops, tr.Header.Revision)
	}
	res.Rev, res.Changes = c.rev+1, len(changes)
	return res, tr.Succeeded, nil
}

// txnErr names a commit transaction that failed. Unless etcd refused it
// before proposing it (a member without a leader drops proposals), the
// outcome is unknown: a leader that lost its quorum keeps the entry in its
// log and commits it if it leads again, so the session must not be told
// the commit was refused (ErrUnconfirmed).
func (s *Store) txnErr(rev uint64, err error) error {
	if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader) {
		return s.etcdErr("commit", err)
	}
	return fmt.Errorf("revision %d: %w (%w)", rev, ErrUnconfirmed, err)
}

// check runs the commit check over every member's effective
// configuration, and the session's prepare step as a dry run on this
// machine's.
func (b *LevelBackend) check(ctx context.Context, before, after *config.Levels, prepare store.PrepareFunc) (config.Problems, error) {
	var errs, warnings config.Problems
	members := make([]string, 0, len(after.Membership))
	for m := range after.Membership {
		members = append(members, m)
	}
	sort.Strings(members)
	for _, m := range members {
		old, _, err := before.Effective(m)
		if err != nil {
			old = new(config.Config)
		}
		eff, _, err := after.Effective(m)
		if err != nil {
			return nil, err
		}
		for _, p := range config.ValidateChange(old, eff, b.s.now()) {
			if len(members) > 1 {
				p.Msg += " (on machine " + m + ")"
			}
			if p.Warning {
				warnings = append(warnings, p)
			} else {
				errs = append(errs, p)
			}
		}
	}
	if len(errs) > 0 {
		return nil, &store.InvalidError{Problems: errs}
	}
	if prepare != nil {
		if eff, _, err := after.Effective(b.s.machine); err == nil {
			if err := b.s.dryRun(ctx, prepare, eff); err != nil {
				return nil, err
			}
		}
	}
	return warnings, nil
}

// dryRun readies the services for eff and lets go again: what the
// watcher would meet when it applies the commit. It waits while the
// watcher applies another revision (applyMu).
func (s *Store) dryRun(ctx context.Context, prepare store.PrepareFunc, eff *config.Config) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	_, abort, err := prepare(ctx, eff)
	if err != nil {
		return fmt.Errorf("%w: %w", store.ErrApply, err)
	}
	abort()
	return nil
}

// ops are the writes of one commit: the level's changed sections, head,
// the revision record and the audit entry.
func (b *LevelBackend) ops(c *cluster, next *config.Levels, sections []string, meta store.Meta, changes []config.Change) ([]clientv3.Op, error) {
	s := b.s
	rev := c.rev + 1
	layer := layerOf(next, b.level)
	var ops []clientv3.Op
	for _, sec := range sections {
		k := sectionKey(b.level, sec)
		ops = append(ops, clientv3.OpPut(k, s.seal.seal(k, layer[sec])))
	}
	if b.level.Kind == config.LevelGroup && !containsString(c.groups, b.level.Name) {
		ops = append(ops, clientv3.OpPut(grpPrefix+b.level.Name, ""))
	}
	raw, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	rk := revKey(rev)
	rv, _ := json.Marshal(revValue{Meta: meta, Level: b.level, Changes: s.seal.seal(rk, raw)})
	hv, _ := json.Marshal(headValue{Rev: rev})
	detail := strings.TrimPrefix(meta.Comment+"; "+meta.Merged, "; ")
	detail = strings.TrimSuffix(detail, "; ")
	audit, _ := json.Marshal(store.AuditEntry{Time: meta.Time, User: meta.User, Source: meta.Source,
		Action: meta.Kind, Rev: rev, Detail: b.level.String() + ": " + detail})
	ops = append(ops, clientv3.OpPut(keyHead, string(hv)), clientv3.OpPut(rk, string(rv)),
		clientv3.OpPut(auditKey(meta.Time.UnixNano(), s.machine), string(audit)))
	return ops, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func auditKey(nanos int64, machine string) string {
	return fmt.Sprintf("%s%020d/%s", audPrefix, nanos, machine)
}

// Revisions implements store.Backend: the cluster's history, newest
// first, every level's; at most the window kept (compact.go), though a
// few older records wait for the next pruning.
func (b *LevelBackend) Revisions(limit int) ([]store.Revision, error) {
	s := b.s
	limit = min(limit, int(s.history.keepRevs()))
	if limit <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, revPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(limit)))
	if err != nil {
		return nil, s.etcdErr("read history", err)
	}
	out := make([]store.Revision, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var rv revValue
		if err := json.Unmarshal(kv.Value, &rv); err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		r := store.Revision{Meta: rv.Meta}
		fmt.Sscanf(strings.TrimPrefix(string(kv.Key), revPrefix), "%d", &r.Rev)
		if rv.Changes != "" {
			plain, err := s.seal.open(string(kv.Key), []byte(rv.Changes))
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(plain, &r.Changes); err != nil {
				return nil, fmt.Errorf("%s: %w", kv.Key, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// ConfigAt implements store.Backend: the level's view at an earlier
// revision, read from etcd's own history (the etcd revision of revs/<n>).
// Only the newest revisions are kept (compact.go): an older one is
// ErrNotKept, whether its record is gone or etcd compacted meanwhile.
func (b *LevelBackend) ConfigAt(rev uint64) (*config.Config, error) {
	s := b.s
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	tr, err := s.cli.Txn(ctx).Then(clientv3.OpGet(revKey(rev)), clientv3.OpGet(keyHead)).Commit()
	if err != nil {
		return nil, s.etcdErr("read history", err)
	}
	var hv headValue
	if kvs := tr.Responses[1].GetResponseRange().Kvs; len(kvs) > 0 {
		_ = json.Unmarshal(kvs[0].Value, &hv)
	}
	if rev <= hv.Rev && !s.history.kept(rev, hv.Rev) {
		return nil, s.notKept(rev)
	}
	kvs := tr.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return nil, fmt.Errorf("revision %d: %w", rev, store.ErrNotFound)
	}
	c, err := s.load(ctx, kvs[0].ModRevision)
	if errors.Is(err, rpctypes.ErrCompacted) {
		return nil, s.notKept(rev)
	}
	if err != nil {
		return nil, fmt.Errorf("revision %d: %w: %w", rev, store.ErrNotFound, err)
	}
	v, _, err := c.levels.View(b.level, s.machine)
	return v, err
}

// Audit implements store.Backend.
func (b *LevelBackend) Audit(e store.AuditEntry) error {
	s := b.s
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	raw, _ := json.Marshal(e)
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if _, err := s.cli.Put(ctx, auditKey(e.Time.UnixNano(), s.machine), string(raw)); err != nil {
		return s.etcdErr("audit trail", err)
	}
	return nil
}

// AuditLog implements store.Backend: the cluster's audit trail, newest
// first.
func (b *LevelBackend) AuditLog(limit int) ([]store.AuditEntry, error) {
	s := b.s
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, audPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(limit)))
	if err != nil {
		return nil, s.etcdErr("read audit trail", err)
	}
	var out []store.AuditEntry
	for _, kv := range resp.Kvs {
		var e store.AuditEntry
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Pending implements store.Backend: the cluster's pending commit, at
// any level, as this machine last saw it (confirm.go). Like Head it never
// waits for etcd.
func (b *LevelBackend) Pending() (store.Pending, bool) { return b.s.pending() }

// Confirm implements store.Backend: the author keeps the pending commit,
// from any member.
func (b *LevelBackend) Confirm(user, source string) (store.Pending, error) {
	return b.s.confirmPending(user, source)
}

// RevertPending implements store.Backend: the pending commit reverted
// now, as the holder of confirm-leader does at its deadline.
func (b *LevelBackend) RevertPending(ctx context.Context, reason string, prepare store.PrepareFunc) (store.Result, error) {
	return b.s.revert(ctx, 0, reason, prepare)
}

// Close implements store.Backend; the Store is closed by its owner.
func (b *LevelBackend) Close() error { return nil }
