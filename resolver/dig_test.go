package resolver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esash/config"
	"esash/resolver/dnstest"
)

// digZones: a signed and an unsigned zone, a reverse zone, a TXT record
// set too big for a 1232-byte UDP reply, and a signed zone whose A record
// was forged (bogus: a validating resolver answers SERVFAIL).
func digZones() []dnstest.Zone {
	big := make([]string, 0, 12)
	for i := range 12 {
		big = append(big, fmt.Sprintf("big IN TXT \"%02d %s\"", i, strings.Repeat("x", 150)))
	}
	return []dnstest.Zone{
		{Origin: "signed.test", Signed: true, Records: append([]string{
			"@ IN MX 10 mx",
			"mx IN A 127.0.0.9",
			`@ IN TXT "v=spf1 -all"`,
		}, big...)},
		{Origin: "plain.test", Records: []string{
			"@ IN MX 10 mx",
			"mx IN A 127.0.0.10",
			"www IN CNAME mx",
		}},
		{Origin: "0.0.127.in-addr.arpa", Records: []string{"9 IN PTR mx.signed.test."}},
		{Origin: "forged.test", Signed: true, Records: []string{"mx IN A 127.0.0.11"},
			Forged: map[string]string{"127.0.0.11": "127.0.0.12"}},
	}
}

const deadServer = "127.4.250.250:9" // nothing listens there

func dig(t *testing.T, cfg *config.Config, q DigQuery) DigResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Dig(ctx, cfg, Options{Timeout: 5 * time.Second}, q)
	if err != nil {
		t.Fatalf("Dig(%+v): %v", q, err)
	}
	return res
}

// answers are the reply's answer records as zone-file text without the
// TTL (Unbound counts TTLs down), signatures left out.
func answers(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			continue
		}
		h := rr.Header()
		out = append(out, h.Name+" "+dns.TypeToString[h.Rrtype]+" "+strings.TrimPrefix(rr.String(), h.String()))
	}
	return out
}

// TestDigAnswers: through the validating Unbound, dig shows the records
// asked, the reply's status and the ad flag for the signed zone only; an
// address with PTR asks its in-addr.arpa name.
func TestDigAnswers(t *testing.T) {
	srv := dnstest.Start(t, digZones()...)
	cfg := localConfig(srv.Resolver)
	for _, tc := range []struct {
		name    string
		q       DigQuery
		rcode   int
		answers []string
		ad      bool
	}{
		{"A in a signed zone is authenticated", DigQuery{Name: "mx.signed.test", Type: "A"}, dns.RcodeSuccess,
			[]string{"mx.signed.test. A 127.0.0.9"}, true},
		{"A in an unsigned zone is not", DigQuery{Name: "mx.plain.test", Type: "a"}, dns.RcodeSuccess,
			[]string{"mx.plain.test. A 127.0.0.10"}, false},
		{"MX", DigQuery{Name: "signed.test.", Type: "MX"}, dns.RcodeSuccess,
			[]string{"signed.test. MX 10 mx.signed.test."}, true},
		{"TXT", DigQuery{Name: "signed.test", Type: "TXT"}, dns.RcodeSuccess,
			[]string{`signed.test. TXT "v=spf1 -all"`}, true},
		{"CNAME is followed by the resolver", DigQuery{Name: "www.plain.test", Type: "A"}, dns.RcodeSuccess,
			[]string{"www.plain.test. CNAME mx.plain.test.", "mx.plain.test. A 127.0.0.10"}, false},
		{"PTR of an address", DigQuery{Name: "127.0.0.9", Reverse: true, Type: "PTR"}, dns.RcodeSuccess,
			[]string{"9.0.0.127.in-addr.arpa. PTR mx.signed.test."}, false},
		{"NXDOMAIN in a signed zone: authenticated denial", DigQuery{Name: "nowhere.signed.test", Type: "A"}, dns.RcodeNameError,
			nil, true},
		{"NXDOMAIN in an unsigned zone", DigQuery{Name: "nowhere.plain.test", Type: "MX"}, dns.RcodeNameError,
			nil, false},
		{"bogus: the validator's SERVFAIL is the reply", DigQuery{Name: "mx.forged.test", Type: "A"}, dns.RcodeServerFailure,
			nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := dig(t, cfg, tc.q)
			m := res.Reply
			if m.Rcode != tc.rcode || m.AuthenticatedData != tc.ad || !m.RecursionDesired || !m.RecursionAvailable {
				t.Errorf("reply %s, ad %v, rd %v, ra %v; want %s, ad %v, rd and ra", dns.RcodeToString[m.Rcode],
					m.AuthenticatedData, m.RecursionDesired, m.RecursionAvailable, dns.RcodeToString[tc.rcode], tc.ad)
			}
			if got := answers(m); strings.Join(got, "\n") != strings.Join(tc.answers, "\n") {
				t.Errorf("answers %q, want %q", got, tc.answers)
			}
			if opt := m.IsEdns0(); opt == nil || !opt.Do() {
				t.Errorf("the reply has no EDNS0 with DO: the question did not ask for DNSSEC")
			}
			if res.Network != "udp" || res.Addr != srv.Resolver || res.Server != srv.Resolver || len(res.Failed) != 0 {
				t.Errorf("answered by %s (%s) over %s after %v; want %s over udp", res.Server, res.Addr, res.Network, res.Failed, srv.Resolver)
			}
		})
	}
	if m := dig(t, cfg, DigQuery{Name: "nowhere.plain.test", Type: "MX"}).Reply; len(m.Ns) == 0 || m.Ns[0].Header().Rrtype != dns.TypeSOA {
		t.Errorf("NXDOMAIN reply without the zone's SOA in AUTHORITY: %v", m.Ns)
	}
}

