// Package resolver is the appliance's DNS client: every name esash
// resolves (MX, A and AAAA, PTR for sender groups, TLSA for DANE) is asked
// through it, of the servers dnsconfig names, and it says whether each
// answer was authenticated by DNSSEC.
//
// Why github.com/miekg/dns (pinned at v1.1.73 in go.mod): Go's net.Resolver
// neither sets the DO bit nor reports the AD bit of an answer, and cannot
// ask for TLSA records; DANE (RFC 7672) needs all three. miekg/dns is the
// DNS library of CoreDNS and most Go DNS software; it is used here as a
// plain stub-resolver client (no validation of its own).
//
// Whom it asks:
//
//   - Own DNS servers (dnsconfig mode "local"): the local DNS cache
//     servers, lowest priority number first; servers of equal priority
//     in a random order per question (as AsyncOS spreads load among them).
//     A server that times out, refuses or fails (SERVFAIL) passes the
//     question to the next; NXDOMAIN and empty answers are final.
//   - Internet root servers (mode "root"): esash does not recurse from the
//     root itself (iterative resolution with DNSSEC validation is a
//     resolver of its own, and an appliance behind a firewall often cannot
//     reach the roots). It asks the recursive resolvers of the host's
//     /etc/resolv.conf, which stand for "the Internet root servers";
//     dnsconfig says so on its screen. Run a validating resolver there
//     (unbound) for DANE.
//   - Alternate domain servers (both modes): a name at or under the
//     alternate's domain is asked of that server only (the longest domain
//     wins).
//
// Authenticated answers: every question is sent with EDNS0 and the DO bit
// (and AD, RFC 6840 §5.7) so a validating resolver reports its verdict in
// the AD bit of the answer. As RFC 6698 §4.1 / RFC 7672 §1.3 allow, the AD
// bit of the configured resolver is trusted: configuring a server is the
// administrator's statement that it validates and that the path to it is
// secure (a resolver on the host or the local network). A bogus answer
// comes back from a validating resolver as SERVFAIL, which is a temporary
// failure here, so mail waits instead of going to a forged address.
//
// Caching: answers are kept for their TTL, but at least dnsconfig's
// minimum TTL (AsyncOS's "minimum TTL" overrides shorter record TTLs);
// negative answers for the SOA's negative TTL, also at least the minimum.
// Failures are not cached. Flush empties the cache (dnsflush).
//
// Counting: Options.Stats counts requests, cache hits and misses and each
// network request's outcome for dnsstatus (stats.go says what counts as
// what). The counting is in query and ask, not in exchange or send, so
// a question that bypasses them (dig's) is not counted.
//
// The names "localhost" and *.localhost are answered with the loopback
// addresses without a question (RFC 6761 §6.3).
package resolver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"esash/config"
)

// Options tune a resolver.
type Options struct {
	// ResolvConf lists the system's resolvers for root mode
	// (/etc/resolv.conf).
	ResolvConf string
	// Timeout bounds one question to one server (3 s).
	Timeout time.Duration
	// Now is the clock of the cache.
	Now func() time.Time
	// Stats, when set, counts the resolver's requests (dnsstatus); several
	// resolvers may share one.
	Stats *Stats
}

// server is one DNS server to ask.
type server struct {
	addr     string // host:port
	name     string // how errors name it
	priority int
}

type alternate struct {
	domain string // lower case, fully qualified ("example.com.")
	srv    server
}

