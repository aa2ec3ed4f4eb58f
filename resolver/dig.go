package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"esash/config"
)

// The dig command's question: one question sent fresh to a DNS server, its
// whole reply returned for printing (header flags, every section), as
// BIND's dig shows it. It is asked exactly as the appliance's look-ups are
// (question: RD, EDNS0 with DO, AD), of the servers the appliance would
// ask (serversFor), from the address its queries leave from (send), so
// what dig shows is what the appliance sees; but it never reads or fills a
// cache: dig is how an administrator checks what the DNS answers now.

// DigQuery is one question of the dig command.
type DigQuery struct {
	// Name is the host or domain asked; with Reverse, an IP address whose
	// reverse name (in-addr.arpa, ip6.arpa) is asked.
	Name    string
	Reverse bool
	// Type is the record type's mnemonic ("A", "MX", "TXT").
	Type string
	// Server is the DNS server to ask: an IP address (with :port when not
	// 53) or a host name resolved through the configured servers; "" asks
	// the servers dnsconfig configures.
	Server string
	// Source is the address the question leaves from; invalid means as
	// dnsconfig's interface setting sends the appliance's questions.
	Source netip.Addr
	// TCP sends the question over TCP; else UDP, and TCP when the UDP
	// reply is truncated (as dig and the resolver do).
	TCP bool
}

// DigAttempt is a server asked before the reply dig shows, in vain:
// unreachable (Err), or answering SERVFAIL or REFUSED (Reply).
type DigAttempt struct {
	Server string // how the configuration names it
	Addr   string // host:port asked
	Err    error
	Reply  *dns.Msg
}

// DigResult is the reply to a DigQuery.
type DigResult struct {
	Reply   *dns.Msg
	Server  string        // how the configuration names the server that replied
	Addr    string        // its host:port
	Network string        // "udp" or "tcp": how the reply came
	Time    time.Duration // from sending to the reply, on Options.Now's clock
	// Failed are the other servers asked, in the order asked.
	Failed []DigAttempt
}

// DigTypes are the query types dig offers, in the order of its list.
var DigTypes = []string{"A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "TXT"}

// Dig sends q once, as the resolver of cfg's dnsconfig settings asks
// (Options as for New), and returns the first reply. Servers are tried as
// the resolver tries them: a server that cannot be reached, or that
// answers SERVFAIL or REFUSED, passes the question to the next; when none
// gives a better reply the last such reply is returned (a validating
// resolver's SERVFAIL is what dig is for). The error names every server
// that could not be reached when none replied.
func Dig(ctx context.Context, cfg *config.Config, o Options, q DigQuery) (DigResult, error) {
	qtype, ok := dns.StringToType[strings.ToUpper(q.Type)]
	if !ok {
		return DigResult{}, fmt.Errorf("query type %q: not one of %s", q.Type, strings.Join(DigTypes, ", "))
	}
	name := q.Name
	if q.Reverse {
		arpa, err := dns.ReverseAddr(q.Name)
		if err != nil {
			return DigResult{}, fmt.Errorf("reverse look-up of %q: not an IP address", q.Name)
		}
		name = arpa
	}
	name = dns.CanonicalName(name)
	if _, ok := dns.IsDomainName(name); !ok {
		return DigResult{}, fmt.Errorf("%q is not a domain name", q.Name)
	}
	// A resolver of its own: its cache starts empty and is dropped after
	// this one question, so the appliance's cache is neither read nor
	// filled.
	r, err := New(cfg, o)
	if err != nil {
		return DigResult{}, fmt.Errorf("dnsconfig: %w", err)
	}
	if q.Source.IsValid() {
		r.local = q.Source.Unmap()
	}
	return r.dig(ctx, name, qtype, q.Server, q.TCP)
}

// dig asks name's qtype records of named ("" the configured servers for
// name) without the cache.
func (r *Resolver) dig(ctx context.Context, name string, qtype uint16, named string, tcp bool) (DigResult, error) {
	srvs, err := r.digServers(ctx, name, named)
	if err != nil {
		return DigResult{}, err
	}
	m := question(name, qtype)
	var tried []DigAttempt
	var last DigResult
	shown := -1 // the attempt in tried whose reply is last
	for _, s := range srvs {
		if err := ctx.Err(); err != nil {
			tried = append(tried, DigAttempt{Server: s.name, Addr: s.addr, Err: err})
			break
		}
		res, err := r.digOne(ctx, s, m, tcp)
		tried = append(tried, DigAttempt{Server: s.name, Addr: s.addr, Err: err, Reply: res.Reply})
		if err != nil {
			continue
		}
		last, shown = res, len(tried)-1
		if rc := res.Reply.Rcode; rc != dns.RcodeServerFailure && rc != dns.RcodeRefused {
			break
		}
	}
	if shown < 0 {
		errs := make([]error, len(tried))
		for i, f := range tried {
			errs[i] = fmt.Errorf("%s: %w", f.Server, f.Err)
		}
		return DigResult{Failed: tried}, fmt.Errorf("no DNS server answered %s: %w", strings.TrimSuffix(name, "."), errors.Join(errs...))
	}
	last.Failed = slices.Delete(tried, shown, shown+1)
	return last, nil
}

// digOne asks one server.
func (r *Resolver) digOne(ctx context.Context, s server, m *dns.Msg, tcp bool) (DigResult, error) {
	if ap, err := netip.ParseAddrPort(s.addr); err == nil && r.local.IsValid() && ap.Addr().Unmap().Is4() != r.local.Is4() {
		// The resolver lets the system choose for a server of the other
		// family; dig was told where to send from, so it says why not.
		return DigResult{}, fmt.Errorf("cannot send from %s to %s: the address families differ", r.local, ap.Addr())
	}
	network := "udp"
	if tcp {
		network = "tcp"
	}
	start := r.now()
	resp, err := r.send(ctx, network, s, m)
	if err == nil && resp.Truncated && network == "udp" {
		network = "tcp"
		resp, err = r.send(ctx, network, s, m)
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return DigResult{}, errors.New("timed out")
		}
		return DigResult{}, err
	}
	return DigResult{Reply: resp, Server: s.name, Addr: s.addr, Network: network, Time: r.now().Sub(start)}, nil
}

// digServers are the servers dig asks: the configured ones for name, or
// the one the administrator named (an address, or a host name resolved
// through the configured servers).
func (r *Resolver) digServers(ctx context.Context, name, named string) ([]server, error) {
	if named == "" {
		srvs := r.serversFor(name)
		if len(srvs) == 0 {
			return nil, errors.New("no DNS server is configured (dnsconfig)")
		}
		return srvs, nil
	}
	if canon, ap, msg := config.ParseDNSAddress(named); msg == "" {
		return []server{{addr: ap.String(), name: canon}}, nil
	}
	if _, ok := dns.IsDomainName(named); !ok || strings.Contains(named, ":") {
		return nil, fmt.Errorf("DNS server %q: not an IP address (192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:5353) or host name", named)
	}
	ips, _, err := r.LookupIP(ctx, named)
	if err != nil {
		return nil, fmt.Errorf("DNS server %s: %w", named, err)
	}
	out := make([]server, len(ips))
	for i, ip := range ips {
		out[i] = server{addr: netip.AddrPortFrom(ip, 53).String(), name: named}
	}
	return out, nil
}
