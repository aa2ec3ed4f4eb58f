package mta

import (
	"errors"
	"fmt"
	"net/netip"
)

// The HTTPS requests the MTA makes on a remote domain's word, MTA-STS
// policy fetches and TLS-RPT reports (stsSource.dial), go to a host that
// domain names, at the address its DNS gives. A hostile domain can point
// that host at the appliance's own side: a loopback service, an RFC 1918
// host, the cloud metadata address 169.254.169.254. The appliance would
// then connect there from inside (a request forgery; certificate
// verification stops the request, not the connection, and not what its
// timing tells). So those requests go to public unicast addresses only.
// A policy that cannot be fetched is no policy (RFC 8461 3.3, as for any
// failed fetch); a report that cannot be posted is not sent; both are
// logged with the address. Tests and labs whose policy servers run on
// loopback set MTASTSOptions.AllowPrivate.
//
// CRL downloads are not guarded: their URLs are the administrator's.

// errNotPublic refuses an address that is not public unicast.
var errNotPublic = errors.New("not a public address")

// nonPublic are the IPv4 ranges beyond netip's own predicates that no
// public server uses (RFC 6890): "this network", shared address space
// (carrier-grade NAT), IETF protocol assignments, benchmarking, reserved
// and broadcast.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its addresses carry
// an IPv4 address in their last 32 bits, which is what they reach.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// checkPublic returns an error naming host and ip unless ip is a public
// unicast address.
func checkPublic(host string, ip netip.Addr) error {
	a := ip.Unmap()        // ::ffff:10.0.0.1 is 10.0.0.1
	if nat64.Contains(a) { // 64:ff9b::a00:1 is 10.0.0.1 behind a NAT64 gateway
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	bad := !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() ||
		a.IsMulticast() || a.IsInterfaceLocalMulticast() || a.IsLinkLocalMulticast()
	for _, p := range nonPublic {
		bad = bad || p.Contains(a)
	}
	if bad {
		return fmt.Errorf("%s resolves to %s: %w", host, ip, errNotPublic)
	}
	return nil
}
