package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// SMTP routes (smtproutes): the destination host syntax, the IMPORT/EXPORT
// file and the route the MTA uses for a domain.
//
// A destination host is written
//
//	host[:port][/pri=N]
//
// as AsyncOS writes them: host is a name, an IPv4 address or an IPv6 address
// (in brackets when a port follows), port defaults to 25, N is the priority
// (0-65535, lower first, hosts of equal priority share the load; 0 when
// omitted). A name in square brackets, [mx.example.com], is resolved through
// its address records only, ignoring MX records. USEDNS alone means normal
// MX delivery, /dev/null alone discards the mail.

// Special route values.
const (
	RouteAll     = "ALL"       // the default route's domain
	RouteUseDNS  = "USEDNS"    // deliver by MX lookup
	RouteDiscard = "/dev/null" // drop the mail
)

// Limits of the routing table.
const (
	MaxRoutes     = 50000
	MaxRouteHosts = 100
	MaxPriority   = 65535
)

// String writes h as smtproutes prints it: mx.example.com:2525/pri=10.
func (h RouteHost) String() string {
	var b strings.Builder
	h.write(&b)
	return b.String()
}

func (h RouteHost) write(b *strings.Builder) {
	a, err := netip.ParseAddr(h.Host)
	v6 := err == nil && a.Is6()
	if h.ARecords || v6 && h.Port != 0 {
		b.WriteByte('[')
		b.WriteString(h.Host)
		b.WriteByte(']')
	} else {
		b.WriteString(h.Host)
	}
	if h.Port != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(h.Port))
	}
	if h.Priority != 0 {
		b.WriteString("/pri=")
		b.WriteString(strconv.Itoa(h.Priority))
	}
}

// FormatRouteHosts writes a route's destinations separated by ", ".
func FormatRouteHosts(hs []RouteHost) string {
	var b strings.Builder
	for i, h := range hs {
		if i > 0 {
			b.WriteString(", ")
		}
		h.write(&b)
	}
	return b.String()
}

// ParseRouteHost reads one destination host. It returns "" or the message
// naming what is wrong.
func ParseRouteHost(s string) (RouteHost, string) {
	s = strings.TrimSpace(s)
	var h RouteHost
	switch {
	case s == "":
		return h, "You must enter a destination host."
	case strings.EqualFold(s, RouteUseDNS):
		return RouteHost{Host: RouteUseDNS}, ""
	case s == RouteDiscard:
		return RouteHost{Host: RouteDiscard}, ""
	}
	if i := lastIndexPri(s); i >= 0 {
		p, err := strconv.Atoi(s[i+len("/pri="):])
		if err != nil || p < 0 || p > MaxPriority {
			return h, fmt.Sprintf("The priority of %q must be an integer from 0 to %d.", s, MaxPriority)
		}
		h.Priority, s = p, s[:i]
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		j := strings.IndexByte(s, ']')
		if j < 0 {
			return h, fmt.Sprintf("The host %q has no closing bracket.", s)
		}
		host = s[1:j]
		if rest := s[j+1:]; rest != "" {
			if rest[0] != ':' {
				return h, fmt.Sprintf("Invalid hostname format %q: only :port may follow the closing bracket.", s)
			}
			port = rest[1:]
		}
		if _, err := netip.ParseAddr(host); err != nil {
			h.ARecords = true
		}
	case strings.Count(s, ":") == 1:
		host, port, _ = strings.Cut(s, ":")
	}
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return h, fmt.Sprintf("The port of %q must be a number between 1 and 65535.", s)
		}
		h.Port = p
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return h, fmt.Sprintf("Invalid hostname format %q: an address with a zone cannot be a destination.", s)
		}
		h.Host = a.String()
		return h, ""
	}
	host = strings.ToLower(host)
	if r := CheckRouteHostname(host); r != "" {
		return h, fmt.Sprintf("%q: %s", s, r)
	}
	h.Host = strings.TrimRight(host, ".")
	return h, ""
}

