package mtasts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Source is how a cache discovers policies: the TXT look-up through the
// appliance's resolver and the HTTPS fetch. The MTA gives the source of
// the configuration in force with each Get.
type Source interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	Fetch(ctx context.Context, domain string) (Policy, error)
	URL(domain string) string
}

// Options tune a cache.
type Options struct {
	// Dir holds the persisted policies (policies.json); "" keeps them in
	// memory only.
	Dir string
	// Now is the clock.
	Now func() time.Time
	// Refresh is how long a cached policy's TXT id is trusted before it
	// is checked again in the background, and how long "no policy" is
	// remembered (1 h).
	Refresh time.Duration
	// Log receives one line per fetch, change and failure (mail_logs).
	Log func(format string, args ...any)
	// SaveDelay is how long a fetched policy may wait before
	// policies.json is written (5 s): the fetches meanwhile are saved
	// together, Close saves what is pending.
	SaveDelay time.Duration
}

// Result is the policy in force for a domain and where it came from.
type Result struct {
	Policy  *Policy // nil: none applies (no record, never fetched, expired)
	ID      string
	URL     string
	Fetched time.Time
	Expires time.Time
	// Err is why no policy applies when the domain announces one (fetch
	// failed, invalid policy): TLS-RPT's sts-policy-fetch-error and
	// sts-policy-invalid.
	Err error
	// Note says where the answer came from, for the CLI.
	Note string
}

// entry is what the cache knows of one domain.
type entry struct {
	Domain  string    `json:"domain"`
	Policy  *Policy   `json:"policy,omitempty"`
	ID      string    `json:"id,omitempty"`
	URL     string    `json:"url,omitempty"`
	Fetched time.Time `json:"fetched"`
	Expires time.Time `json:"expires"`
	Checked time.Time `json:"checked"`
	err     error
	note    string        // Result.Note of the policy, made once
	busy    chan struct{} // a refresh in progress: closed when done
}

// Cache holds the policies of the domains mail went to (RFC 8461 §5.1):
// each for its max_age, persisted in Dir so a restart keeps them, checked
// again in the background after Refresh. A policy whose record or file
// disappears is kept until it expires. Safe for concurrent use; a refresh
// of one domain never holds up a look-up of another.
type Cache struct {
	opts   Options
	mu     sync.RWMutex
	m      map[string]*entry
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	saveMu sync.Mutex
	// pruneAt is the size at which the next prune runs (MaxEntries, or
	// more when valid policies alone fill the cache); pruneScans counts
	// prunes (tests).
	pruneAt    int
	pruneScans int
	saves      atomic.Int64 // policies.json writes (tests)
	// Saving (requestSave): dirty says a fetch is not saved yet; the
	// saver goroutine, started at the first, writes them together.
	dirty     atomic.Bool
	saverOnce sync.Once
	saveReq   chan struct{}
}

const fileName = "policies.json"

// MaxEntries bounds the domains remembered: past it the domains known to
// have no policy, or whose policy expired, are forgotten (they are looked
// up again when mailed, as they would be anyway), so mail to a flood of
// domains cannot exhaust memory. A valid policy is never forgotten:
// that would be a downgrade; when valid policies fill the cache, it
// grows by a tenth of MaxEntries between prunes.
const MaxEntries = 50000

// pruneLocked forgets the domains without a valid policy (c.mu held).
func (c *Cache) pruneLocked() {
	c.pruneScans++
	now := c.opts.Now()
	for d, e := range c.m {
		if e.busy == nil && (e.Policy == nil || !now.Before(e.Expires)) {
			delete(c.m, d)
		}
	}
}

