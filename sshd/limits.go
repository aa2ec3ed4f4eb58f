package sshd

import (
	"net/netip"
	"sync"
	"time"
)

// Brute-force limits. x/crypto/ssh caps failures per connection
// (MaxAuthTries); an attacker simply opens more connections, so the
// server also keeps, as OpenSSH's PerSourcePenalties and MaxStartups do:
//
//   - per source address (IPv6: its /64): failed passwords and connections
//     that ended without logging in. Past a few, the source is shut out
//     for a back-off that doubles with each further failure: its new
//     connections are offered public keys only, and password attempts on
//     connections already open are refused unchecked. Its connections are
//     not dropped: a key login from behind the same NAT as an attacker
//     must still get in;
//   - per account: failed passwords. Past a few, the account is locked
//     for a doubling back-off against every source that has failed before;
//     a source with a clean record can still try, so an attacker cannot
//     lock the administrator out, and each of its guesses marks the source;
//   - unauthenticated connections: a few per source and a cap overall. At
//     the cap a new connection evicts the oldest one of the source holding
//     the most, so a flood from a few addresses cannot keep others out.
//
// Public keys cannot be guessed: key logins are never delayed.

// Limits tune the brute-force protection; zero fields take the defaults.
type Limits struct {
	MaxAuthTries      int           // failures per connection before disconnect (6)
	MaxUnauth         int           // unauthenticated connections overall (100)
	MaxUnauthPerSrc   int           // unauthenticated connections per source (10)
	SourceFree        int           // failures of a source before its first back-off (3)
	SourceBackoff     time.Duration // first source back-off, doubling (2s)
	SourceMaxBackoff  time.Duration // longest source back-off (15m)
	AccountFree       int           // failures of an account before it locks (5)
	AccountBackoff    time.Duration // first account lock, doubling (2s)
	AccountMaxBackoff time.Duration // longest account lock (15m)
	Forget            time.Duration // a record this long without failure is dropped (1h)
	MaxRecords        int           // records kept per kind before the oldest go (10000)
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
	def(&l.MaxAuthTries, 6)
	def(&l.MaxUnauth, 100)
	def(&l.MaxUnauthPerSrc, 10)
	def(&l.SourceFree, 3)
	defd(&l.SourceBackoff, 2*time.Second)
	defd(&l.SourceMaxBackoff, 15*time.Minute)
	def(&l.AccountFree, 5)
	defd(&l.AccountBackoff, 2*time.Second)
	defd(&l.AccountMaxBackoff, 15*time.Minute)
	defd(&l.Forget, time.Hour)
	def(&l.MaxRecords, 10000)
	return l
}

// record is the failure history of a source or an account.
type record struct {
	failures int
	last     time.Time // last failure
	until    time.Time // shut out until
}

// pending is an unauthenticated connection.
type pending struct {
	src   netip.Prefix
	since time.Time
	kill  func()
}

type limiter struct {
	lim      Limits
	now      func() time.Time
	mu       sync.Mutex
	sources  map[netip.Prefix]*record
	accounts map[string]*record
	unauth   map[netip.Prefix][]*pending
	nUnauth  int
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	return &limiter{lim: l.withDefaults(), now: now, sources: map[netip.Prefix]*record{},
		accounts: map[string]*record{}, unauth: map[netip.Prefix][]*pending{}}
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

func backoff(n, free int, first, max time.Duration) time.Duration {
	d := first
	for i := free + 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// admit decides on a new connection from src. It returns nil when the
// connection is refused; otherwise the caller runs done exactly once when
// the connection authenticates or ends. kill closes the connection when
// it must make room.
func (l *limiter) admit(src netip.Prefix, kill func()) (done func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.unauth[src]) >= l.lim.MaxUnauthPerSrc {
		return nil, false
	}
	if l.nUnauth >= l.lim.MaxUnauth {
		var big netip.Prefix
		n := 0
		for s, ps := range l.unauth {
			if len(ps) > n {
				big, n = s, len(ps)
			}
		}
		if big == src || n <= len(l.unauth[src])+1 {
			return nil, false
		}
		victim := l.unauth[big][0]
		l.removeLocked(victim)
		go victim.kill()
	}
	p := &pending{src: src, since: now, kill: kill}
	l.unauth[src] = append(l.unauth[src], p)
	l.nUnauth++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.removeLocked(p)
		})
	}, true
}

