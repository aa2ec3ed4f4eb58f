package config

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestParseHostPattern(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		in     string
		kind   PatternKind
		lo, hi string
		name   string
	}{
		{in: "ALL", kind: PatternAll},
		{in: "10.1.2.3", kind: PatternRange, lo: "10.1.2.3", hi: "10.1.2.3"},
		{in: "10.1.2.3/24", kind: PatternRange, lo: "10.1.2.0", hi: "10.1.2.255"},
		{in: "0.0.0.0/0", kind: PatternRange, lo: "0.0.0.0", hi: "255.255.255.255"},
		{in: "10.1.1.1-50", kind: PatternRange, lo: "10.1.1.1", hi: "10.1.1.50"},
		{in: "10.1.1.200-10.1.2.5", kind: PatternRange, lo: "10.1.1.200", hi: "10.1.2.5"},
		{in: "2001:db8::/32", kind: PatternRange, lo: "2001:db8::", hi: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{in: "2001:db8::1-2001:db8::9", kind: PatternRange, lo: "2001:db8::1", hi: "2001:db8::9"},
		{in: "::ffff:192.0.2.1", kind: PatternRange, lo: "192.0.2.1", hi: "192.0.2.1"},
		{in: "::ffff:192.0.2.0/120", kind: PatternRange, lo: "192.0.2.0", hi: "192.0.2.255"},
		{in: "mx.Example.com.", kind: PatternHost, name: "mx.example.com"},
		{in: ".example.net", kind: PatternDomain, name: ".example.net"},
		{in: "mailhost", kind: PatternHost, name: "mailhost"},
	} {
		p, err := ParseHostPattern(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if p.Kind != tc.kind || p.Name != tc.name || (tc.lo != "" && (p.Lo != a(tc.lo) || p.Hi != a(tc.hi))) {
			t.Errorf("%s = %+v", tc.in, p)
		}
		if CheckHostPattern(tc.in) != "" {
			t.Errorf("%s: CheckHostPattern refuses it: %s", tc.in, CheckHostPattern(tc.in))
		}
	}
	for _, bad := range []string{"10.1.1.50-1", "10.1.1.1-256", "10.1.1/24", "10.1.1", "10.0.0.1-2001:db8::1",
		"300.1.1.1", "-1.2.3.4", "bad_name.example.com", "", ".", "10.0.0.0/33", "2001:db8::1-5"} {
		if _, err := ParseHostPattern(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestHostPatternContains(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		pattern, ip, name string
		want              bool
	}{
		{"ALL", "192.0.2.1", "", true},
		{"192.0.2.0/24", "192.0.2.77", "", true},
		{"192.0.2.0/24", "192.0.3.1", "", false},
		{"192.0.2.0/24", "::ffff:192.0.2.9", "", true},
		{"10.1.1.1-50", "10.1.1.50", "", true},
		{"10.1.1.1-50", "10.1.1.51", "", false},
		{"2001:db8::/32", "2001:db8:1::1", "", true},
		{"2001:db8::/32", "192.0.2.1", "", false},
		{"mx.example.com", "192.0.2.1", "MX.example.com.", true},
		{"mx.example.com", "192.0.2.1", "", false},
		{".example.com", "192.0.2.1", "a.b.example.com", true},
		{".example.com", "192.0.2.1", "example.com", false},
		{".example.com", "192.0.2.1", "badexample.com", false},
	} {
		p, err := ParseHostPattern(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Contains(ip(tc.ip), tc.name); got != tc.want {
			t.Errorf("%s contains %s (%q) = %v", tc.pattern, tc.ip, tc.name, got)
		}
	}
}

func TestCheckRecipientPattern(t *testing.T) {
	for _, ok := range []string{"ALL", "example.com", ".example.com", "postmaster@", "joe@example.com", "joe@[192.0.2.1]", "localdomain"} {
		if r := CheckRecipientPattern(ok); r != "" {
			t.Errorf("%q refused: %s", ok, r)
		}
	}
	for _, bad := range []string{"", "@", "@example.com", "joe@.example.com", "joe@[bad]", "a b@example.com", "x@y@z", "bad_domain.com"} {
		if CheckRecipientPattern(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
}

func hatListener() Listener {
	l := FactoryListener("IncomingMail", Public, "Management", 25)
	l.Policies = append(l.Policies, MailFlowPolicy{Name: "TLSREQ", Action: Accept,
		Params: HATParams{TLS: TLSInRequired, MaxMessageSize: 1 << 20}})
	set := func(group string, hosts ...string) {
		for i := range l.SenderGroups {
			if l.SenderGroups[i].Name == group {
				l.SenderGroups[i].Hosts = hosts
			}
		}
	}
	set("ALLOWED_LIST", "10.0.0.0/8", "mx.partner.example", "2001:db8::/32")
	set("BLOCKED_LIST", "10.9.9.9", ".spam.example", "10.1.1.1-50")
	set("SUSPECTLIST", "10.1.1.0/24")
	l.SenderGroups = append(l.SenderGroups[:4:4], SenderGroup{Name: "PARTNERS", Policy: "TLSREQ",
		Hosts: []string{"192.0.2.0/24", ".partner.example"}}, l.SenderGroups[4])
	return l
}

func TestHATMatcher(t *testing.T) {
	l := hatListener()
	m := NewHATMatcher(l)
	for _, tc := range []struct {
		ip, name, group, policy string
	}{
		{"10.1.2.3", "", "ALLOWED_LIST", "TRUSTED"},
		{"10.9.9.9", "", "ALLOWED_LIST", "TRUSTED"}, // the earlier group wins
		{"192.0.2.5", "", "PARTNERS", "TLSREQ"},
		{"198.51.100.1", "mx.partner.example", "ALLOWED_LIST", "TRUSTED"},
		{"198.51.100.1", "a.partner.example", "PARTNERS", "TLSREQ"},
		{"198.51.100.1", "x.SPAM.example.", "BLOCKED_LIST", "BLOCKED"},
		{"198.51.100.1", "", "ALL", "ACCEPTED"},
		{"::ffff:10.0.0.1", "", "ALLOWED_LIST", "TRUSTED"},
		{"2001:db8::25", "", "ALLOWED_LIST", "TRUSTED"},
		{"2001:db9::25", "", "ALL", "ACCEPTED"},
	} {
		g, p, _ := m.Match(netip.MustParseAddr(tc.ip), tc.name)
		if g.Name != tc.group || p.Name != tc.policy {
			t.Errorf("Match(%s, %q) = %s/%s, want %s/%s", tc.ip, tc.name, g.Name, p.Name, tc.group, tc.policy)
		}
	}
	// Effective parameters: the policy's, then the listener default.
	_, _, e := m.Match(netip.MustParseAddr("192.0.2.9"), "")
	if e.TLS != TLSInRequired || e.MaxMessageSize != 1<<20 || e.MaxRcptsPerMsg != l.DefaultPolicy.MaxRcptsPerMsg {
		t.Errorf("effective params = %+v", e)
	}
	// Without ALL nothing else matches and the host is refused.
	l.SenderGroups = l.SenderGroups[:len(l.SenderGroups)-1]
	g, p, _ := NewHATMatcher(l).Match(netip.MustParseAddr("198.51.100.1"), "")
	if g.Name != "" || p.Action != Reject {
		t.Errorf("unmatched host: %s/%+v", g.Name, p)
	}
}

// TestHATMatcherAgreesWithScan checks the index against the definition:
// the first group, in table order, with an entry that contains the host.
func TestHATMatcherAgreesWithScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 50; round++ {
		l := randomHAT(r, 1+r.IntN(30), 1+r.IntN(20))
		m := NewHATMatcher(l)
		for q := 0; q < 400; q++ {
			ip, name := randomHost(r)
			want := ""
		scan:
			for _, g := range l.SenderGroups {
				for _, h := range g.Hosts {
					p, err := ParseHostPattern(h)
					if err == nil && p.Contains(ip, name) {
						want = g.Name
						break scan
					}
				}
			}
			if g, _, _ := m.Match(ip, name); g.Name != want {
				t.Fatalf("round %d: Match(%s, %q) = %q, scan says %q\n%s", round, ip, name, g.Name, want, FormatHAT(l))
			}
		}
	}
}

// randomHAT makes a table over a small address space so that entries
// overlap often.
func randomHAT(r *rand.Rand, groups, perGroup int) Listener {
	l := FactoryListener("L", Public, "Management", 25)
	l.SenderGroups = nil
	for g := 0; g < groups; g++ {
		sg := SenderGroup{Name: fmt.Sprintf("G%d", g), Policy: "ACCEPTED"}
		for e := 0; e < perGroup; e++ {
			sg.Hosts = append(sg.Hosts, randomPattern(r))
		}
		l.SenderGroups = append(l.SenderGroups, sg)
	}
	return l
}

func randomPattern(r *rand.Rand) string {
	switch r.IntN(9) {
	case 0:
		return fmt.Sprintf("10.0.%d.%d", r.IntN(4), r.IntN(256))
	case 1:
		return fmt.Sprintf("10.0.%d.%d/%d", r.IntN(4), r.IntN(256), 22+r.IntN(11))
	case 2:
		lo := r.IntN(256)
		return fmt.Sprintf("10.0.%d.%d-%d", r.IntN(4), lo, lo+r.IntN(256-lo))
	case 3:
		return fmt.Sprintf("10.0.%d.%d-10.0.%d.%d", r.IntN(2), r.IntN(256), 2+r.IntN(2), r.IntN(256))
	case 4:
		return fmt.Sprintf("2001:db8::%x/%d", r.IntN(4096), 116+r.IntN(13))
	case 5:
		return fmt.Sprintf("h%d.d%d.example", r.IntN(8), r.IntN(4))
	case 6:
		return fmt.Sprintf(".d%d.example", r.IntN(4))
	case 7:
		if r.IntN(20) == 0 {
			return "ALL"
		}
		return ".example"
	}
	return fmt.Sprintf("::ffff:10.0.%d.%d", r.IntN(4), r.IntN(256))
}

func randomHost(r *rand.Rand) (netip.Addr, string) {
	var ip netip.Addr
	switch r.IntN(3) {
	case 0:
		ip = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", r.IntN(4096)))
	default:
		ip = netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(5)), byte(r.IntN(256))})
	}
	name := ""
	switch r.IntN(3) {
	case 0:
		name = fmt.Sprintf("h%d.d%d.example", r.IntN(9), r.IntN(5))
	case 1:
		name = fmt.Sprintf("H%d.D%d.example.", r.IntN(9), r.IntN(5))
	}
	return ip, name
}

// bigHAT is a table of 10,000 entries: 100 sender groups of 100 senders
// each, a mix of addresses, CIDR blocks, ranges, host names and domains.
func bigHAT() Listener {
	l := FactoryListener("IncomingMail", Public, "Management", 25)
	l.SenderGroups = nil
	for g := 0; g < 100; g++ {
		sg := SenderGroup{Name: fmt.Sprintf("GROUP%03d", g), Policy: "ACCEPTED"}
		for e := 0; e < 100; e++ {
			n := g*100 + e
			switch n % 5 {
			case 0:
				sg.Hosts = append(sg.Hosts, fmt.Sprintf("10.%d.%d.%d", n/65536%256, n/256%256, n%256))
			case 1:
				sg.Hosts = append(sg.Hosts, fmt.Sprintf("172.%d.%d.0/24", 16+n/256%16, n%256))
			case 2:
				sg.Hosts = append(sg.Hosts, fmt.Sprintf("192.168.%d.1-%d", n%256, 1+n%254))
			case 3:
				sg.Hosts = append(sg.Hosts, fmt.Sprintf("mx%d.sender%d.example", n, n%97))
			case 4:
				sg.Hosts = append(sg.Hosts, fmt.Sprintf(".domain%d.example", n))
			}
		}
		l.SenderGroups = append(l.SenderGroups, sg)
	}
	l.SenderGroups = append(l.SenderGroups, SenderGroup{Name: "ALL", Policy: "ACCEPTED", Hosts: []string{"ALL"}})
	return l
}

func BenchmarkHATMatch(b *testing.B) {
	m := NewHATMatcher(bigHAT())
	hosts := []struct {
		ip   netip.Addr
		name string
	}{
		{netip.MustParseAddr("10.0.39.15"), ""},                         // an address near the end
		{netip.MustParseAddr("172.20.9.77"), "mail.unknown.example"},    // a CIDR block, no name hit
		{netip.MustParseAddr("198.51.100.7"), "a.b.domain9994.example"}, // a domain, deep
		{netip.MustParseAddr("203.0.113.1"), ""},                        // nothing: ALL
	}
	for _, h := range hosts {
		b.Run(fmt.Sprintf("%s_%s", h.ip, h.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(h.ip, h.name)
			}
		})
	}
}

func BenchmarkNewHATMatcher(b *testing.B) {
	l := bigHAT()
	b.ReportAllocs()
	for b.Loop() {
		NewHATMatcher(l)
	}
}

// BenchmarkHATScan is the linear scan the index replaces, for comparison.
func BenchmarkHATScan(b *testing.B) {
	l := bigHAT()
	type entry struct {
		p     HostPattern
		group int
	}
	var es []entry
	for i, g := range l.SenderGroups {
		for _, h := range g.Hosts {
			p, _ := ParseHostPattern(h)
			es = append(es, entry{p, i})
		}
	}
	ip := netip.MustParseAddr("203.0.113.1")
	for b.Loop() {
		for _, e := range es {
			if e.p.Contains(ip, "") {
				break
			}
		}
	}
}