// Open loads the persisted policies from opts.Dir (expired ones dropped).
func Open(opts Options) (*Cache, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh == 0 {
		opts.Refresh = time.Hour
	}
	if opts.Log == nil {
		opts.Log = func(string, ...any) {}
	}
	if opts.SaveDelay == 0 {
		opts.SaveDelay = 5 * time.Second
	}
	c := &Cache{opts: opts, m: map[string]*entry{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if opts.Dir == "" {
		return c, nil
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("mta-sts cache: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, fileName))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mta-sts cache: %w", err)
	}
	var saved []entry
	if err := json.Unmarshal(b, &saved); err != nil {
		// A damaged cache is only a cache: start empty, say so.
		opts.Log("MTA-STS policy cache %s unreadable, starting empty: %v", filepath.Join(opts.Dir, fileName), err)
		return c, nil
	}
	now := opts.Now()
	for i := range saved {
		e := saved[i]
		if e.Policy != nil && now.Before(e.Expires) {
			e.note = e.describe()
			c.m[e.Domain] = &e
		}
	}
	return c, nil
}

// Close stops the background refreshes and waits for them, then saves
// the policies fetched since the last save.
func (c *Cache) Close() {
	c.cancel()
	c.wg.Wait()
	if c.dirty.Swap(false) {
		c.save()
	}
}

// Get returns the policy in force for domain (lower case). A valid cached
// policy is returned at once; one whose TXT id was not checked for
// Refresh is refreshed in the background. A domain never seen, or whose
// policy expired, is looked up now: Get waits for that until ctx ends,
// and a refresh still running then goes on in the background (the next
// delivery finds its result). A policy fetched for this Get applies to it
// even when its max_age is 0 (RFC 8461 §3.2: max_age bounds caching; a
// policy of max_age 0 is not cached, so every delivery fetches it, but it
// is still the policy of the delivery that fetched it).
func (c *Cache) Get(ctx context.Context, domain string, src Source) Result {
	now := c.opts.Now()
	start := now
	c.mu.RLock()
	e := c.m[domain]
	var r Result
	fresh := e != nil && (e.Policy != nil && now.Before(e.Expires) || e.Policy == nil && now.Sub(e.Checked) < c.opts.Refresh)
	if e != nil {
		r = e.result(now)
	}
	stale := e != nil && now.Sub(e.Checked) >= c.opts.Refresh
	c.mu.RUnlock()
	if fresh {
		if stale {
			c.refresh(domain, src)
		}
		return r
	}
	if e != nil && e.Policy == nil && !e.Checked.IsZero() {
		// Known to have none: look again in the background.
		c.refresh(domain, src)
		return r
	}
	done := c.refresh(domain, src)
	select {
	case <-done:
	case <-ctx.Done():
		return Result{Note: "policy look-up in progress"}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e := c.m[domain]; e != nil {
		if e.uncachedSince(start) {
			return e.current()
		}
		return e.result(c.opts.Now())
	}
	return Result{}
}

// uncachedSince reports a policy of max_age 0 fetched at or after start:
// the policy of the Get that waited for that fetch.
func (e *entry) uncachedSince(start time.Time) bool {
	return e.Policy != nil && e.Policy.MaxAge == 0 && e.err == nil && !e.Fetched.Before(start)
}

// Peek returns what the cache holds for domain without looking anything
// up (the CLI).
func (c *Cache) Peek(domain string) (Result, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.m[domain]
	if e == nil {
		return Result{}, false
	}
	return e.result(c.opts.Now()), true
}

// describe says where the policy came from.
func (e *entry) describe() string {
	if e.Policy != nil && e.Policy.MaxAge == 0 {
		return fmt.Sprintf("%s, id %s, fetched %s, max_age 0: applied to the delivery that fetched it and fetched again for each delivery, not cached", e.URL, e.ID,
			e.Fetched.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("%s, id %s, fetched %s, cached until %s", e.URL, e.ID,
		e.Fetched.UTC().Format(time.RFC3339), e.Expires.UTC().Format(time.RFC3339))
}

func (e *entry) result(now time.Time) Result {
	r := Result{ID: e.ID, URL: e.URL, Fetched: e.Fetched, Expires: e.Expires, Err: e.err}
	switch {
	case e.Policy != nil && now.Before(e.Expires):
		return e.current()
	case e.err != nil:
		r.Note = e.err.Error()
	case e.Policy != nil && e.Policy.MaxAge == 0:
		r.Note = "the domain's policy has max_age 0: it is fetched for each delivery and not cached"
	default:
		r.Note = "no MTA-STS policy published"
	}
	return r
}

// current is the entry's policy as in force.
func (e *entry) current() Result {
	r := Result{Policy: e.Policy, ID: e.ID, URL: e.URL, Fetched: e.Fetched, Expires: e.Expires, Err: e.err, Note: e.note}
	if r.Note == "" {
		r.Note = e.describe()
	}
	return r
}

// refresh starts a look-up of domain unless one is running, and returns
// a channel closed when the running one ends.
func (c *Cache) refresh(domain string, src Source) <-chan struct{} {
	c.mu.Lock()
	e := c.m[domain]
	if e == nil {
		if len(c.m) >= max(c.pruneAt, MaxEntries) {
			c.pruneLocked()
			// Valid policies are kept: when they alone (nearly) fill
			// the cache, the next prune waits for a tenth more
			// domains, not the next one.
			c.pruneAt = len(c.m) + MaxEntries/10
		}
		e = &entry{Domain: domain}
		c.m[domain] = e
	}
	if e.busy != nil {
		ch := e.busy
		c.mu.Unlock()
		return ch
	}
	ch := make(chan struct{})
	e.busy = ch
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.discover(domain, src)
		c.mu.Lock()
		c.m[domain].busy = nil
		c.mu.Unlock()
		close(ch)
	}()
	return ch
}

// discover runs §5.1's discovery for domain and records the outcome.
func (c *Cache) discover(domain string, src Source) {
	txt, err := src.LookupTXT(c.ctx, "_mta-sts."+domain)
	var id string
	if err == nil {
		id, err = ParseRecord(txt)
	} else if de := (*net.DNSError)(nil); errors.As(err, &de) && de.IsNotFound {
		err = fmt.Errorf("%w: _mta-sts.%s", ErrNoRecord, domain)
	}
	now := c.opts.Now()
	c.mu.RLock()
	old := *c.m[domain]
	c.mu.RUnlock()
	valid := old.Policy != nil && now.Before(old.Expires)
	if err != nil {
		// No record now, or the look-up failed: a cached policy stays
		// until it expires (§5.1, §8.3: removing a policy is publishing
		// mode none, not deleting the record).
		if errors.Is(err, ErrNoRecord) {
			err = nil
		}
		c.update(domain, func(e *entry) {
			e.Checked, e.err = now, err
			if !valid {
				e.Policy = nil
			}
		}, false)
		return
	}
	// Refetch when the id changed, or half of max_age has passed (§10.1's
	// proactive refresh: a policy in use never runs out).
	if valid && old.ID == id && now.Sub(old.Fetched) < time.Duration(old.Policy.MaxAge)*time.Second/2 {
		c.update(domain, func(e *entry) { e.Checked, e.err = now, nil }, false)
		return
	}
	p, err := src.Fetch(c.ctx, domain)
	now = c.opts.Now()
	if err != nil {
		c.opts.Log("MTA-STS policy of %s not fetched: %v", domain, err)
		c.update(domain, func(e *entry) {
			e.Checked, e.err = now, err
			if !valid {
				e.Policy = nil
			}
		}, false)
		return
	}
	c.opts.Log("MTA-STS policy of %s fetched: id %s, %s", domain, id, p.String())
	c.update(domain, func(e *entry) {
		e.Policy, e.ID, e.URL, e.err = &p, id, src.URL(domain), nil
		e.Fetched, e.Checked, e.Expires = now, now, now.Add(time.Duration(p.MaxAge)*time.Second)
		e.note = e.describe()
	}, true)
}

// update changes domain's entry under the lock (a copy, so readers of the
// old one are not raced) and saves the cache when persist is set.
func (c *Cache) update(domain string, change func(*entry), persist bool) {
	c.mu.Lock()
	e := *c.m[domain]
	change(&e)
	c.m[domain] = &e
	c.mu.Unlock()
	if persist {
		c.requestSave()
	}
}

// requestSave has the policies saved within SaveDelay: the whole file is
// rewritten and synced (megabytes for 50,000 policies), so the fetches
// meanwhile share one write. A crash loses at most SaveDelay's fetches:
// those domains are discovered again.
func (c *Cache) requestSave() {
	if c.opts.Dir == "" {
		return
	}
	c.dirty.Store(true)
	c.saverOnce.Do(func() {
		c.saveReq = make(chan struct{}, 1)
		c.wg.Add(1) // from a refresh, itself counted: Close's Wait is not passed
		go c.saver()
	})
	select {
	case c.saveReq <- struct{}{}:
	default: // a save is already due
	}
}

// saver writes policies.json SaveDelay after a request, until Close
// (which saves what is left).
func (c *Cache) saver() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.saveReq:
		}
		t := time.NewTimer(c.opts.SaveDelay)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		if c.dirty.Swap(false) {
			c.save()
		}
	}
}

// save writes the valid policies to Dir atomically (temporary file,
// fsync, rename).
func (c *Cache) save() {
	if c.opts.Dir == "" {
		return
	}
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	c.saves.Add(1)
	now := c.opts.Now()
	var out []entry
	c.mu.RLock()
	for _, e := range c.m {
		if e.Policy != nil && now.Before(e.Expires) {
			out = append(out, *e)
		}
	}
	c.mu.RUnlock()
	b, err := json.MarshalIndent(out, "", " ")
	if err == nil {
		err = writeAtomic(filepath.Join(c.opts.Dir, fileName), b)
	}
	if err != nil {
		c.opts.Log("MTA-STS policy cache not saved: %v", err)
	}
}

func writeAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Busy reports a look-up of domain in progress.
func (c *Cache) Busy(domain string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.m[domain]
	return e != nil && e.busy != nil
}
