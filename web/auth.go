package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/netip"
	"sort"
	"sync"
	"time"

	"esash/accounts"
	"esash/config"
)

// Login sessions live in memory: a restart logs everybody out, as on
// AsyncOS. A session names its account and a digest of the password hash
// it logged in with, so a password change, a deletion or a role that no
// longer exists ends it at the next request.

type session struct {
	user     string
	hash     [32]byte // sha256 of the account's PasswordHash at login
	csrf     string   // the logout form's token
	created  time.Time
	lastSeen time.Time
}

type sessions struct {
	now       func() time.Time
	idle, max time.Duration
	mu        sync.Mutex
	m         map[string]*session // by sha256 of the cookie value
}

// maxSessions bounds memory: past it the least recently used session goes.
const maxSessions = 1000

func newSessions(now func() time.Time, idle, max time.Duration) *sessions {
	return &sessions{now: now, idle: idle, max: max, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// key is what the map holds: a digest, so the table never holds a value a
// client could present.
func key(token string) string {
	s := sha256.Sum256([]byte(token))
	return string(s[:])
}

func hashDigest(passwordHash string) [32]byte { return sha256.Sum256([]byte(passwordHash)) }

// create opens a session for u and returns its cookie value.
func (ss *sessions) create(u *config.User) (string, *session) {
	tok := randomToken()
	now := ss.now()
	s := &session{user: u.Name, hash: hashDigest(u.PasswordHash), csrf: randomToken(), created: now, lastSeen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.pruneLocked(now)
	if len(ss.m) >= maxSessions {
		var oldest string
		var t time.Time
		for k, v := range ss.m {
			if oldest == "" || v.lastSeen.Before(t) {
				oldest, t = k, v.lastSeen
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[key(tok)] = s
	return tok, s
}

// get returns the live session of a cookie value for the running
// configuration, nil when there is none; it ends sessions that expired or
// whose account changed.
func (ss *sessions) get(tok string, cfg *config.Config) *session {
	if tok == "" {
		return nil
	}
	k := key(tok)
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[k]
	if s == nil {
		return nil
	}
	u := accounts.FindUser(cfg, s.user)
	if now.Sub(s.lastSeen) > ss.idle || now.Sub(s.created) > ss.max || u == nil ||
		!accounts.ValidRole(u.Role) || hashDigest(u.PasswordHash) != s.hash {
		delete(ss.m, k)
		return nil
	}
	s.lastSeen = now
	cp := *s
	return &cp
}

func (ss *sessions) remove(tok string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, key(tok))
}

func (ss *sessions) pruneLocked(now time.Time) {
	for k, s := range ss.m {
		if now.Sub(s.lastSeen) > ss.idle || now.Sub(s.created) > ss.max {
			delete(ss.m, k)
		}
	}
}

func tokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Failed logins. A password form is as guessable as SSH passwords, so the
// same policy holds:
//
//   - per source address (IPv6: its /64): after a few failures the source
//     is refused, unchecked, for a back-off that doubles with each further
//     failure;
//   - per account: after a few failures the account is locked for a
//     doubling back-off against every source that has failed before; a
//     source with a clean record can still log in, so an attacker cannot
//     lock the administrator out;
//   - at most a few password checks (bcrypt) run at once, so a flood of
//     logins cannot take the appliance's CPU.

// Limits tune the failed-login back-off; zero fields take the defaults.
type Limits struct {
	SourceFree       int           // failures of a source before its first back-off (3)
	AccountFree      int           // failures of an account before it locks (5)
	Backoff          time.Duration // first back-off, doubling (2s)
	MaxBackoff       time.Duration // longest back-off (15m)
	Forget           time.Duration // a record this long without failure is dropped (1h)
	MaxRecords       int           // records kept per kind before the oldest go (10000)
	ConcurrentChecks int           // password checks running at once (4)
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.SourceFree, 3)
	def(&l.AccountFree, 5)
	defd(&l.Backoff, 2*time.Second)
	defd(&l.MaxBackoff, 15*time.Minute)
	defd(&l.Forget, time.Hour)
	def(&l.MaxRecords, 10000)
	def(&l.ConcurrentChecks, 4)
	return l
}

type record struct {
	failures int
	last     time.Time
	until    time.Time
}

type limiter struct {
	lim      Limits
	now      func() time.Time
	checks   chan struct{}
	mu       sync.Mutex
	sources  map[netip.Prefix]*record
	accounts map[string]*record
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	l = l.withDefaults()
	return &limiter{lim: l, now: now, checks: make(chan struct{}, l.ConcurrentChecks),
		sources: map[netip.Prefix]*record{}, accounts: map[string]*record{}}
}

// sourceOf groups an address with its neighbours: an IPv6 host usually
// holds a whole /64.
func sourceOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p
	}
	return netip.PrefixFrom(a, 32)
}

// wait returns how long src must wait before user may be tried from it;
// zero means now.
func (l *limiter) wait(src netip.Prefix, user string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	s := l.sources[src]
	if s != nil && s.until.After(now) {
		d = s.until.Sub(now)
	}
	if a := l.accounts[user]; a != nil && a.until.After(now) && s != nil && s.failures > 0 {
		d = max(d, a.until.Sub(now))
	}
	return d
}

func (l *limiter) backoff(n, free int) time.Duration {
	d := l.lim.Backoff
	for i := free + 1; i < n && d < l.lim.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, l.lim.MaxBackoff)
}

// fail records a failed password of user from src.
func (l *limiter) fail(src netip.Prefix, user string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	bump := func(r *record, free int) {
		r.failures++
		r.last = now
		if r.failures > free {
			r.until = now.Add(l.backoff(r.failures, free))
		}
	}
	s := l.sources[src]
	if s == nil {
		s = &record{}
		l.sources[src] = s
	}
	bump(s, l.lim.SourceFree)
	a := l.accounts[user]
	if a == nil {
		a = &record{}
		l.accounts[user] = a
	}
	bump(a, l.lim.AccountFree)
	prune(l, l.sources, now)
	prune(l, l.accounts, now)
}

// succeed clears the account's record (its owner knows the password); the
// source keeps its history.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, user)
}

func prune[K comparable](l *limiter, m map[K]*record, now time.Time) {
	for k, r := range m {
		if now.Sub(r.last) > l.lim.Forget && !r.until.After(now) {
			delete(m, k)
		}
	}
	if len(m) <= l.lim.MaxRecords {
		return
	}
	type kr struct {
		k K
		t time.Time
	}
	var all []kr
	for k, r := range m {
		all = append(all, kr{k, r.last})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for _, x := range all[:len(all)-l.lim.MaxRecords] {
		delete(m, x.k)
	}
}
