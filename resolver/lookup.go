package resolver

import (
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// The look-ups the appliance makes. LookupHost and LookupAddr have the
// shape of net.Resolver's, so the MTA's reverse-DNS code takes either;
// the others also report whether DNSSEC authenticated the answer.

// LookupMX returns the mail exchangers of domain by preference and
// whether the answer was authenticated. No MX records is a *net.DNSError
// with IsNotFound.
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]*net.MX, bool, error) {
	ans, err := r.query(ctx, domain, dns.TypeMX)
	if err != nil {
		return nil, false, err
	}
	if ans.notFound {
		return nil, ans.secure, notFound(domain, ans)
	}
	var out []*net.MX
	for _, rr := range ans.rrs {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, ans.secure, nil
}

// LookupIP returns host's IPv4 and IPv6 addresses and whether both
// answers were authenticated (a signed zone also authenticates the absence
// of one family). Either family failing (a timeout, SERVFAIL: how a
// validating resolver reports a bogus answer) fails the look-up, even if
// the other answered: RFC 7672 §2.2 treats a failed look-up as a temporary
// failure, not as an insecure answer, or an attacker forging one family
// would strip DANE. Only NXDOMAIN or no records of a family count as
// "none of that family".
func (r *Resolver) LookupIP(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	if ips, ok := literal(host); ok {
		return ips, false, nil
	}
	var out []netip.Addr
	secure := true
	found := false
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		ans, err := r.query(ctx, host, qt)
		if err != nil {
			return nil, false, err
		}
		secure = secure && ans.secure
		if ans.notFound {
			continue
		}
		found = true
		for _, rr := range ans.rrs {
			switch v := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(v.A.To4()); ok {
					out = append(out, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(v.AAAA.To16()); ok {
					out = append(out, a)
				}
			}
		}
	}
	if !found {
		return nil, secure, &net.DNSError{Err: "no such host", Name: strings.TrimSuffix(host, "."), IsNotFound: true}
	}
	return out, secure, nil
}

// literal answers an IP literal and the localhost names without a
// question.
func literal(host string) ([]netip.Addr, bool) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return []netip.Addr{a}, true
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, true
	}
	return nil, false
}

// LookupHost returns host's addresses as strings (net.Resolver's shape).
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	ips, _, err := r.LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out, nil
}

// LookupAddr returns the reverse names of addr (PTR records).
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	arpa, err := dns.ReverseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	ans, err := r.query(ctx, arpa, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	if ans.notFound {
		return nil, notFound(addr, ans)
	}
	var out []string
	for _, rr := range ans.rrs {
		out = append(out, rr.(*dns.PTR).Ptr)
	}
	return out, nil
}

// TLSA is one TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte // the certificate association data
}

// LookupTLSA returns the TLSA records of a TCP service (_25._tcp.host)
// and whether the answer was authenticated; none is not an error.
func (r *Resolver) LookupTLSA(ctx context.Context, host string, port int) ([]TLSA, bool, error) {
	name := "_" + strconv.Itoa(port) + "._tcp." + strings.TrimSuffix(host, ".")
	ans, err := r.query(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, false, err
	}
	var out []TLSA
	for _, rr := range ans.rrs {
		t := rr.(*dns.TLSA)
		data, err := hexBytes(t.Certificate)
		if err != nil {
			continue // unusable record (RFC 7672 §2.2: ignored)
		}
		out = append(out, TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, ans.secure, nil
}

func hexBytes(s string) ([]byte, error) {
	return hex.DecodeString(s)
}