func (l *limiter) removeLocked(p *pending) {
	ps := l.unauth[p.src]
	for i, q := range ps {
		if q == p {
			l.unauth[p.src] = append(ps[:i:i], ps[i+1:]...)
			if len(l.unauth[p.src]) == 0 {
				delete(l.unauth, p.src)
			}
			l.nUnauth--
			return
		}
	}
}

// sourceShutOut reports whether src is in a back-off: its new
// connections are not offered passwords.
func (l *limiter) sourceShutOut(src netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.sources[src]
	return r != nil && l.now().Before(r.until)
}

// allowPassword reports whether a password attempt for user from src is
// checked at all.
func (l *limiter) allowPassword(src netip.Prefix, user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	s := l.sources[src]
	if s != nil && now.Before(s.until) {
		return false
	}
	if a := l.accounts[user]; a != nil && now.Before(a.until) && s != nil && s.failures > 0 {
		return false
	}
	return true
}

// penalty is what a failure cost: the failures counted so far and, once
// past the free ones, how long the source or account is now refused.
type penalty struct {
	failures int
	backoff  time.Duration
}

// failSource records a failure of src: a wrong password, or a connection
// that ended without logging in after trying.
func (l *limiter) failSource(src netip.Prefix) penalty {
	l.mu.Lock()
	defer l.mu.Unlock()
	return recordFailure(l, l.sources, src, l.lim.SourceFree, l.lim.SourceBackoff, l.lim.SourceMaxBackoff)
}

// failPassword records a wrong password for user from src.
func (l *limiter) failPassword(src netip.Prefix, user string) (source, account penalty) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return recordFailure(l, l.sources, src, l.lim.SourceFree, l.lim.SourceBackoff, l.lim.SourceMaxBackoff),
		recordFailure(l, l.accounts, user, l.lim.AccountFree, l.lim.AccountBackoff, l.lim.AccountMaxBackoff)
}

// recordFailure counts a failure of k; l.mu is held.
func recordFailure[K comparable](l *limiter, m map[K]*record, k K, free int, first, max time.Duration) penalty {
	now := l.now()
	r := m[k]
	if r == nil {
		if len(m) >= l.lim.MaxRecords {
			pruneLocked(l, m)
		}
		r = &record{}
		m[k] = r
	} else if now.Sub(r.last) > l.lim.Forget && !now.Before(r.until) {
		*r = record{}
	}
	r.failures++
	r.last = now
	p := penalty{failures: r.failures}
	if r.failures > free {
		p.backoff = backoff(r.failures, free, first, max)
		r.until = now.Add(p.backoff)
	}
	return p
}

// pruneLocked drops forgotten records, then the oldest half if that is
// not enough: memory stays bounded whatever an attacker sends.
func pruneLocked[K comparable](l *limiter, m map[K]*record) {
	now := l.now()
	for k, r := range m {
		if now.Sub(r.last) > l.lim.Forget && !now.Before(r.until) {
			delete(m, k)
		}
	}
	if len(m) < l.lim.MaxRecords {
		return
	}
	times := make([]time.Time, 0, len(m))
	for _, r := range m {
		times = append(times, r.last)
	}
	cut := midTime(times)
	for k, r := range m {
		if !r.last.After(cut) && !now.Before(r.until) {
			delete(m, k)
		}
	}
	for k, r := range m {
		if len(m) < l.lim.MaxRecords {
			break
		}
		if !r.last.After(cut) {
			delete(m, k)
		}
	}
}

// midTime is halfway between the oldest and the newest of ts.
func midTime(ts []time.Time) time.Time {
	var lo, hi time.Time
	for i, t := range ts {
		if i == 0 || t.Before(lo) {
			lo = t
		}
		if i == 0 || t.After(hi) {
			hi = t
		}
	}
	return lo.Add(hi.Sub(lo) / 2)
}

// succeed forgets an account's failures after a login with its password.
func (l *limiter) succeed(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, user)
}

// status reports a source's and an account's records (tests, logs).
func (l *limiter) status(src netip.Prefix, user string) (srcFailures int, srcUntil time.Time, accFailures int, accUntil time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.sources[src]; r != nil {
		srcFailures, srcUntil = r.failures, r.until
	}
	if r := l.accounts[user]; r != nil {
		accFailures, accUntil = r.failures, r.until
	}
	return
}

// unauthenticated is the number of connections not logged in yet.
func (l *limiter) unauthenticated() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nUnauth
}
