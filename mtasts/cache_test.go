package mtasts

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scripted is a Source whose TXT record and policy the test changes.
type scripted struct {
	mu      sync.Mutex
	txt     map[string]string // domain -> record; absent = NXDOMAIN
	policy  map[string]string
	fetches atomic.Int32
	block   map[string]chan struct{} // Fetch waits on it
}

func newScripted() *scripted {
	return &scripted{txt: map[string]string{}, policy: map[string]string{}, block: map[string]chan struct{}{}}
}

func (s *scripted) set(domain, id, policy string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		delete(s.txt, domain)
	} else {
		s.txt[domain] = "v=STSv1; id=" + id
	}
	s.policy[domain] = policy
}

func (s *scripted) LookupTXT(_ context.Context, name string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dom := name[len("_mta-sts."):]
	if r, ok := s.txt[dom]; ok {
		return []string{r}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (s *scripted) Fetch(ctx context.Context, domain string) (Policy, error) {
	s.fetches.Add(1)
	s.mu.Lock()
	ch, text := s.block[domain], s.policy[domain]
	s.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return Policy{}, ctx.Err()
		}
	}
	if text == "" {
		return Policy{}, fmt.Errorf("%w: HTTP status 404", ErrFetch)
	}
	return Parse(text)
}

func (s *scripted) URL(domain string) string {
	return "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func policyText(mode string, age int) string {
	return fmt.Sprintf("version: STSv1\nmode: %s\nmx: mx1.sts.test\nmax_age: %d\n", mode, age)
}