// Resolver asks the configured servers and caches their answers. It is
// safe for concurrent use.
type Resolver struct {
	servers    []server
	alternates []alternate
	local      netip.Addr // source address of queries, when set
	minTTL     time.Duration
	timeout    time.Duration
	now        func() time.Time
	root       bool
	broken     error  // Failing
	stats      *Stats // nil: not counted

	mu    sync.Mutex
	cache map[cacheKey]cached
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cached struct {
	ans     answer
	expires time.Time
}

// answer is the result of one question.
type answer struct {
	rrs      []dns.RR // answer records of the type asked
	notFound bool     // NXDOMAIN or no records of the type
	nxdomain bool     // of notFound: NXDOMAIN
	secure   bool     // the AD bit
	server   string
}

// maxCache bounds the cache; past it the cache starts over.
const maxCache = 20000

// New builds the resolver of a configuration.
func New(cfg *config.Config, o Options) (*Resolver, error) {
	if o.ResolvConf == "" {
		o.ResolvConf = "/etc/resolv.conf"
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := cfg.DNS
	r := &Resolver{minTTL: time.Duration(d.MinTTL) * time.Second, timeout: o.Timeout, now: o.Now,
		cache: map[cacheKey]cached{}, root: !d.Local(), stats: o.Stats}
	if d.Local() {
		for _, s := range d.Servers {
			ap := config.DNSAddrPort(s.Address)
			if !ap.IsValid() {
				return nil, fmt.Errorf("dns.servers[%s]: not an address", s.Address)
			}
			r.servers = append(r.servers, server{addr: ap.String(), name: s.Address, priority: s.Priority})
		}
		slices.SortStableFunc(r.servers, func(a, b server) int { return a.priority - b.priority })
	} else {
		cc, err := dns.ClientConfigFromFile(o.ResolvConf)
		if err != nil {
			return nil, fmt.Errorf("the system's resolvers (%s): %w", o.ResolvConf, err)
		}
		for _, h := range cc.Servers {
			addr := net.JoinHostPort(h, cc.Port)
			r.servers = append(r.servers, server{addr: addr, name: h})
		}
	}
	for _, a := range d.Alternates {
		ap := config.DNSAddrPort(a.Address)
		if !ap.IsValid() {
			return nil, fmt.Errorf("dns.alternates[%s]: not an address", a.Domain)
		}
		name := a.Address
		if a.Hostname != "" {
			name = a.Hostname + " (" + a.Address + ")"
		}
		r.alternates = append(r.alternates, alternate{domain: dns.CanonicalName(a.Domain), srv: server{addr: ap.String(), name: name}})
	}
	if d.Interface != "" && d.Interface != "Auto" {
		for _, in := range cfg.Interfaces {
			if in.Name == d.Interface {
				if a, err := netip.ParseAddr(in.IPv4); err == nil {
					r.local = a
				}
			}
		}
		if !r.local.IsValid() {
			return nil, fmt.Errorf("dns.interface: interface %q has no IPv4 address", d.Interface)
		}
	}
	return r, nil
}

// Root reports the Internet-root mode (the system's resolvers).
func (r *Resolver) Root() bool { return r.root }

// Flush empties the cache.
func (r *Resolver) Flush() {
	r.mu.Lock()
	clear(r.cache)
	r.mu.Unlock()
}

// serversFor lists the servers to ask about name, in order.
func (r *Resolver) serversFor(name string) []server {
	best := -1
	for i, a := range r.alternates {
		if dns.IsSubDomain(a.domain, name) && (best < 0 || len(a.domain) > len(r.alternates[best].domain)) {
			best = i
		}
	}
	if best >= 0 {
		return []server{r.alternates[best].srv}
	}
	out := slices.Clone(r.servers)
	// Equal priorities share the load: shuffle each run of them.
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].priority == out[i].priority {
			j++
		}
		run := out[i:j]
		rand.Shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		i = j
	}
	return out
}

// query answers a question from the cache or the servers.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (answer, error) {
	name = dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return answer{}, &net.DNSError{Err: "invalid domain name", Name: name, IsNotFound: true}
	}
	key := cacheKey{name, qtype}
	now := r.now()
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	hit := ok && now.Before(c.expires)
	r.stats.cacheLookup(hit, ok && !hit)
	if hit {
		return c.ans, nil
	}
	ans, ttl, err := r.ask(ctx, name, qtype)
	if err != nil {
		r.stats.failedRequest()
		return answer{}, err
	}
	r.store(key, ans, ttl, now)
	return ans, nil
}

// ask asks the servers for name, in order, until one answers.
func (r *Resolver) ask(ctx context.Context, name string, qtype uint16) (answer, time.Duration, error) {
	srvs := r.serversFor(name)
	if r.broken != nil {
		return answer{}, 0, &net.DNSError{Err: r.broken.Error(), Name: name, IsTemporary: true}
	}
	if len(srvs) == 0 {
		return answer{}, 0, &net.DNSError{Err: "no DNS server configured", Name: name, IsTemporary: true}
	}
	var last error
	for _, s := range srvs {
		if err := ctx.Err(); err != nil {
			return answer{}, 0, &net.DNSError{Err: err.Error(), Name: name, Server: s.name, IsTimeout: true, IsTemporary: true}
		}
		ans, ttl, err := r.exchange(ctx, s, name, qtype)
		r.stats.exchanged(ans, err)
		if err != nil {
			last = err
			continue
		}
		return ans, ttl, nil
	}
	return answer{}, 0, last
}

