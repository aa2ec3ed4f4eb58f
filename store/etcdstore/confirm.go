package etcdstore

// Commit confirmed on a cluster (issue 13). The standalone rules hold
// (store/confirm.go): the revision runs at once; unless its author
// confirms it before the deadline it is reverted by a new revision of
// kind confirm-revert; meanwhile other administrators' commits are
// refused, since the revert would undo them.
//
// Decisions:
//
//   - The pending record is the key confirm, written in the same Txn as
//     the commit and removed in the same Txn as the revert. Every Txn that
//     reads it compares its ModRevision, so a confirmation and a revert
//     cannot both win.
//   - The author is the user name: the users are cluster-wide, so the same
//     administrator confirms from any member (`commit` with nothing
//     staged), as standalone only the author may.
//   - The record carries what a revert restores: the previous value (or
//     absence) of each section the unconfirmed revisions wrote, at their
//     levels, sealed with the data key. A revert so restores the levels
//     exactly (an override that did not exist is removed again, not
//     replaced by a copy of the inherited value), and needs no etcd
//     history: a compaction during the deadline does not stop it.
//   - Exactly one member reverts: the holder of the key confirm-leader,
//     put under an etcd lease that member keeps alive (TTL: the etcd call
//     timeout, rounded up to seconds). When the holder dies its lease
//     expires, the key goes, and another member takes it and reverts
//     whatever is due. The revert itself is one Txn guarded by head and
//     by the pending record, so even two holders (a lease lost while its
//     holder still ran) make one confirm-revert revision. The key is a
//     lease-keyed lock of our own (a Txn on its CreateRevision, a watch
//     for its deletion) rather than client/v3/concurrency's Election:
//     Campaign resigns with the client's own context, without deadline,
//     so a member stopping without quorum would hang; here every call has
//     the store's timeout.
//   - The deadline is wall-clock time written by the committing machine
//     and read by the holder: members' clocks are assumed in step (NTP),
//     as the audit trail already assumes.
//   - Membership changes (join, groups) are not refused while a commit is
//     pending: they write no configuration the revert restores. A group
//     renamed or deleted meanwhile keeps what it has: its old name's undo
//     entries are skipped.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"esash/config"
	"esash/store"
)

const (
	keyPending = prefix + "confirm"
	keyLeader  = prefix + "confirm-leader"
)

// pendingValue is the value of confirm.
type pendingValue struct {
	store.Pending
	// Level is the level of the pending revision: the revert's.
	Level config.Level `json:"level"`
	// Undo is the sealed JSON of []undoEntry.
	Undo string `json:"undo"`
}

// undoEntry is what one section of one level held before the first
// unconfirmed revision.
type undoEntry struct {
	Level   config.Level    `json:"level"`
	Section string          `json:"section"`
	Value   json.RawMessage `json:"value,omitempty"` // nil: no value of its own
}

// pendingRead is confirm as read at etcd revision at.
type pendingRead struct {
	v      *pendingValue // nil: nothing pending
	modRev int64         // its ModRevision, 0 when absent: the guard
	at     int64
}

// confirmState is a Store's view of the pending commit and its keeper
// goroutines.
type confirmState struct {
	seen atomic.Pointer[pendingRead] // newest read, for Pending
	mu   sync.Mutex                  // guards wake
	wake chan struct{}               // closed when seen changes
	done chan struct{}               // closed when the goroutines ended
}

// startConfirm starts the goroutines that follow confirm and, on the
// member that holds confirm-leader, revert at the deadline. They end
// with ctx; waitConfirm waits for them.
func (s *Store) startConfirm(ctx context.Context) {
	s.confirm.wake = make(chan struct{})
	s.confirm.done = make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.followPending(ctx) }()
	go func() { defer wg.Done(); s.leadConfirm(ctx) }()
	go func() { wg.Wait(); close(s.confirm.done) }()
}

func (s *Store) waitConfirm() {
	if s.confirm.done != nil {
		<-s.confirm.done
	}
}

// notePending records r unless a newer read is recorded already (the
// watch and this machine's own Txns both report).
func (s *Store) notePending(r pendingRead) {
	for {
		old := s.confirm.seen.Load()
		if old != nil && old.at >= r.at {
			return
		}
		if s.confirm.seen.CompareAndSwap(old, &r) {
			break
		}
	}
	s.confirm.mu.Lock()
	if s.confirm.wake != nil {
		close(s.confirm.wake)
	}
	s.confirm.wake = make(chan struct{})
	s.confirm.mu.Unlock()
}

