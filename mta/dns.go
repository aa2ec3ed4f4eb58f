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

// resolverOptions are the resolver options of every MTA (tests point the
// Internet-root mode elsewhere).
var resolverOptions resolver.Options

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
		r = resolver.Failing(err)
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
