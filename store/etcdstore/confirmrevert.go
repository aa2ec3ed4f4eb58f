package etcdstore

import (
	"context"
	"encoding/json"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

// revert reverts the pending commit rev (0: whichever is pending) as a
// new revision of kind confirm-revert: the sections its unconfirmed
// revisions wrote get back what they held before. One Txn, guarded by
// head and by confirm like a commit; the commit check runs over every
// member and prepare as a dry run here. ErrNoPending: nothing (or another
// commit) is pending, confirmed or reverted meanwhile.
func (s *Store) revert(ctx context.Context, rev uint64, reason string, prepare store.PrepareFunc) (store.Result, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	for range maxRaces {
		c, err := s.load(ctx, 0)
		if err != nil {
			return store.Result{}, err
		}
		cur, err := s.readPending(ctx, c.etcdRev)
		if err != nil {
			return store.Result{}, err
		}
		s.notePending(cur)
		if cur.v == nil || (rev != 0 && cur.v.Rev != rev) {
			return store.Result{}, store.ErrNoPending
		}
		res, won, err := s.tryRevert(ctx, c, cur, reason, prepare)
		if err != nil || !won {
			if err != nil {
				return res, err
			}
			continue
		}
		if res.Rev == 0 {
			return res, nil
		}
		wctx, cancel := context.WithTimeout(ctx, s.timeout)
		defer cancel()
		if err := s.WaitApplied(wctx, res.Rev); err != nil {
			return res, fmt.Errorf("revision %d reverted by revision %d, not yet active here: %w", cur.v.Rev, res.Rev, err)
		}
		return res, nil
	}
	return store.Result{}, ErrRaced
}

// tryRevert makes one attempt over c as read; won is false when head or
// confirm moved before the Txn.
func (s *Store) tryRevert(ctx context.Context, c *cluster, cur pendingRead, reason string, prepare store.PrepareFunc) (store.Result, bool, error) {
	var res store.Result
	p := cur.v
	undo, err := s.openUndo(p)
	if err != nil {
		return res, false, err
	}
	next, ops, changes := s.restore(c, undo)
	guards := []clientv3.Cmp{clientv3.Compare(clientv3.ModRevision(keyHead), "=", c.headModRev),
		clientv3.Compare(clientv3.ModRevision(keyPending), "=", cur.modRev)}
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if len(changes) == 0 {
		// Nothing to undo (the author put it all back): as standalone,
		// the record goes and no revision is made.
		tr, err := s.cli.Txn(tctx).If(guards[1]).Then(clientv3.OpDelete(keyPending)).Commit()
		if err != nil {
			return res, false, s.etcdErr("clear the pending commit", err)
		}
		if tr.Succeeded {
			s.notePending(pendingRead{at: tr.Header.Revision})
		}
		return res, tr.Succeeded, nil // res.Rev 0: no revision
	}
	b := &LevelBackend{s: s, level: p.Level}
	if res.Warnings, err = b.check(ctx, c.levels, next, prepare); err != nil {
		return res, false, err
	}
	// The source names the member that reverted (commitdetail).
	meta := store.Meta{Time: s.now(), User: "system", Source: "confirm on " + s.machine, Kind: store.KindConfirmRevert, Comment: reason, Rollback: true}
	rec, err := s.revisionOps(c.rev+1, meta, p.Level, changes)
	if err != nil {
		return res, false, err
	}
	ops = append(append(ops, rec...), clientv3.OpDelete(keyPending))
	tr, err := s.cli.Txn(tctx).If(guards...).Then(ops...).Commit()
	if err != nil {
		return res, false, s.etcdErr(fmt.Sprintf("revert revision %d", p.Rev), err)
	}
	if tr.Succeeded {
		s.notePending(pendingRead{at: tr.Header.Revision})
	}
	res.Rev, res.Changes = c.rev+1, len(changes)
	return res, tr.Succeeded, nil
}

// restore applies undo to a copy of c's levels: the writes, and the
// changes each touched level's view sees (on this machine).
func (s *Store) restore(c *cluster, undo []undoEntry) (*config.Levels, []clientv3.Op, []config.Change) {
	next := c.levels.Clone()
	var ops []clientv3.Op
	var touched []config.Level
	for _, u := range undo {
		if u.Level.Kind == config.LevelGroup && !containsString(c.groups, u.Level.Name) {
			continue // renamed or deleted meanwhile
		}
		layer := layerOf(next, u.Level)
		k := sectionKey(u.Level, u.Section)
		if u.Value == nil {
			if _, ok := layer[u.Section]; ok {
				delete(layer, u.Section)
				ops = append(ops, clientv3.OpDelete(k))
			}
		} else {
			layer[u.Section] = u.Value
			ops = append(ops, clientv3.OpPut(k, s.seal.seal(k, u.Value)))
		}
		if !containsLevel(touched, u.Level) {
			touched = append(touched, u.Level)
		}
	}
	var changes []config.Change
	for _, at := range touched {
		before, _, err1 := c.levels.View(at, s.machine)
		after, _, err2 := next.View(at, s.machine)
		if err1 != nil || err2 != nil {
			continue // a machine level of a machine no longer a member: no view
		}
		changes = append(changes, config.Diff(before, after)...)
	}
	return next, ops, changes
}

func containsLevel(list []config.Level, l config.Level) bool {
	for _, x := range list {
		if x == l {
			return true
		}
	}
	return false
}

// revisionOps write head, revs/<rev> with its changes, and the audit
// entry of a revision made here.
func (s *Store) revisionOps(rev uint64, meta store.Meta, level config.Level, changes []config.Change) ([]clientv3.Op, error) {
	raw, err := json.Marshal(changes)
	if err != nil {
		return nil, err
	}
	rk := revKey(rev)
	rv, _ := json.Marshal(revValue{Meta: meta, Level: level, Changes: s.seal.seal(rk, raw)})
	hv, _ := json.Marshal(headValue{Rev: rev})
	audit, _ := json.Marshal(store.AuditEntry{Time: meta.Time, User: meta.User, Source: meta.Source,
		Action: meta.Kind, Rev: rev, Detail: level.String() + ": " + meta.Comment})
	return []clientv3.Op{clientv3.OpPut(keyHead, string(hv)), clientv3.OpPut(rk, string(rv)),
		clientv3.OpPut(auditKey(meta.Time.UnixNano(), s.machine), string(audit))}, nil
}