// seenPending is the newest read and a channel closed at the next one.
func (s *Store) seenPending() (pendingRead, <-chan struct{}) {
	s.confirm.mu.Lock()
	wake := s.confirm.wake
	s.confirm.mu.Unlock()
	if r := s.confirm.seen.Load(); r != nil {
		return *r, wake
	}
	return pendingRead{}, wake
}

func decodePending(raw []byte) (*pendingValue, error) {
	var v pendingValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", keyPending, err)
	}
	return &v, nil
}

// readPending reads confirm at etcd revision at (0: the current one).
func (s *Store) readPending(ctx context.Context, at int64) (pendingRead, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.cli.Get(ctx, keyPending, clientv3.WithRev(at))
	if err != nil {
		return pendingRead{}, s.etcdErr("read the pending commit", err)
	}
	r := pendingRead{at: at}
	if at == 0 {
		r.at = resp.Header.Revision
	}
	if len(resp.Kvs) == 1 {
		if r.v, err = decodePending(resp.Kvs[0].Value); err != nil {
			return pendingRead{}, err
		}
		r.modRev = resp.Kvs[0].ModRevision
	}
	return r, nil
}

// followPending keeps seen up to date: every member's sessions see the
// pending commit (Pending) without asking etcd.
func (s *Store) followPending(ctx context.Context) {
	for ctx.Err() == nil {
		r, err := s.readPending(ctx, 0)
		if err != nil {
			s.pause(ctx)
			continue
		}
		s.notePending(r)
		s.watchPending(ctx, r.at)
		s.pause(ctx)
	}
}

// watchPending applies each change of confirm after etcd revision from,
// until the watch ends (an error, a compaction: followPending reads
// again).
func (s *Store) watchPending(ctx context.Context, from int64) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range s.cli.Watch(wctx, keyPending, clientv3.WithRev(from+1)) {
		if resp.Err() != nil || resp.Canceled {
			return
		}
		for _, ev := range resp.Events {
			r := pendingRead{at: ev.Kv.ModRevision}
			if ev.Type == clientv3.EventTypePut {
				v, err := decodePending(ev.Kv.Value)
				if err != nil {
					return
				}
				r.v, r.modRev = v, ev.Kv.ModRevision
			}
			s.notePending(r)
		}
	}
}

// confirmStep is what one commit attempt does about confirm: refuse
// another administrator's commit while one is pending, guard the Txn by
// confirm as read, and write (or clear) the record with the revision.
type confirmStep struct {
	s     *Store
	req   store.CommitRequest
	level config.Level
	cur   pendingRead
}

// confirmStep reads confirm at the etcd revision c was read at.
func (b *LevelBackend) confirmStep(ctx context.Context, c *cluster, req store.CommitRequest) (*confirmStep, error) {
	cur, err := b.s.readPending(ctx, c.etcdRev)
	if err != nil {
		return nil, err
	}
	if p := cur.v; p != nil && req.Meta.Kind != store.KindConfirmRevert && req.Meta.User != p.User {
		return nil, &store.PendingError{Pending: p.Pending}
	}
	return &confirmStep{s: b.s, req: req, level: b.level, cur: cur}, nil
}

// guard fails the Txn when confirm changed since it was read.
func (cs *confirmStep) guard() clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(keyPending), "=", cs.cur.modRev)
}

// ops write what awaits confirmation after revision rev, which writes
// sections at the step's level over the levels old: a new deadline when
// the request asks for one (a revert still restores what preceded the
// first unconfirmed revision), nothing otherwise (the author's plain
// commit confirms).
func (cs *confirmStep) ops(old *config.Levels, sections []string, rev uint64) ([]clientv3.Op, error) {
	if cs.req.ConfirmBy.IsZero() || cs.req.Meta.Kind == store.KindConfirmRevert {
		if cs.cur.v == nil {
			return nil, nil
		}
		return []clientv3.Op{clientv3.OpDelete(keyPending)}, nil
	}
	m := cs.req.Meta
	v := pendingValue{Pending: store.Pending{Rev: rev, Prev: rev - 1, Deadline: cs.req.ConfirmBy, User: m.User, Source: m.Source}, Level: cs.level}
	var undo []undoEntry
	if cs.cur.v != nil {
		v.Prev = cs.cur.v.Prev
		var err error
		if undo, err = cs.s.openUndo(cs.cur.v); err != nil {
			return nil, err
		}
	}
	held := map[string]bool{}
	for _, u := range undo {
		held[sectionKey(u.Level, u.Section)] = true
	}
	layer := levelLayer(old, cs.level)
	for _, sec := range sections {
		if !held[sectionKey(cs.level, sec)] {
			undo = append(undo, undoEntry{Level: cs.level, Section: sec, Value: layer[sec]})
		}
	}
	raw, err := json.Marshal(undo)
	if err != nil {
		return nil, err
	}
	v.Undo = cs.s.seal.seal(keyPending, raw)
	pv, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return []clientv3.Op{clientv3.OpPut(keyPending, string(pv))}, nil
}

