package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"esash/config"
)

// Draft is one session's staged configuration: the head it started from
// plus its own edits, invisible to every other session until committed.
type Draft struct {
	db     Backend
	User   string
	Source string
	base   Snapshot
	cfg    *config.Config // shared with base until the first Update
	dirty  bool
	// own: cfg is the draft's private copy (made by Update), never
	// modified once staged, which the store may keep without copying.
	own bool
}

// NewDraft starts a draft at the current head.
func NewDraft(db Backend, user, source string) *Draft {
	h := db.Head()
	return &Draft{db: db, User: user, Source: source, base: h, cfg: h.Config}
}

// Base is the revision the draft started from.
func (d *Draft) Base() Snapshot { return d.base }

// Config is the staged configuration. It must not be modified: use Update.
func (d *Draft) Config() *config.Config { return d.cfg }

// Update stages an edit. fn works on a copy, which replaces the draft only
// when fn returns nil, so a failed or abandoned edit leaves no trace.
func (d *Draft) Update(fn func(c *config.Config) error) error {
	c := d.cfg.Clone()
	if err := fn(c); err != nil {
		return err
	}
	d.cfg, d.dirty, d.own = c, true, true
	return nil
}

// Replace stages a whole configuration (rollback, load).
func (d *Draft) Replace(c *config.Config) {
	d.cfg, d.dirty, d.own = c, true, false
}

// Changes lists the staged changes against the base.
func (d *Draft) Changes() []config.Change {
	if !d.dirty {
		return nil
	}
	return config.Diff(d.base.Config, d.cfg)
}

// Changed reports whether anything is staged.
func (d *Draft) Changed() bool { return len(d.Changes()) > 0 }

// Clear drops the staged changes and moves the draft to the current head.
func (d *Draft) Clear() {
	h := d.db.Head()
	d.base, d.cfg, d.dirty, d.own = h, h.Config, false, false
}

// Refresh follows the head while nothing is staged, so an idle session
// sees what others commit.
// It runs at every main prompt, so it looks only at whether anything was
// staged, not at what: a full diff of a large configuration per prompt
// would dominate long scripts.
func (d *Draft) Refresh() {
	if !d.dirty {
		d.Clear()
	}
}

// Commit makes the draft the running configuration.
func (d *Draft) Commit(ctx context.Context, comment string, rollback bool, prepare PrepareFunc) (Result, error) {
	return d.commit(ctx, Meta{Comment: comment, Rollback: rollback}, prepare, time.Time{})
}

// CommitKind is Commit with the revision kind recorded (rollback, load).
func (d *Draft) CommitKind(ctx context.Context, kind, comment string, rollback bool, prepare PrepareFunc) (Result, error) {
	return d.commit(ctx, Meta{Kind: kind, Comment: comment, Rollback: rollback}, prepare, time.Time{})
}

// CommitConfirmed commits the draft to be reverted at deadline unless
// confirmed.
func (d *Draft) CommitConfirmed(ctx context.Context, comment string, rollback bool, deadline time.Time, prepare PrepareFunc) (Result, error) {
	return d.commit(ctx, Meta{Comment: comment, Rollback: rollback}, prepare, deadline)
}

func (d *Draft) commit(ctx context.Context, m Meta, prepare PrepareFunc, confirmBy time.Time) (Result, error) {
	if !d.dirty {
		return Result{}, ErrNoChanges
	}
	m.User, m.Source = d.User, d.Source
	res, err := d.db.Commit(ctx, CommitRequest{Base: d.base, Candidate: d.cfg, Meta: m, Prepare: prepare, handover: d.own, ConfirmBy: confirmBy})
	if err != nil {
		if errors.Is(err, ErrNoChanges) {
			d.Clear()
		}
		return res, fmt.Errorf("commit: %w", err)
	}
	d.base, d.cfg, d.dirty, d.own = res.Snapshot, res.Snapshot.Config, false, false
	return res, nil
}

// Saved is a draft's state at one moment.
type Saved struct {
	cfg   *config.Config
	dirty bool
	own   bool
}

// Save records the staged state so that an aborted command can drop
// exactly what it staged.
func (d *Draft) Save() Saved { return Saved{d.cfg, d.dirty, d.own} }

// Restore goes back to a saved state.
func (d *Draft) Restore(s Saved) { d.cfg, d.dirty, d.own = s.cfg, s.dirty, s.own }
