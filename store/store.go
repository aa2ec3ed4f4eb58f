// Package store keeps the committed configuration, its history and the
// audit trail, and turns a session's draft into a new revision.
//
// The Backend interface is what sessions rely on; the bbolt implementation
// in this package is the single-appliance one (a cluster backend on etcd
// implements the same interface). Drafts live in memory, per session: an
// administrator's uncommitted changes belong to that login, as on AsyncOS,
// and vanish with it.
//
// # Readers never wait
//
// Head and Pending load an immutable snapshot from an atomic pointer: an
// SSH login, a prompt or a web page never waits for a commit, however
// long its prepare step takes. Only writers (Commit, Confirm,
// RevertPending) take the commit lock. A writer publishes the new
// snapshot after the revision is durable and the services have activated
// it, so a reader never sees a revision that a failed prepare or write
// takes back. Code that must not miss a commit already in progress (a
// service registering for commits at start-up) asks SettledHead, the one
// reader that waits for the commit lock.
//
// # Lock order
//
// A goroutine holding one of these locks takes only locks later in the
// list, never an earlier one:
//
//  1. the store's commit lock (DB.mu), held across a commit's prepare,
//     write and activate;
//  2. the MTA runtime (mta.Server's lock), taken by its Prepare/activate;
//  3. sshd (sshd.Server's lock), taken by its Prepare/activate (web's
//     prepare runs after it, under the commit lock alone);
//  4. the mail queue (queue.Queue's lock), taken by the MTA; it calls out
//     to nothing while held.
//
// Nothing below the store calls back into it while holding its own lock:
// mta does not import the store, and sshd reads the head through Head,
// which takes no lock.
package store

import (
	"context"
	"time"

	"esash/config"
)

// Meta describes a revision.
type Meta struct {
	User     string    `json:"user"`
	Source   string    `json:"source"` // console, script, ssh:<ip>
	Time     time.Time `json:"time"`
	Comment  string    `json:"comment"`
	Kind     string    `json:"kind"`     // commit, rollback, factory
	Rollback bool      `json:"rollback"` // saved for rollback (the commit dialog's question)
	Merged   string    `json:"merged,omitempty"`
}

// Snapshot is a committed configuration. Config is shared and must never
// be modified: clone it first.
type Snapshot struct {
	Rev    uint64
	Meta   Meta
	Config *config.Config
}

// Revision is one entry of the history.
type Revision struct {
	Rev     uint64          `json:"rev"`
	Meta    Meta            `json:"meta"`
	Changes []config.Change `json:"changes"`
}

// PrepareFunc readies the running services for cfg without disturbing
// them. The store calls it after the commit check and before the revision
// is durable; activate runs once it is, abort if it could not be written.
type PrepareFunc func(ctx context.Context, cfg *config.Config) (activate, abort func(), err error)

// CommitRequest is a draft offered for commit. The store keeps its own
// copy of Candidate as the new head, so the caller may go on using it.
type CommitRequest struct {
	Base      Snapshot       // what the draft started from
	Candidate *config.Config // the draft
	Meta      Meta
	Prepare   PrepareFunc // may be nil
	// ConfirmBy, when set, makes this a confirmed commit: reverted
	// automatically unless confirmed before then.
	ConfirmBy time.Time

	// handover says Candidate is a private copy nobody modifies again (a
	// Draft's staged configuration), so the store may keep it uncopied.
	handover bool
}

// Result tells what a commit did.
type Result struct {
	Rev        uint64
	Changes    int
	MergedOver []Revision // commits made since the draft began, merged with it
	Warnings   config.Problems
	Snapshot   Snapshot
}

// AuditEntry is one line of the append-only audit trail.
type AuditEntry struct {
	Time   time.Time `json:"time"`
	User   string    `json:"user"`
	Source string    `json:"source"`
	Action string    `json:"action"` // commit, commit-failed, rollback, conflict
	Rev    uint64    `json:"rev,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Backend is the configuration store every session commits through.
type Backend interface {
	// Head is the running configuration. It never waits for a commit in
	// progress (see the package comment).
	Head() Snapshot
	// Commit checks, merges and records a draft as the new head.
	Commit(ctx context.Context, req CommitRequest) (Result, error)
	// Revisions lists at most limit revisions, newest first.
	Revisions(limit int) ([]Revision, error)
	// ConfigAt rebuilds the configuration of an earlier revision.
	ConfigAt(rev uint64) (*config.Config, error)
	// Audit appends to the audit trail; AuditLog reads its newest entries.
	Audit(e AuditEntry) error
	AuditLog(limit int) ([]AuditEntry, error)
	// Pending, Confirm and RevertPending manage confirmed commits.
	Pending() (Pending, bool)
	Confirm(user, source string) (Pending, error)
	RevertPending(ctx context.Context, reason string, prepare PrepareFunc) (Result, error)
	Close() error
}