// wait lets the background refreshes end.
func (c *Cache) quiesce(t *testing.T, domain string) {
	t.Helper()
	for range 1000 {
		c.mu.RLock()
		e := c.m[domain]
		busy := e != nil && e.busy != nil
		c.mu.RUnlock()
		if !busy {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("refresh did not end")
}

func TestCacheLifecycle(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	src := newScripted()
	src.set("sts.test", "v1", policyText("enforce", 3600))
	c, err := Open(Options{Dir: dir, Now: clk.now, Refresh: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := c.Get(ctx, "sts.test", src)
	if r.Policy == nil || r.Policy.Mode != ModeEnforce || r.ID != "v1" {
		t.Fatalf("first Get = %+v", r)
	}
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil || src.fetches.Load() != 1 {
		t.Fatalf("second Get fetched again (%d fetches): %+v", src.fetches.Load(), r)
	}
	c.Close()

	// A restart keeps the policy: answered without a look-up.
	c, err = Open(Options{Dir: dir, Now: clk.now, Refresh: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil || r.ID != "v1" || src.fetches.Load() != 1 {
		t.Fatalf("after restart: %+v, %d fetches", r, src.fetches.Load())
	}

	// The record and the file disappear: the policy stays until max_age.
	src.set("sts.test", "", "")
	clk.add(20 * time.Minute)
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil {
		t.Fatalf("policy dropped before max_age: %+v", r)
	}
	c.quiesce(t, "sts.test")
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil {
		t.Fatalf("policy dropped after the record went, before max_age: %+v", r)
	}
	clk.add(41 * time.Minute) // past the hour of max_age
	if r := c.Get(ctx, "sts.test", src); r.Policy != nil {
		t.Fatalf("expired policy still in force: %+v", r)
	}

	// A new id is fetched at the next background check.
	src.set("sts.test", "v2", policyText("testing", 7200))
	clk.add(11 * time.Minute)
	c.Get(ctx, "sts.test", src)
	c.quiesce(t, "sts.test")
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil || r.ID != "v2" || r.Policy.Mode != ModeTesting {
		t.Fatalf("new id not fetched: %+v", r)
	}
	// A failed fetch of a changed id keeps the cached policy.
	src.set("sts.test", "v3", "")
	clk.add(11 * time.Minute)
	c.Get(ctx, "sts.test", src)
	c.quiesce(t, "sts.test")
	if r := c.Get(ctx, "sts.test", src); r.Policy == nil || r.ID != "v2" || r.Err == nil {
		t.Fatalf("failed refetch: %+v", r)
	}
}

// TestCacheMaxAgeZero: a policy of max_age 0 (RFC 8461 §3.2) is not
// cached but applies to the delivery that fetched it: each Get fetches it
// again and gets it; Peek (the CLI, no fetch) says why none is cached.
func TestCacheMaxAgeZero(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)}
	src := newScripted()
	src.set("zero.test", "z1", policyText("enforce", 0))
	c, err := Open(Options{Now: clk.now, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 2; i++ {
		r := c.Get(context.Background(), "zero.test", src)
		if r.Policy == nil || r.Policy.Mode != ModeEnforce || r.Policy.MaxAge != 0 {
			t.Fatalf("Get %d = %+v: the enforce policy of max_age 0 does not apply to its delivery", i, r)
		}
		if got := src.fetches.Load(); got != int32(i) {
			t.Fatalf("Get %d: %d fetches, want %d (max_age 0 is not cached)", i, got, i)
		}
		if !strings.Contains(r.Note, "max_age 0") {
			t.Errorf("note %q does not say max_age 0", r.Note)
		}
		clk.add(time.Second)
	}
	if r, _ := c.Peek("zero.test"); r.Policy != nil || !strings.Contains(r.Note, "max_age 0") {
		t.Fatalf("Peek = %+v", r)
	}
	// The domain's fetch now fails: no policy (none is cached).
	src.set("zero.test", "z2", "")
	if r := c.Get(context.Background(), "zero.test", src); r.Policy != nil || r.Err == nil {
		t.Fatalf("after a failed fetch: %+v", r)
	}
}

func TestCacheNoPolicy(t *testing.T) {
	src := newScripted()
	c, _ := Open(Options{Refresh: time.Hour})
	defer c.Close()
	r := c.Get(context.Background(), "plain.test", src)
	if r.Policy != nil || r.Err != nil || r.Note != "no MTA-STS policy published" {
		t.Fatalf("Get = %+v", r)
	}
	// An announced policy that cannot be fetched: none applies, and why.
	src.set("broken.test", "x", "")
	r = c.Get(context.Background(), "broken.test", src)
	if r.Policy != nil || r.Err == nil {
		t.Fatalf("Get = %+v", r)
	}
}

// TestCacheFetchDoesNotBlockOthers: while one domain's fetch hangs, a
// look-up of another domain (even a new one) is answered, and a second
// look-up of the hanging domain returns when its own context ends.
func TestCacheFetchDoesNotBlockOthers(t *testing.T) {
	src := newScripted()
	src.set("slow.test", "s", policyText("enforce", 3600))
	src.set("fast.test", "f", policyText("enforce", 3600))
	release := make(chan struct{})
	src.block["slow.test"] = release
	c, _ := Open(Options{})
	defer c.Close()
	started := make(chan Result)
	go func() { started <- c.Get(context.Background(), "slow.test", src) }()
	if r := c.Get(context.Background(), "fast.test", src); r.Policy == nil {
		t.Fatalf("fast.test: %+v", r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := c.Get(ctx, "slow.test", src); r.Policy != nil || r.Note != "policy look-up in progress" {
		t.Fatalf("slow.test with its context ended: %+v", r)
	}
	close(release)
	if r := <-started; r.Policy == nil {
		t.Fatalf("slow.test once fetched: %+v", r)
	}
}

// BenchmarkGetWarm is the per-message cost of the policy look-up with a
// warm cache (the goal: under 5 µs).
func BenchmarkGetWarm(b *testing.B) {
	src := newScripted()
	c, _ := Open(Options{})
	defer c.Close()
	for i := range 1000 {
		d := fmt.Sprintf("d%d.test", i)
		src.set(d, "a", policyText("enforce", 86400))
		c.Get(context.Background(), d, src)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if c.Get(ctx, "d500.test", src).Policy == nil {
				b.Fatal("no policy")
			}
		}
	})
}

// TestCachePrune: past MaxEntries the domains without a policy are
// forgotten; policies stay.
func TestCachePrune(t *testing.T) {
	src := newScripted()
	src.set("sts.test", "a", policyText("enforce", 3600))
	c, _ := Open(Options{})
	defer c.Close()
	ctx := context.Background()
	c.Get(ctx, "sts.test", src)
	for i := range MaxEntries {
		c.Get(ctx, fmt.Sprintf("n%d.test", i), src)
	}
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	if n > MaxEntries {
		t.Fatalf("%d entries kept", n)
	}
	if r, ok := c.Peek("sts.test"); !ok || r.Policy == nil {
		t.Fatal("the policy was pruned")
	}
}

// TestCachePruneExpiredPolicies: a policy past its max_age is no policy
// (Get looks it up again), so at MaxEntries it is forgotten too: mail to
// a stream of domains that publish policies, each mailed once, must not
// grow the cache past MaxEntries for ever (nor make every new domain scan
// a full map). A policy still valid stays.
func TestCachePruneExpiredPolicies(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	src := newScripted()
	src.set("keep.test", "k", policyText("enforce", 86400))
	c, _ := Open(Options{Now: clk.now})
	defer c.Close()
	ctx := context.Background()
	c.Get(ctx, "keep.test", src)
	// As Get leaves them after a fetch (set directly: 50,000 fetches
	// would be slow under -race).
	p, err := Parse(policyText("enforce", 60))
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	for i := range MaxEntries {
		d := fmt.Sprintf("old%d.test", i)
		now := clk.now()
		c.m[d] = &entry{Domain: d, Policy: &p, ID: "a", Fetched: now, Checked: now, Expires: now.Add(time.Minute)}
	}
	c.mu.Unlock()
	clk.add(time.Hour) // every old%d policy expired
	for i := range 1000 {
		d := fmt.Sprintf("new%d.test", i)
		src.set(d, "a", policyText("enforce", 60))
		c.Get(ctx, d, src)
	}
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	if n > MaxEntries {
		t.Fatalf("%d entries kept (max %d): expired policies are never forgotten", n, MaxEntries)
	}
	if r, ok := c.Peek("keep.test"); !ok || r.Policy == nil {
		t.Fatal("the valid policy was pruned")
	}
}

// TestCachePruneAmortized: when MaxEntries valid policies fill the cache
// (a large sender talks to that many MTA-STS domains within a week),
// nothing can be pruned; a new domain must not then scan the whole map
// under the lock each time (every first delivery to a domain would, and
// hold up every look-up meanwhile), and the domains known to have no
// policy must be remembered for a while, not forgotten at once.
func TestCachePruneAmortized(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}
	src := newScripted()
	c, _ := Open(Options{Now: clk.now})
	defer c.Close()
	p, err := Parse(policyText("enforce", 86400))
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	for i := range MaxEntries {
		d := fmt.Sprintf("valid%d.test", i)
		now := clk.now()
		c.m[d] = &entry{Domain: d, Policy: &p, ID: "a", Fetched: now, Checked: now, Expires: now.Add(24 * time.Hour)}
	}
	c.mu.Unlock()
	ctx := context.Background()
	const fresh = 2000
	for i := range fresh {
		c.Get(ctx, fmt.Sprintf("none%d.test", i), src)
	}
	c.mu.RLock()
	scans := c.pruneScans
	_, remembered := c.m[fmt.Sprintf("none%d.test", fresh-2)]
	c.mu.RUnlock()
	if scans > 2 {
		t.Errorf("%d full scans of the cache for %d new domains", scans, fresh)
	}
	if !remembered {
		t.Errorf("a domain without a policy was forgotten at once")
	}
}

// TestCacheSavesCoalesce: policies.json holds every valid policy (50,000
// of them is megabytes); rewriting and fsyncing it after each fetch made
// each new domain cost the whole file. Fetches within SaveDelay are saved
// together, and Close saves what is pending, so a restart still has them.
func TestCacheSavesCoalesce(t *testing.T) {
	dir := t.TempDir()
	src := newScripted()
	c, err := Open(Options{Dir: dir, SaveDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 100
	for i := range n {
		d := fmt.Sprintf("sts%d.test", i)
		src.set(d, "a", policyText("enforce", 86400))
		if r := c.Get(ctx, d, src); r.Policy == nil {
			t.Fatalf("%s: %+v", d, r)
		}
	}
	if s := c.saves.Load(); s != 0 {
		t.Errorf("%d saves for %d fetches within SaveDelay, want none before Close", s, n)
	}
	c.Close()
	if s := c.saves.Load(); s != 1 {
		t.Errorf("%d saves at Close, want 1", s)
	}
	c, err = Open(Options{Dir: dir, SaveDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if r, ok := c.Peek(fmt.Sprintf("sts%d.test", i)); !ok || r.Policy == nil {
			t.Fatalf("sts%d.test lost across the restart", i)
		}
	}
	// Without Close (a crash), the file is written SaveDelay after a
	// fetch.
	src.set("late.test", "a", policyText("enforce", 86400))
	c.Get(ctx, "late.test", src)
	for i := 0; ; i++ {
		b, _ := os.ReadFile(filepath.Join(dir, fileName))
		if strings.Contains(string(b), "late.test") {
			break
		}
		if i == 2000 {
			t.Fatal("a fetched policy never reached policies.json")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
}
