package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"esash/config"
)

// Bucket layout (all values JSON unless noted):
//
//	meta     head -> uint64 BE revision, schema -> "1"
//	config   record key (config.Records) -> value: the head configuration
//	revs     uint64 BE revision -> Revision (metadata and changes from its parent)
//	audit    uint64 BE sequence -> AuditEntry, append-only
//
// Only the head is stored whole; older revisions are rebuilt by undoing the
// changes of the revisions after them, so a commit writes only what it
// changed.
var (
	bucketMeta   = []byte("meta")
	bucketConfig = []byte("config")
	bucketRevs   = []byte("revs")
	bucketAudit  = []byte("audit")
	keyHead      = []byte("head")
	keySchema    = []byte("schema")
	keyConfirm   = []byte("confirm") // the commit awaiting confirmation, if any
)

const schemaVersion = "1"

// KeepRevisions is how many revisions history keeps.
const KeepRevisions = 100

// Options tune Open.
type Options struct {
	// Factory builds the first configuration of a new database.
	Factory func() (*config.Config, error)
	// Now is the clock (tests set it).
	Now func() time.Time
	// LockTimeout bounds the wait for another process's lock.
	LockTimeout time.Duration
}

// DB is the bbolt-backed Backend.
type DB struct {
	db  *bolt.DB
	now func() time.Time

	// mu is the commit lock: it serialises the writers (Commit, Confirm,
	// RevertPending) and nothing else. Readers never take it.
	mu sync.Mutex
	// published is what readers see: replaced whole, under mu, once a
	// revision is durable and activated; never modified in place.
	published atomic.Pointer[published]
}

// published is the immutable state readers share: the head and the commit
// awaiting confirmation.
type published struct {
	head    Snapshot
	pending *Pending
}

// current is the published state. Writers call it under mu, where it
// cannot change under them.
func (s *DB) current() *published { return s.published.Load() }

// publish makes head and pending what readers see. Only a writer holding
// mu calls it, after the state is durable (and, for a commit, activated).
func (s *DB) publish(head Snapshot, pending *Pending) {
	s.published.Store(&published{head: head, pending: pending})
}

var _ Backend = (*DB)(nil)

// Open opens or creates the database at path (mode 0600).
func Open(path string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 200 * time.Millisecond
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// bbolt creates with the mode but an existing file keeps its own.
	_ = os.Chmod(path, 0o600)
	s := &DB{db: bdb, now: opts.Now}
	if err := s.init(opts); err != nil {
		bdb.Close()
		return nil, err
	}
	return s, nil
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func (s *DB) init(opts Options) error {
	var fresh bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketConfig, bucketRevs, bucketAudit} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySchema); v != nil && string(v) != schemaVersion {
			return fmt.Errorf("schema %q: %w", v, ErrSchema)
		}
		fresh = meta.Get(keyHead) == nil
		if !fresh {
			return nil
		}
		if opts.Factory == nil {
			return errors.New("new database and no factory configuration")
		}
		cfg, err := opts.Factory()
		if err != nil {
			return fmt.Errorf("factory configuration: %w", err)
		}
		for _, r := range config.Records(cfg) {
			if err := tx.Bucket(bucketConfig).Put([]byte(r.Key), r.Value); err != nil {
				return err
			}
		}
		rev := Revision{Rev: 1, Meta: Meta{User: "system", Source: "factory", Time: s.now(), Comment: "factory configuration", Kind: "factory"}}
		raw, _ := json.Marshal(rev)
		if err := tx.Bucket(bucketRevs).Put(u64(1), raw); err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte(schemaVersion)); err != nil {
			return err
		}
		return meta.Put(keyHead, u64(1))
	})
	if err != nil {
		return fmt.Errorf("initialise database: %w", err)
	}
	return s.loadHead()
}

func (s *DB) loadHead() error {
	return s.db.View(func(tx *bolt.Tx) error {
		rev := binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(keyHead))
		var pending *Pending
		if raw := tx.Bucket(bucketMeta).Get(keyConfirm); raw != nil {
			var p Pending
			if err := json.Unmarshal(raw, &p); err != nil {
				return fmt.Errorf("pending confirmation: %w", err)
			}
			pending = &p
		}
		cb := tx.Bucket(bucketConfig)
		recs := make(map[string][]byte, cb.Stats().KeyN)
		// The values are decoded before the transaction ends, so they
		// need not be copied out of bbolt's memory map.
		err := cb.ForEach(func(k, v []byte) error {
			recs[string(k)] = v
			return nil
		})
		if err != nil {
			return err
		}
		cfg, err := config.Load(recs)
		if err != nil {
			return fmt.Errorf("load configuration: %w", err)
		}
		// Only the metadata: the changes of a bulk commit are megabytes.
		var r struct {
			Meta Meta `json:"meta"`
		}
		if raw := tx.Bucket(bucketRevs).Get(u64(rev)); raw != nil {
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("revision %d: %w", rev, err)
			}
		}
		s.publish(Snapshot{Rev: rev, Meta: r.Meta, Config: cfg}, pending)
		return nil
	})
}

