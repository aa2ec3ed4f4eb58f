package mta

import (
	"encoding/json"
	"sync"
	"time"

	"esash/config"
	"esash/resolver"
)

// The MTA's DNS: every look-up (MX and addresses for delivery, PTR and
// forward confirmation for sender groups, TLSA for DANE, tlsverify) goes
// through the resolver of dnsconfig (esash/resolver). One resolver, with
// its cache, serves every configuration with the same DNS settings: a
// commit that leaves dnsconfig alone keeps the cache.

var resolvers struct {
	sync.Mutex
	m map[string]*resolver.Resolver
}

// dnsStats counts the work of every resolver the MTA builds (dnsstatus):
// one for the process, given to each resolver through resolverOptions, so
// the counts outlive a dnsconfig change (a new resolver) and the map's
// starting over. dnsflush empties caches, not counters.
var dnsStats resolver.Stats

// resolverOptions are the resolver options of every MTA (tests point the
// Internet-root mode elsewhere).
var resolverOptions = resolver.Options{Stats: &dnsStats}

// resolverFor is the resolver of cfg's dnsconfig settings. A configuration
// it cannot use (no resolv.conf in root mode) gets a resolver that fails
// every question, so mail waits and says why.
func resolverFor(cfg *config.Config) *resolver.Resolver {
	if cfg == nil {
		cfg = &config.Config{}
	}
	key := dnsKey(cfg)
	resolvers.Lock()
	defer resolvers.Unlock()
	if r := resolvers.m[key]; r != nil {
		return r
	}
	r, err := resolver.New(cfg, resolverOptions)
	if err != nil {
		r = resolver.Failing(err, resolverOptions.Stats)
	}
	if resolvers.m == nil || len(resolvers.m) >= 16 {
		resolvers.m = map[string]*resolver.Resolver{}
	}
	resolvers.m[key] = r
	return r
}

// dnsKey identifies what a resolver is built from: dnsconfig and the
// address of its interface.
func dnsKey(cfg *config.Config) string {
	v := struct {
		DNS config.DNS
		IP  string
	}{DNS: cfg.DNS}
	for _, in := range cfg.Interfaces {
		if in.Name == cfg.DNS.Interface {
			v.IP = in.IPv4
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// reverseDNS is the resolver and timeout of a connecting host's reverse
// look-up: Options.Resolver and Options.DNSTimeout when set (tests), else
// dnsconfig's resolver and reverse-DNS timeout.
func (s *Server) reverseDNS() (Resolver, time.Duration) {
	var cfg *config.Config
	if rt := s.rt.Load(); rt != nil {
		cfg = rt.cfg
	}
	timeout := s.opts.DNSTimeout
	if timeout == 0 {
		wait := config.DefaultReverseTimeout
		if cfg != nil {
			wait = cfg.DNS.ReverseWait()
		}
		timeout = time.Duration(wait) * time.Second
	}
	if s.opts.Resolver != nil {
		return s.opts.Resolver, timeout
	}
	return resolverFor(cfg), timeout
}

// FlushDNS empties the DNS caches: every resolver's answers and the
// reverse names of connecting hosts (dnsflush).
func (s *Server) FlushDNS() {
	resolvers.Lock()
	for _, r := range resolvers.m {
		r.Flush()
	}
	resolvers.Unlock()
	s.rdns.mu.Lock()
	clear(s.rdns.m)
	s.rdns.mu.Unlock()
}

// DNSStatus is what dnsstatus shows of the MTA's DNS.
type DNSStatus struct {
	// Counts are every resolver's since the process started: the MTA is
	// the only user of these resolvers, so since the MTA started.
	Counts resolver.Counts
	// CacheEntries are the answers cached by the resolver of the running
	// configuration's dnsconfig settings (none before its first question).
	CacheEntries int
	// ReverseNames are the connecting hosts whose reverse names are
	// cached.
	ReverseNames int
}

// DNSStatus reports the DNS counters and the caches' sizes.
func (s *Server) DNSStatus() DNSStatus {
	st := DNSStatus{Counts: dnsStats.Counts()}
	if rt := s.rt.Load(); rt != nil {
		key := dnsKey(rt.cfg)
		resolvers.Lock()
		if r := resolvers.m[key]; r != nil {
			st.CacheEntries = r.Len()
		}
		resolvers.Unlock()
	}
	s.rdns.mu.Lock()
	st.ReverseNames = len(s.rdns.m)
	s.rdns.mu.Unlock()
	return st
}