func (r *Resolver) store(key cacheKey, ans answer, ttl time.Duration, now time.Time) {
	ttl = max(ttl, r.minTTL)
	if ttl <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCache {
		clear(r.cache)
	}
	r.cache[key] = cached{ans: ans, expires: now.Add(ttl)}
}

// exchange asks one server, over TCP when the UDP answer is truncated.
func (r *Resolver) exchange(ctx context.Context, s server, name string, qtype uint16) (answer, time.Duration, error) {
	m := question(name, qtype)
	resp, err := r.send(ctx, "udp", s, m)
	if err == nil && resp.Truncated {
		resp, err = r.send(ctx, "tcp", s, m)
	}
	fail := func(why string, timeout bool, cause error) (answer, time.Duration, error) {
		return answer{}, 0, &net.DNSError{Err: why, Name: strings.TrimSuffix(name, "."), Server: s.name, IsTimeout: timeout, IsTemporary: true, UnwrapErr: cause}
	}
	if err != nil {
		var ne net.Error
		return fail(err.Error(), errors.As(err, &ne) && ne.Timeout(), nil)
	}
	switch resp.Rcode {
	case dns.RcodeSuccess, dns.RcodeNameError:
	default:
		return fail("server answered "+dns.RcodeToString[resp.Rcode], false, errServerFailure)
	}
	ans := answer{secure: resp.AuthenticatedData, server: s.name}
	ttl := time.Duration(-1)
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype == qtype {
			ans.rrs = append(ans.rrs, rr)
			if t := time.Duration(rr.Header().Ttl) * time.Second; ttl < 0 || t < ttl {
				ttl = t
			}
		}
	}
	if resp.Rcode == dns.RcodeNameError || len(ans.rrs) == 0 {
		ans.notFound, ans.rrs = true, nil
		ans.nxdomain = resp.Rcode == dns.RcodeNameError
		ttl = negativeTTL(resp)
	}
	return ans, ttl, nil
}

// question is the message that asks name's qtype records as the
// appliance asks every question: recursion desired, EDNS0 with the DO bit
// and AD set, so a validating resolver reports its verdict (dig asks the
// same way).
func question(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true
	m.SetEdns0(1232, true)
	return m
}

func (r *Resolver) send(ctx context.Context, network string, s server, m *dns.Msg) (*dns.Msg, error) {
	d := &net.Dialer{Timeout: r.timeout}
	if r.local.IsValid() {
		if ap, err := netip.ParseAddrPort(s.addr); err == nil && ap.Addr().Is4() == r.local.Is4() {
			if network == "tcp" {
				d.LocalAddr = &net.TCPAddr{IP: r.local.AsSlice()}
			} else {
				d.LocalAddr = &net.UDPAddr{IP: r.local.AsSlice()}
			}
		}
	}
	c := &dns.Client{Net: network, Timeout: r.timeout, Dialer: d, UDPSize: 1232}
	qctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	conn, err := c.DialContext(qctx, s.addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The exchange heeds only the context's deadline: a caller that gives
	// up (cancels) ends it through the connection's.
	defer context.AfterFunc(qctx, func() { conn.SetDeadline(time.Now()) })()
	resp, _, err := c.ExchangeWithConnContext(qctx, m, conn)
	if err == nil {
		err = checkReply(m, resp, network == "udp")
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// negativeTTL is how long a negative answer may be cached (RFC 2308 §5):
// the SOA's TTL or minimum field, whichever is lower; 60 s without SOA.
func negativeTTL(resp *dns.Msg) time.Duration {
	for _, rr := range resp.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return time.Minute
}

func notFound(name string, ans answer) error {
	return &net.DNSError{Err: "no such host", Name: strings.TrimSuffix(name, "."), Server: ans.server, IsNotFound: true}
}

// Failing is a resolver whose every question fails with err: the resolver
// of a configuration that cannot be used (a missing resolv.conf). Its
// failed requests are counted in stats (nil: not counted).
func Failing(err error, stats *Stats) *Resolver {
	return &Resolver{now: time.Now, cache: map[cacheKey]cached{}, broken: err, stats: stats}
}

// Len is the number of answers cached.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}