// committed records what the Txn (at etcd revision at) left pending, so
// that this machine's sessions see it at once.
func (cs *confirmStep) committed(ops []clientv3.Op, at int64) {
	r := pendingRead{at: at}
	for _, op := range ops {
		if op.IsPut() && string(op.KeyBytes()) == keyPending {
			if v, err := decodePending(op.ValueBytes()); err == nil {
				r.v, r.modRev = v, at
			}
		}
	}
	cs.s.notePending(r)
}

// levelLayer is the layer of a level, nil when it has none (unlike
// layerOf, it adds nothing to l).
func levelLayer(l *config.Levels, at config.Level) config.Layer {
	switch at.Kind {
	case config.LevelCluster:
		return l.Cluster
	case config.LevelGroup:
		return l.Groups[at.Name]
	}
	return l.Machines[at.Name]
}

func (s *Store) openUndo(v *pendingValue) ([]undoEntry, error) {
	raw, err := s.seal.open(keyPending, []byte(v.Undo))
	if err != nil {
		return nil, err
	}
	var undo []undoEntry
	if err := json.Unmarshal(raw, &undo); err != nil {
		return nil, fmt.Errorf("%s: %w", keyPending, err)
	}
	return undo, nil
}

// pending is the pending commit as last seen.
func (s *Store) pending() (store.Pending, bool) {
	r, _ := s.seenPending()
	if r.v == nil {
		return store.Pending{}, false
	}
	return r.v.Pending, true
}

// confirmPending keeps the pending commit: its author's confirmation, from
// any member, recorded in the audit trail.
func (s *Store) confirmPending(user, source string) (store.Pending, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	for range maxRaces {
		r, err := s.readPending(ctx, 0)
		if err != nil {
			return store.Pending{}, err
		}
		s.notePending(r)
		if r.v == nil {
			return store.Pending{}, store.ErrNoPending
		}
		if r.v.User != user {
			return store.Pending{}, &store.PendingError{Pending: r.v.Pending}
		}
		now := s.now()
		audit, _ := json.Marshal(store.AuditEntry{Time: now, User: user, Source: source, Action: "confirm", Rev: r.v.Rev,
			Detail: fmt.Sprintf("%s: revision %d confirmed", r.v.Level, r.v.Rev)})
		tr, err := s.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(keyPending), "=", r.modRev)).
			Then(clientv3.OpDelete(keyPending), clientv3.OpPut(auditKey(now.UnixNano(), s.machine), string(audit))).Commit()
		if err != nil {
			return store.Pending{}, s.etcdErr(fmt.Sprintf("confirm revision %d", r.v.Rev), err)
		}
		if tr.Succeeded {
			s.notePending(pendingRead{at: tr.Header.Revision})
			return r.v.Pending, nil
		}
	}
	return store.Pending{}, ErrRaced
}

// leaseTTL is the lease of confirm-leader, in seconds: a holder that
// cannot reach etcd for this long is taken over.
func (s *Store) leaseTTL() int64 {
	return max(1, int64(math.Ceil(s.timeout.Seconds())))
}

var errLeaseLost = errors.New("confirm-leader lease lost")

// leadConfirm competes for confirm-leader for as long as ctx: one lease
// at a time, a new one when it is lost.
func (s *Store) leadConfirm(ctx context.Context) {
	for ctx.Err() == nil {
		gctx, cancel := context.WithTimeout(ctx, s.timeout)
		lease, err := s.cli.Grant(gctx, s.leaseTTL())
		cancel()
		if err != nil {
			s.pause(ctx)
			continue
		}
		if s.holdLease(ctx, lease.ID) {
			// The holder hands over at once on a clean stop; a dead
			// holder's lease, and any other, expires by itself.
			rctx, cancel := context.WithTimeout(context.Background(), s.timeout/2)
			_, _ = s.cli.Revoke(rctx, lease.ID)
			cancel()
		}
	}
}

