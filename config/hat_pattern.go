package config

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// PatternKind is what a sender group entry matches.
type PatternKind int

// Sender group entry kinds.
const (
	PatternAll    PatternKind = iota // ALL: every host
	PatternRange                     // an address, a CIDR block or an address range
	PatternHost                      // a host name: the verified PTR name equals it
	PatternDomain                    // .example.com: the verified PTR name is below it
)

// HostPattern is a parsed sender group entry. For PatternRange, Lo and Hi
// are the first and last address (both IPv4 or both IPv6, never IPv4
// mapped); for names, Name is lower case without a trailing dot, and a
// domain keeps its leading dot.
type HostPattern struct {
	Kind   PatternKind
	Lo, Hi netip.Addr
	Name   string
}

// ParseHostPattern parses a sender group entry as CheckHostPattern accepts
// it: ALL, an IP address, a CIDR block, a range (10.1.1.1-50 or
// 10.1.1.1-10.1.2.5), a host name, or a .domain. The error is the
// AsyncOS-style message.
func ParseHostPattern(h string) (HostPattern, error) {
	switch {
	case h == "ALL":
		return HostPattern{Kind: PatternAll}, nil
	case strings.Contains(h, "/"):
		p, err := netip.ParsePrefix(h)
		if err != nil {
			return HostPattern{}, errors.New("A CIDR address is an IP address followed by a slash and a prefix length.")
		}
		p = unmapPrefix(p.Masked())
		return HostPattern{Kind: PatternRange, Lo: p.Addr(), Hi: lastAddr(p)}, nil
	case strings.Contains(h, "-") && (looksNumeric(h) || strings.Contains(h, ":")):
		return parseRange(h)
	case looksNumeric(h) || strings.Contains(h, ":"):
		a, err := netip.ParseAddr(h)
		if err != nil {
			return HostPattern{}, errBadRange
		}
		a = a.WithZone("").Unmap()
		return HostPattern{Kind: PatternRange, Lo: a, Hi: a}, nil
	}
	if r := CheckDomain(h); r != "" {
		return HostPattern{}, errors.New(r)
	}
	name := strings.ToLower(strings.TrimSuffix(h, "."))
	if strings.HasPrefix(name, ".") {
		return HostPattern{Kind: PatternDomain, Name: name}, nil
	}
	return HostPattern{Kind: PatternHost, Name: name}, nil
}

var errBadRange = errors.New("Invalid IP or IP range.")

func parseRange(h string) (HostPattern, error) {
	lo, hi, _ := strings.Cut(h, "-")
	a, err := netip.ParseAddr(lo)
	if err != nil {
		return HostPattern{}, errBadRange
	}
	if b, err := netip.ParseAddr(hi); err == nil {
		if a.Is4() != b.Is4() || b.Less(a) {
			return HostPattern{}, errBadRange
		}
		a, b = a.WithZone("").Unmap(), b.WithZone("").Unmap()
		if a.Is4() != b.Is4() || b.Less(a) {
			return HostPattern{}, errBadRange
		}
		return HostPattern{Kind: PatternRange, Lo: a, Hi: b}, nil
	}
	if !allDigits(hi) || !a.Is4() {
		return HostPattern{}, errBadRange
	}
	n, err := strconv.Atoi(hi)
	last := a.As4()
	if err != nil || n < int(last[3]) || n > 255 {
		return HostPattern{}, errBadRange
	}
	last[3] = byte(n)
	return HostPattern{Kind: PatternRange, Lo: a, Hi: netip.AddrFrom4(last)}, nil
}

// unmapPrefix turns a prefix of the IPv4-mapped IPv6 space into the IPv4
// prefix it stands for, so that it matches IPv4 peers.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

// lastAddr is the last address of a masked prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// Contains reports whether the pattern matches a host: its address (IPv4
// mapped addresses are taken as IPv4) and, for name patterns, its verified
// PTR name ("" when it has none).
func (p HostPattern) Contains(ip netip.Addr, verifiedName string) bool {
	switch p.Kind {
	case PatternAll:
		return true
	case PatternRange:
		ip = ip.WithZone("").Unmap()
		return ip.Is4() == p.Lo.Is4() && !ip.Less(p.Lo) && !p.Hi.Less(ip)
	}
	name := normalName(verifiedName)
	if name == "" {
		return false
	}
	if p.Kind == PatternHost {
		return name == p.Name
	}
	return strings.HasSuffix(name, p.Name)
}

func normalName(n string) string {
	return strings.ToLower(strings.TrimSuffix(n, "."))
}

// CheckRecipientPattern validates a Recipient Access Table entry: a
// domain (example.com), a partial domain (.example.com), a user name
// (postmaster@), a full address (joe@example.com, joe@[192.0.2.1]), or
// ALL.
func CheckRecipientPattern(a string) string {
	const msg = "A Recipient Access Table address can be one of the following: a domain (example.com), a partial domain (.example.com), a user name (postmaster@), a full address (joe@example.com or joe@[192.0.2.1]) or ALL."
	if a == "ALL" {
		return ""
	}
	local, domain, hasAt := strings.Cut(a, "@")
	if !hasAt {
		if CheckDomain(a) != "" {
			return msg
		}
		return ""
	}
	if strings.ContainsAny(local, " <>[]@,\"\\") || strings.ContainsAny(domain, "@") {
		return msg
	}
	switch {
	case domain == "":
		if local == "" {
			return msg
		}
		return ""
	case strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]"):
		if _, err := netip.ParseAddr(domain[1 : len(domain)-1]); err != nil {
			return msg
		}
	case CheckDomain(domain) != "" || strings.HasPrefix(domain, "."):
		return msg
	}
	if local == "" {
		return msg
	}
	return ""
}
