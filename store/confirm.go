package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Confirmed commits, as Junos's `commit confirmed`: the revision runs at
// once but is reverted automatically, as a new revision, unless its author
// confirms it before the deadline. The deadline is stored with the
// revision, so a restart past it reverts at boot. While one is pending,
// other administrators' commits are refused: the revert would undo them.

// KindConfirmRevert is the kind of the revision an automatic revert makes.
const KindConfirmRevert = "confirm-revert"

// Pending is a commit awaiting confirmation.
type Pending struct {
	Rev      uint64    `json:"rev"`  // the revision to confirm
	Prev     uint64    `json:"prev"` // what a revert goes back to
	Deadline time.Time `json:"deadline"`
	User     string    `json:"user"`
	Source   string    `json:"source"`
}

// ErrNoPending is a confirmation or revert with nothing pending.
var ErrNoPending = errors.New("no commit is awaiting confirmation")

// ErrPending is a commit refused while another administrator's confirmed
// commit is pending; the error is a *PendingError.
var ErrPending = errors.New("a confirmed commit is pending")

// PendingError names the pending commit that refused a commit.
type PendingError struct{ Pending Pending }

func (e *PendingError) Error() string {
	return fmt.Sprintf("revision %d by %s awaits confirmation until %s", e.Pending.Rev, e.Pending.User, e.Pending.Deadline.Format(time.ANSIC))
}

func (e *PendingError) Unwrap() error { return ErrPending }

func putPending(tx *bolt.Tx, p *Pending) error {
	meta := tx.Bucket(bucketMeta)
	if p == nil {
		return meta.Delete(keyConfirm)
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return meta.Put(keyConfirm, raw)
}

// nextPending is what awaits confirmation after rev: a new deadline when
// the request asks for one (a revert still goes back to before the first
// unconfirmed revision), nothing otherwise — a plain commit by the owner
// confirms.
func nextPending(req CommitRequest, rev Revision, cur *Pending) *Pending {
	if req.ConfirmBy.IsZero() || req.Meta.Kind == KindConfirmRevert {
		return nil
	}
	prev := rev.Rev - 1
	if cur != nil {
		prev = cur.Prev
	}
	return &Pending{Rev: rev.Rev, Prev: prev, Deadline: req.ConfirmBy, User: req.Meta.User, Source: req.Meta.Source}
}

// Pending returns the commit awaiting confirmation, if any. Like Head it
// never waits for a commit.
func (s *DB) Pending() (Pending, bool) {
	p := s.current().pending
	if p == nil {
		return Pending{}, false
	}
	return *p, true
}

// Confirm keeps the pending commit. Only its author confirms it.
func (s *DB) Confirm(user, source string) (Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.current()
	p := cur.pending
	if p == nil {
		return Pending{}, ErrNoPending
	}
	if p.User != user {
		return Pending{}, &PendingError{Pending: *p}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := putPending(tx, nil); err != nil {
			return err
		}
		return appendAudit(tx, AuditEntry{Time: s.now(), User: user, Source: source, Action: "confirm", Rev: p.Rev})
	})
	if err != nil {
		return Pending{}, fmt.Errorf("confirm revision %d: %w", p.Rev, err)
	}
	s.publish(cur.head, nil)
	return *p, nil
}

// RevertPending reverts the pending commit as a new revision holding the
// configuration from before it; prepare applies it to the running services.
func (s *DB) RevertPending(ctx context.Context, reason string, prepare PrepareFunc) (Result, error) {
	p, ok := s.Pending()
	if !ok {
		return Result{}, ErrNoPending
	}
	cfg, err := s.ConfigAt(p.Prev)
	if err != nil {
		return Result{}, fmt.Errorf("revert revision %d: %w", p.Rev, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.current()
	if cur.pending == nil || cur.pending.Rev != p.Rev {
		return Result{}, ErrNoPending // confirmed meanwhile
	}
	req := CommitRequest{Base: cur.head, Candidate: cfg, Prepare: prepare, handover: true,
		Meta: Meta{User: "system", Source: "confirm", Kind: KindConfirmRevert, Comment: reason, Rollback: true}}
	res, err := s.commitLocked(ctx, req)
	if errors.Is(err, ErrNoChanges) {
		err = s.db.Update(func(tx *bolt.Tx) error { return putPending(tx, nil) })
		if err == nil {
			s.publish(cur.head, nil)
		}
		return Result{}, err
	}
	if err != nil {
		if aerr := s.Audit(AuditEntry{Time: s.now(), User: "system", Source: "confirm", Action: "confirm-revert-failed", Rev: p.Rev, Detail: err.Error()}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("audit trail: %w", aerr)) // the caller logs it: a lost audit line is not silent
		}
	}
	return res, err
}