// holdLease keeps lease alive and, with it, competes for confirm-leader
// until the lease is lost or ctx ends; led says it held confirm-leader.
func (s *Store) holdLease(ctx context.Context, lease clientv3.LeaseID) (led bool) {
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	alive, err := s.cli.KeepAlive(kctx, lease)
	if err != nil {
		s.pause(ctx)
		return false
	}
	lost := make(chan struct{})
	go func() {
		for range alive { // closes when the lease expires or kctx ends
		}
		close(lost)
	}()
	defer func() { cancel(); <-lost }()
	for ctx.Err() == nil {
		select {
		case <-lost:
			return led
		default:
		}
		held, at, err := s.takeLeader(ctx, lease)
		switch {
		case err != nil:
			s.pause(ctx)
		case held:
			led = true
			s.revertWhenDue(ctx, lost)
		default:
			s.waitLeaderGone(ctx, at, lost)
		}
	}
	return led
}

// ConfirmHolder is the machine that reverts pending commits at their
// deadline now: the holder of confirm-leader ("" when none).
func ConfirmHolder(ctx context.Context, cli *clientv3.Client) (string, error) {
	resp, err := cli.Get(ctx, keyLeader)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", keyLeader, err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// takeLeader puts confirm-leader under lease unless another lease holds
// it; at is the etcd revision it was read at.
func (s *Store) takeLeader(ctx context.Context, lease clientv3.LeaseID) (bool, int64, error) {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	tr, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.CreateRevision(keyLeader), "=", 0)).
		Then(clientv3.OpPut(keyLeader, s.machine, clientv3.WithLease(lease))).Else(clientv3.OpGet(keyLeader)).Commit()
	if err != nil {
		return false, 0, err
	}
	if tr.Succeeded {
		return true, tr.Header.Revision, nil
	}
	kvs := tr.Responses[0].GetResponseRange().Kvs
	return len(kvs) == 1 && clientv3.LeaseID(kvs[0].Lease) == lease, tr.Header.Revision, nil
}

// waitLeaderGone waits until confirm-leader is deleted after etcd
// revision at (its holder's lease ended), lost closes or ctx ends.
func (s *Store) waitLeaderGone(ctx context.Context, at int64, lost <-chan struct{}) {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	ch := s.cli.Watch(wctx, keyLeader, clientv3.WithRev(at+1))
	for {
		select {
		case <-lost:
			return
		case resp, ok := <-ch:
			if !ok || resp.Err() != nil || resp.Canceled {
				s.pause(ctx)
				return
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return
				}
			}
		}
	}
}

// revertWhenDue is the holder's work: revert the pending commit when its
// deadline comes, until lost closes or ctx ends. A revert that fails (no
// quorum, a check that fails) is tried again after the etcd timeout, and
// recorded in the audit trail once.
func (s *Store) revertWhenDue(ctx context.Context, lost <-chan struct{}) {
	var failed uint64
	for {
		r, wake := s.seenPending()
		wait := time.Duration(-1) // nothing pending: wait for news
		if p := r.v; p != nil {
			if wait = p.Deadline.Sub(s.now()); wait <= 0 {
				reason := fmt.Sprintf("Automatic rollback of revision %d by %s: not confirmed in time (deadline %s)",
					p.Rev, p.User, p.Deadline.Format("Mon Jan _2 15:04:05 2006"))
				_, err := s.revert(ctx, p.Rev, reason, s.prepare)
				if err == nil || errors.Is(err, store.ErrNoPending) {
					continue // revert noted what is pending now
				}
				if failed != p.Rev && ctx.Err() == nil {
					failed = p.Rev
					_ = s.auditRevertFailed(p, err) // best effort: the next attempt records nothing more
				}
				wait = s.timeout
			}
		}
		if !waitFor(ctx, lost, wake, wait) {
			return
		}
	}
}

// waitFor waits for wake or wait (negative: no timeout); false when ctx
// ends or lost closes.
func waitFor(ctx context.Context, lost, wake <-chan struct{}, wait time.Duration) bool {
	var due <-chan time.Time
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		due = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-lost:
		return false
	case <-wake:
	case <-due:
	}
	return true
}

func (s *Store) auditRevertFailed(p *pendingValue, err error) error {
	now := s.now()
	raw, _ := json.Marshal(store.AuditEntry{Time: now, User: "system", Source: "confirm on " + s.machine, Action: "confirm-revert-failed", Rev: p.Rev, Detail: err.Error()})
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	_, perr := s.cli.Put(ctx, auditKey(now.UnixNano(), s.machine), string(raw))
	return perr
}