// lastIndexPri finds the last "/pri=" in s, in any case, byte-wise (s may
// not be UTF-8).
func lastIndexPri(s string) int {
	const pat = "/pri="
	for i := len(s) - len(pat); i >= 0; i-- {
		ok := true
		for j := 0; j < len(pat) && ok; j++ {
			c := s[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			ok = c == pat[j]
		}
		if ok {
			return i
		}
	}
	return -1
}

// CheckRouteHostname validates a destination host name: a host name, or a
// single label (a name the resolver completes, such as localhost).
func CheckRouteHostname(h string) string {
	if h == "" {
		return "A hostname must not be empty."
	}
	if strings.Contains(h, ".") {
		return CheckHostname(h)
	}
	if r := checkLabel(h); r != "" {
		return r
	}
	if allDigits(h) {
		return "A hostname must not be a number."
	}
	return ""
}

func sameHost(a, b RouteHost) bool { return strings.EqualFold(a.Host, b.Host) }

// AddRouteHosts appends the destinations in list (comma separated) to hs and
// returns the new list, or the AsyncOS-style message for the first problem.
// hs is not modified.
func AddRouteHosts(hs []RouteHost, list string) ([]RouteHost, string) {
	out := append([]RouteHost(nil), hs...)
	for _, part := range strings.Split(list, ",") {
		if strings.TrimSpace(part) == "" {
			if strings.TrimSpace(list) == "" {
				return nil, "You must enter at least one destination host."
			}
			continue
		}
		h, msg := ParseRouteHost(part)
		if msg != "" {
			return nil, msg
		}
		for _, o := range out {
			if !sameHost(o, h) {
				continue
			}
			switch {
			case o.Port == h.Port:
				return nil, fmt.Sprintf("The host %s is already a destination of this route.", h.Host)
			case o.Port == 0:
				return nil, fmt.Sprintf("The host %s is already using the standard port.", h.Host)
			default:
				return nil, fmt.Sprintf("The host %s already has an alternate port (%d).", h.Host, o.Port)
			}
		}
		out = append(out, h)
	}
	if msg := checkRouteHostSet(out); msg != "" {
		return nil, msg
	}
	return out, ""
}

// checkRouteHostSet checks what concerns the destinations of a route
// together: their number, USEDNS and /dev/null alone.
func checkRouteHostSet(hs []RouteHost) string {
	if len(hs) == 0 {
		return "You must enter at least one destination host."
	}
	if len(hs) > MaxRouteHosts {
		return fmt.Sprintf("Routes may not contain more than %d destinations.", MaxRouteHosts)
	}
	for _, h := range hs {
		if (h.Host == RouteUseDNS || h.Host == RouteDiscard) && len(hs) > 1 {
			return fmt.Sprintf("The value %s must be the only destination of its route.", h.Host)
		}
		if (h.Host == RouteUseDNS || h.Host == RouteDiscard) && (h.Port != 0 || h.Priority != 0) {
			return fmt.Sprintf("The value %s takes no port or priority.", h.Host)
		}
	}
	return ""
}

// CheckRouteDomain validates the domain of a route: ALL, a domain or a
// .domain for every subdomain.
func CheckRouteDomain(d string) string {
	if d == RouteAll {
		return ""
	}
	if d == "" {
		return "You must enter a domain."
	}
	return CheckDomain(d)
}

// NormalizeRouteDomain is the stored form of a route domain: ALL in upper
// case, any other in lower case without a trailing dot.
func NormalizeRouteDomain(d string) string {
	if strings.EqualFold(d, RouteAll) {
		return RouteAll
	}
	return NormalizeDomain(d)
}

// FindRoute returns the index of the route for exactly domain, or -1.
func FindRoute(routes []Route, domain string) int {
	domain = NormalizeRouteDomain(domain)
	for i := range routes {
		if routes[i].Domain == domain {
			return i
		}
	}
	return -1
}

// ByPriority returns the route's destinations ordered by priority (lowest
// first), keeping the configured order among equals.
func (r Route) ByPriority() []RouteHost {
	out := append([]RouteHost(nil), r.Hosts...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out
}

// UsesDNS reports a route that delivers by MX lookup (USEDNS).
func (r Route) UsesDNS() bool { return len(r.Hosts) == 1 && r.Hosts[0].Host == RouteUseDNS }

// Discards reports a route to /dev/null.
func (r Route) Discards() bool { return len(r.Hosts) == 1 && r.Hosts[0].Host == RouteDiscard }

// RouteFor returns the route for mail to domain: the route for exactly that
// domain, else the .parent route nearest to it, else the ALL route; ok is
// false when none applies (deliver by DNS). It scans the table: build a
// RouteIndex for repeated lookups.
func RouteFor(routes []Route, domain string) (r Route, ok bool) {
	domain = NormalizeDomain(domain)
	best, bestLen, all := -1, 0, -1
	for i := range routes {
		k := routes[i].Domain
		switch {
		case k == domain:
			return routes[i], true
		case k == RouteAll:
			all = i
		case len(k) > bestLen && k[0] == '.' && strings.HasSuffix(domain, k):
			best, bestLen = i, len(k)
		}
	}
	if best < 0 {
		best = all
	}
	if best < 0 {
		return Route{}, false
	}
	return routes[best], true
}

// RouteIndex is RouteFor in time independent of the size of the table.
// Build it once per configuration; it is read-only afterwards and safe for
// concurrent use. Its routes' hosts are ordered by priority.
type RouteIndex struct {
	exact  map[string]int32
	sub    map[string]int32
	all    int32
	routes []Route
}

// NewRouteIndex indexes routes.
func NewRouteIndex(routes []Route) *RouteIndex {
	x := &RouteIndex{exact: make(map[string]int32, len(routes)), sub: map[string]int32{}, all: -1,
		routes: make([]Route, len(routes))}
	for i, r := range routes {
		x.routes[i] = Route{Domain: r.Domain, Hosts: r.ByPriority()}
		m := x.exact
		switch {
		case r.Domain == RouteAll:
			if x.all < 0 {
				x.all = int32(i)
			}
			continue
		case strings.HasPrefix(r.Domain, "."):
			m = x.sub
		}
		if _, dup := m[r.Domain]; !dup {
			m[r.Domain] = int32(i)
		}
	}
	return x
}

// RouteFor is RouteFor over the indexed table, hosts ordered by priority.
// It does not allocate for a domain already in lower case.
func (x *RouteIndex) RouteFor(domain string) (Route, bool) {
	domain = NormalizeDomain(domain)
	if i, ok := x.exact[domain]; ok {
		return x.routes[i], true
	}
	if len(x.sub) > 0 {
		for i := 0; i < len(domain); i++ {
			if domain[i] != '.' {
				continue
			}
			if j, ok := x.sub[domain[i:]]; ok {
				return x.routes[j], true
			}
		}
	}
	if x.all >= 0 {
		return x.routes[x.all], true
	}
	return Route{}, false
}

// FormatRoutes writes the routing table as the IMPORT/EXPORT file: one
// route a line, its domain, white space, its destinations separated by
// commas.
func FormatRoutes(routes []Route) []byte {
	var b strings.Builder
	b.WriteString("# SMTP routes: domain, then its destinations separated by commas.\n")
	for _, r := range routes {
		b.WriteString(r.Domain)
		b.WriteByte(' ')
		for i, h := range r.Hosts {
			if i > 0 {
				b.WriteString(", ")
			}
			h.write(&b)
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// ParseRoutes reads an smtproutes IMPORT file: blank lines and lines
// beginning with # are skipped. Any problem refuses the whole file with a
// *FileLineError.
func ParseRoutes(data []byte) ([]Route, error) {
	var out []Route
	seen := map[string]int{}
	n := 0
	for len(data) > 0 {
		n++
		var raw []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			raw, data = data[:i], data[i+1:]
		} else {
			raw, data = data, nil
		}
		line := strings.TrimSpace(string(raw))
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' {
			continue
		}
		fail := func(format string, args ...any) ([]Route, error) {
			return nil, &FileLineError{Line: n, Msg: fmt.Sprintf(format, args...)}
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return fail("A route is a domain followed by its destination hosts.")
		}
		if r := CheckRouteDomain(line[:i]); r != "" && !strings.EqualFold(line[:i], RouteAll) {
			return fail("%s: %s", line[:i], r)
		}
		domain := NormalizeRouteDomain(line[:i])
		if first, dup := seen[domain]; dup {
			return fail("The value %s is already in the routing table (line %d).", domain, first)
		}
		seen[domain] = n
		if len(out) == MaxRoutes {
			return fail("There is a maximum of %d routes.", MaxRoutes)
		}
		hosts, msg := AddRouteHosts(nil, line[i+1:])
		if msg != "" {
			return fail("%s", msg)
		}
		out = append(out, Route{Domain: domain, Hosts: hosts})
	}
	if out == nil {
		out = []Route{}
	}
	return out, nil
}