// Head implements Backend. It never waits: a commit in progress, even one
// held in its prepare step, is invisible until it is durable and active.
func (s *DB) Head() Snapshot { return s.current().head }

// SettledHead is the head once any commit in progress has finished: it
// waits for the commit lock. It is for start-up code that registers a
// service for commits and must not miss one whose prepare step ran before
// the service was registered (start it on the head, then check that
// SettledHead is still that revision). Everything else uses Head.
func (s *DB) SettledHead() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current().head
}

// Commit implements Backend.
func (s *DB) Commit(ctx context.Context, req CommitRequest) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.commitLocked(ctx, req)
	if err != nil && !errors.Is(err, ErrNoChanges) {
		if aerr := s.Audit(AuditEntry{Time: s.now(), User: req.Meta.User, Source: req.Meta.Source, Action: "commit-failed", Detail: err.Error()}); aerr != nil {
			err = errors.Join(err, fmt.Errorf("audit trail: %w", aerr)) // the admin sees it: a lost audit line is not silent
		}
	}
	return res, err
}

func (s *DB) commitLocked(ctx context.Context, req CommitRequest) (Result, error) {
	cur := s.current()
	head := cur.head
	if p := cur.pending; p != nil && req.Meta.Kind != KindConfirmRevert && req.Meta.User != p.User {
		return Result{}, &PendingError{Pending: *p}
	}
	ours := config.Diff(req.Base.Config, req.Candidate)
	if len(ours) == 0 {
		return Result{}, ErrNoChanges
	}
	// The head is shared with every session and must never change: it is
	// the store's own copy, not the caller's candidate, which the caller
	// may go on modifying (a merge result is new anyway).
	cand := req.Candidate
	if !req.handover {
		cand = cand.Clone()
	}
	var res Result
	if head.Rev != req.Base.Rev {
		merged, over, err := s.merge(req, head, ours)
		if err != nil {
			return Result{}, err
		}
		cand, res.MergedOver = merged, over
		if ours = config.Diff(head.Config, cand); len(ours) == 0 {
			return Result{}, ErrNoChanges
		}
	}
	problems := config.ValidateChange(head.Config, cand, s.now())
	if len(problems.Errors()) > 0 {
		return Result{}, &InvalidError{Problems: problems}
	}
	res.Warnings = problems.Warnings()
	activate, abort := func() {}, func() {}
	if req.Prepare != nil {
		var err error
		if activate, abort, err = req.Prepare(ctx, cand); err != nil {
			return Result{}, fmt.Errorf("%w: %w", ErrApply, err)
		}
	}
	recs, err := config.ChangedRecords(cand, ours)
	if err != nil {
		abort()
		return Result{}, err
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
	rev := Revision{Rev: head.Rev + 1, Meta: meta, Changes: ours}
	pending := nextPending(req, rev, cur.pending)
	if err := s.writeRevision(rev, recs, pending); err != nil {
		abort()
		return Result{}, fmt.Errorf("write revision %d: %w", rev.Rev, err)
	}
	// Readers see the revision only once it is durable and the services
	// run it: activate cannot fail, so nothing published is taken back.
	activate()
	res.Snapshot = Snapshot{Rev: rev.Rev, Meta: meta, Config: cand}
	s.publish(res.Snapshot, pending)
	res.Rev, res.Changes = rev.Rev, len(ours)
	return res, nil
}

// merge rebases a draft made at req.Base over the commits since.
func (s *DB) merge(req CommitRequest, head Snapshot, ours []config.Change) (*config.Config, []Revision, error) {
	since, err := s.revisionsAfter(req.Base.Rev)
	if err != nil {
		return nil, nil, err
	}
	merged, err := MergeOver(req.Base.Config, head, ours, since)
	var ce *ConflictError
	if errors.As(err, &ce) {
		if aerr := s.Audit(AuditEntry{Time: s.now(), User: req.Meta.User, Source: req.Meta.Source, Action: "conflict", Rev: head.Rev, Detail: ce.Error()}); aerr != nil {
			return nil, nil, errors.Join(ce, fmt.Errorf("audit trail: %w", aerr))
		}
		return nil, nil, ce
	}
	if err != nil {
		return nil, nil, err
	}
	return merged, since, nil
}

// MergeOver rebases our changes, made on base, over head: the commits
// since (newest first) changed base into head. Settings both sides changed
// differently make a *ConflictError naming base, theirs, ours and who
// committed theirs. The cluster backend merges with it too.
func MergeOver(base *config.Config, head Snapshot, ours []config.Change, since []Revision) (*config.Config, error) {
	theirs := config.Diff(base, head.Config)
	merged, conflicts, err := config.Merge(head.Config, theirs, ours)
	if err != nil {
		return nil, fmt.Errorf("merge over revision %d: %w", head.Rev, err)
	}
	if len(conflicts) > 0 {
		ce := &ConflictError{Conflicts: conflicts, Who: map[string]string{}, Head: head.Rev}
		for _, c := range conflicts {
			ce.Who[c.Path] = whoChanged(since, c.Path)
		}
		return nil, ce
	}
	return merged, nil
}

// whoChanged names the author of the newest revision touching path.
func whoChanged(revs []Revision, path string) string {
	for _, r := range revs {
		for _, ch := range r.Changes {
			if within(ch.Path, path) || within(path, ch.Path) {
				return r.Meta.User
			}
		}
	}
	if len(revs) > 0 {
		return revs[0].Meta.User
	}
	return "unknown"
}

// within reports whether setting path p lies at or below q: a prefix ends
// at a path boundary, so listeners[In] does not contain
// listeners[IncomingMail].
func within(p, q string) bool {
	return p == q || strings.HasPrefix(p, q+".") || strings.HasPrefix(p, q+"[")
}

func (s *DB) writeRevision(rev Revision, recs []config.Record, pending *Pending) error {
	raw, err := json.Marshal(rev)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		// The confirmation deadline is written with the revision it
		// guards: a crash can never leave one without the other.
		if err := putPending(tx, pending); err != nil {
			return err
		}
		cb := tx.Bucket(bucketConfig)
		for _, r := range recs {
			var err error
			if r.Value == nil {
				err = cb.Delete([]byte(r.Key))
			} else {
				err = cb.Put([]byte(r.Key), r.Value)
			}
			if err != nil {
				return err
			}
		}
		rb := tx.Bucket(bucketRevs)
		if err := rb.Put(u64(rev.Rev), raw); err != nil {
			return err
		}
		if rev.Rev > KeepRevisions {
			if err := rb.Delete(u64(rev.Rev - KeepRevisions)); err != nil {
				return err
			}
		}
		detail := rev.Meta.Comment
		if rev.Meta.Merged != "" {
			detail = strings.TrimPrefix(detail+"; "+rev.Meta.Merged, "; ")
		}
		if err := appendAudit(tx, AuditEntry{Time: rev.Meta.Time, User: rev.Meta.User, Source: rev.Meta.Source, Action: rev.Meta.Kind, Rev: rev.Rev, Detail: detail}); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyHead, u64(rev.Rev))
	})
}

