package etcdstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/store"
)

// The cluster's history is bounded like the standalone store's: the
// newest store.KeepRevisions revisions are offered (rollbackconfig lists
// exactly those), older revs/<n> records are deleted and etcd's MVCC
// history below the oldest one kept is compacted. Without it etcd keeps
// every version of every key forever (issue 13's benchmark: +45 MB RSS
// after 2000 commits). The decisions are in doc.go, "History".

// Defaults of the history bounds.
const (
	// keepAudit is how many audit entries the cluster keeps: ten per
	// revision kept (a commit writes one; failed commits, conflicts and
	// membership changes write more), a few MB in etcd at most.
	keepAudit = 10 * store.KeepRevisions
	// pruneEvery spreads the pruning: the committer of every pruneEvery-th
	// revision prunes, so at most pruneEvery-1 extra records wait (never
	// offered: ConfigAt and Revisions stop at the window).
	pruneEvery = 10
)

// snapshotEvery is the members' etcd SnapshotCount (member.go): the raft
// entries held in memory between snapshots, a tenth of etcd's default.
const snapshotEvery = 1000

// historyBounds bound the cluster's history; the zero value is the
// defaults (tests shrink them to stay quick).
type historyBounds struct {
	revs  uint64 // revisions offered (store.KeepRevisions)
	audit int64  // audit entries kept (keepAudit)
	every uint64 // prune after every every-th revision (pruneEvery)
	// fault, set by tests, fails a prune before it reaches etcd.
	fault func() error
}

func (h historyBounds) keepRevs() uint64 {
	if h.revs == 0 {
		return store.KeepRevisions
	}
	return h.revs
}

func (h historyBounds) keepAudit() int64 {
	if h.audit == 0 {
		return keepAudit
	}
	return h.audit
}

func (h historyBounds) pruneEvery() uint64 {
	if h.every == 0 {
		return pruneEvery
	}
	return h.every
}

// kept is whether revision rev is inside the window offered at head.
func (h historyBounds) kept(rev, head uint64) bool {
	return rev+h.keepRevs() > head
}

// notKept is the error of a revision older than the window.
func (s *Store) notKept(rev uint64) error {
	return fmt.Errorf("revision %d: %w (the cluster keeps the newest %d revisions)", rev, ErrNotKept, s.history.keepRevs())
}

// afterCommit prunes the history once this machine's commit of head won
// its Txn, when head is a multiple of the pruning period. The commit
// stands whatever happens here: a failed or skipped prune is redone by
// the next one (everything below the window goes, not one record), and a
// failure is reported (notePrune), since one that lasts lets etcd grow.
func (s *Store) afterCommit(ctx context.Context, head uint64) {
	h := s.history
	if head <= h.keepRevs() || head%h.pruneEvery() != 0 {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	_, err := s.prune(pctx, head)
	s.notePrune(err)
}

// notePrune reports a prune's failure once, and the first prune that
// works after it, rather than at every commit.
func (s *Store) notePrune(err error) {
	if s.onHistory == nil {
		return
	}
	switch {
	case err != nil && !s.pruneFailing.Swap(true):
		s.onHistory(err)
	case err == nil && s.pruneFailing.Swap(false):
		s.onHistory(nil)
	}
}

// prune deletes the revision records below the window of head and the
// audit entries beyond their bound in one Txn, then compacts etcd at the
// etcd revision of the oldest record kept: every revision offered can
// still be read at its own etcd revision (ConfigAt), nothing older can.
// It answers the etcd revision compacted at (0: nothing to do).
func (s *Store) prune(ctx context.Context, head uint64) (int64, error) {
	if s.history.fault != nil {
		if err := s.history.fault(); err != nil {
			return 0, err
		}
	}
	oldest := head - s.history.keepRevs() + 1
	// The oldest record at or above the window's start: another machine
	// may have pruned further already.
	resp, err := s.cli.Get(ctx, revKey(oldest), clientv3.WithRange(clientv3.GetPrefixRangeEnd(revPrefix)),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(1), clientv3.WithKeysOnly())
	if err != nil {
		return 0, s.etcdErr("prune history", err)
	}
	if len(resp.Kvs) == 0 {
		return 0, nil
	}
	at := resp.Kvs[0].ModRevision
	ops := []clientv3.Op{clientv3.OpDelete(revPrefix, clientv3.WithRange(revKey(oldest)))}
	aops, err := s.auditPrune(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := s.cli.Txn(ctx).Then(append(ops, aops...)...).Commit(); err != nil {
		return 0, s.etcdErr("prune history", err)
	}
	// Compacting at or below what is compacted already is refused with
	// ErrCompacted: another machine went further, which is as good.
	if _, err := s.cli.Compact(ctx, at); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return 0, s.etcdErr("compact history", err)
	}
	return at, nil
}

// auditPrune is the delete of the oldest audit entries beyond the bound
// (none while within it). Keys are in time order, so the oldest are the
// first count-bound keys.
func (s *Store) auditPrune(ctx context.Context) ([]clientv3.Op, error) {
	resp, err := s.cli.Get(ctx, audPrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return nil, s.etcdErr("prune audit trail", err)
	}
	excess := resp.Count - s.history.keepAudit()
	if excess <= 0 {
		return nil, nil
	}
	resp, err = s.cli.Get(ctx, audPrefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(excess))
	if err != nil {
		return nil, s.etcdErr("prune audit trail", err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	last := string(resp.Kvs[len(resp.Kvs)-1].Key)
	return []clientv3.Op{clientv3.OpDelete(audPrefix, clientv3.WithRange(last+"\x00"))}, nil
}