// TestDigBadQuestion: a type dig does not know, a reverse look-up of a
// name, a name that is not one and a server that is neither an address
// nor a name are refused before anything is sent, each saying what is
// accepted.
func TestDigBadQuestion(t *testing.T) {
	cfg := localConfig(deadServer)
	for _, tc := range []struct {
		name string
		q    DigQuery
		want string
	}{
		{"unknown type", DigQuery{Name: "a.test", Type: "BOGUS"}, `query type "BOGUS": not one of A, AAAA, CNAME, MX, NS, PTR, SOA, TXT`},
		{"reverse of a name", DigQuery{Name: "a.test", Reverse: true, Type: "PTR"}, `reverse look-up of "a.test": not an IP address`},
		{"not a domain name", DigQuery{Name: "a..test", Type: "A"}, `"a..test" is not a domain name`},
		{"bad server", DigQuery{Name: "a.test", Type: "A", Server: "1.2.3.4:x"}, `DNS server "1.2.3.4:x": not an IP address`},
		{"family mismatch", DigQuery{Name: "a.test", Type: "A", Server: "[::1]:9", Source: netip.MustParseAddr("127.0.0.1")},
			"cannot send from 127.0.0.1 to ::1: the address families differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dig(context.Background(), cfg, Options{Timeout: time.Second}, tc.q)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dig = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestDigServers: dig asks the servers the resolver would: past a dead
// one to the next by priority, the alternate server of a domain for names
// in it, the server named at the question; a dead server alone is an
// error naming it.
func TestDigServers(t *testing.T) {
	srv := dnstest.Start(t, digZones()...)
	t.Run("past a dead server", func(t *testing.T) {
		res := dig(t, localConfig(deadServer, srv.Resolver), DigQuery{Name: "mx.plain.test", Type: "A"})
		if res.Addr != srv.Resolver || len(res.Failed) != 1 || res.Failed[0].Server != deadServer || res.Failed[0].Err == nil {
			t.Errorf("answered by %s after %+v; want %s after the dead %s", res.Addr, res.Failed, srv.Resolver, deadServer)
		}
	})
	t.Run("dead server alone", func(t *testing.T) {
		_, err := Dig(context.Background(), localConfig(deadServer), Options{Timeout: 2 * time.Second},
			DigQuery{Name: "mx.plain.test", Type: "A"})
		if err == nil || !strings.Contains(err.Error(), "no DNS server answered mx.plain.test: "+deadServer+": ") {
			t.Errorf("Dig = %v, want an error naming %s", err, deadServer)
		}
	})
	t.Run("alternate domain server", func(t *testing.T) {
		cfg := localConfig(srv.Resolver)
		// NSD answers for plain.test: its replies are authoritative (aa)
		// and do not offer recursion, which Unbound's never are.
		cfg.DNS.Alternates = []config.DNSAlternate{{Domain: "plain.test", Address: srv.Auth}}
		res := dig(t, cfg, DigQuery{Name: "mx.plain.test", Type: "A"})
		if res.Addr != srv.Auth || !res.Reply.Authoritative || res.Reply.RecursionAvailable {
			t.Errorf("plain.test answered by %s (aa %v, ra %v), want the alternate %s", res.Addr, res.Reply.Authoritative, res.Reply.RecursionAvailable, srv.Auth)
		}
		if res := dig(t, cfg, DigQuery{Name: "mx.signed.test", Type: "A"}); res.Addr != srv.Resolver {
			t.Errorf("signed.test answered by %s, want %s", res.Addr, srv.Resolver)
		}
		cfg.DNS.Alternates = []config.DNSAlternate{{Domain: "plain.test", Address: deadServer, Hostname: "ns.dead.test"}}
		_, err := Dig(context.Background(), cfg, Options{Timeout: 2 * time.Second}, DigQuery{Name: "mx.plain.test", Type: "A"})
		if err == nil || !strings.Contains(err.Error(), "ns.dead.test ("+deadServer+")") {
			t.Errorf("plain.test through its dead alternate: %v, want an error naming it", err)
		}
	})
	t.Run("server named at the question", func(t *testing.T) {
		res := dig(t, localConfig(deadServer), DigQuery{Name: "signed.test", Type: "MX", Server: srv.Auth})
		if res.Addr != srv.Auth || !res.Reply.Authoritative || len(res.Failed) != 0 {
			t.Errorf("answered by %s (aa %v) after %v, want only %s", res.Addr, res.Reply.Authoritative, res.Failed, srv.Auth)
		}
	})
	t.Run("SERVFAIL passes to the next server and is reported", func(t *testing.T) {
		res := dig(t, localConfig(srv.Resolver, srv.Auth), DigQuery{Name: "mx.forged.test", Type: "A"})
		if res.Addr != srv.Auth || res.Reply.Rcode != dns.RcodeSuccess || len(res.Failed) != 1 ||
			res.Failed[0].Reply == nil || res.Failed[0].Reply.Rcode != dns.RcodeServerFailure {
			t.Errorf("answered by %s (%s) after %+v; want NSD's answer after Unbound's SERVFAIL", res.Addr,
				dns.RcodeToString[res.Reply.Rcode], res.Failed)
		}
	})
}

// relay is a TCP relay to target: it records the source address of each
// connection it is given, so a test sees that a question came over TCP
// and from where.
func relay(t *testing.T, target string) (string, <-chan netip.Addr) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	from := make(chan netip.Addr, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return l.Addr().String(), from
}

// TestDigTCP: -t sends the question over TCP (a relay that only speaks
// TCP sees the connection, from the source address asked for); a reply
// too big for UDP is asked again over TCP and arrives whole.
func TestDigTCP(t *testing.T) {
	srv := dnstest.Start(t, digZones()...)
	cfg := localConfig(srv.Resolver)
	addr, from := relay(t, srv.Resolver)
	src := netip.MustParseAddr("127.4.251.9")
	res := dig(t, cfg, DigQuery{Name: "mx.signed.test", Type: "A", Server: addr, TCP: true, Source: src})
	if res.Network != "tcp" || len(answers(res.Reply)) != 1 {
		t.Fatalf("over %s: %v", res.Network, res.Reply)
	}
	select {
	case a := <-from:
		if a != src {
			t.Errorf("the question came from %s, want %s", a, src)
		}
	default:
		t.Error("the relay saw no TCP connection")
	}
	res = dig(t, cfg, DigQuery{Name: "big.signed.test", Type: "TXT"})
	if res.Network != "tcp" || res.Reply.Truncated || len(answers(res.Reply)) != 12 {
		t.Errorf("big TXT set: over %s, truncated %v, %d records; want all 12 over tcp", res.Network, res.Reply.Truncated, len(answers(res.Reply)))
	}
}

// TestDigBypassesCache: dig neither answers from the resolver's cache nor
// fills it, while the look-ups of the same resolver do both.
func TestDigBypassesCache(t *testing.T) {
	srv := dnstest.Start(t, digZones()...)
	r := newResolver(t, localConfig(srv.Resolver), Options{})
	forged, _ := dns.NewRR("mx.plain.test. 3600 IN A 192.0.2.99")
	r.store(cacheKey{"mx.plain.test.", dns.TypeA}, answer{rrs: []dns.RR{forged}}, time.Hour, r.now())
	ctx := context.Background()
	res, err := r.dig(ctx, "mx.plain.test.", dns.TypeA, "", false)
	if err != nil || strings.Join(answers(res.Reply), "") != "mx.plain.test. A 127.0.0.10" {
		t.Fatalf("dig = %v, %v; want the server's 127.0.0.10, not the cached 192.0.2.99", res.Reply, err)
	}
	if _, err := r.dig(ctx, "signed.test.", dns.TypeMX, "", false); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 1 {
		t.Errorf("the cache holds %d answers after dig, want the 1 stored before", r.Len())
	}
	// The same resolver's look-up answers from the cache: the entry is
	// really there to be read.
	if ips, _, err := r.LookupIP(ctx, "mx.plain.test"); err != nil || len(ips) == 0 || ips[0].String() != "192.0.2.99" {
		t.Errorf("LookupIP = %v, %v; want the cached 192.0.2.99", ips, err)
	}
}