// revisionsAfter returns the revisions newer than rev, newest first.
func (s *DB) revisionsAfter(rev uint64) ([]Revision, error) {
	var out []Revision
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRevs).Cursor()
		for k, v := c.Last(); k != nil && binary.BigEndian.Uint64(k) > rev; k, v = c.Prev() {
			var r Revision
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Revisions implements Backend.
func (s *DB) Revisions(limit int) ([]Revision, error) {
	var out []Revision
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRevs).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var r Revision
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ConfigAt implements Backend.
func (s *DB) ConfigAt(rev uint64) (*config.Config, error) {
	head := s.Head()
	if rev == head.Rev {
		return head.Config.Clone(), nil
	}
	if rev > head.Rev || rev == 0 {
		return nil, fmt.Errorf("revision %d: %w", rev, ErrNotFound)
	}
	revs, err := s.revisionsAfter(rev)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 || revs[len(revs)-1].Rev != rev+1 {
		return nil, fmt.Errorf("revision %d: %w", rev, ErrNotFound)
	}
	cfg := head.Config.Clone()
	for _, r := range revs {
		if r.Rev > head.Rev {
			continue // committed after we took head
		}
		if err := config.Apply(cfg, config.Invert(r.Changes)); err != nil {
			return nil, fmt.Errorf("rebuild revision %d: %w", rev, err)
		}
	}
	return cfg, nil
}

func appendAudit(tx *bolt.Tx, e AuditEntry) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return b.Put(u64(seq), raw)
}

// Audit implements Backend.
func (s *DB) Audit(e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	return s.db.Update(func(tx *bolt.Tx) error { return appendAudit(tx, e) })
}

// AuditLog implements Backend.
func (s *DB) AuditLog(limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Close implements Backend.
func (s *DB) Close() error { return s.db.Close() }
