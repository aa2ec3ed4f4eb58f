package mta

import (
	"errors"
	"net/netip"
	"testing"
)

// Which addresses a remote domain's policy host or report URL may
// resolve to (fetchguard.go).
func TestCheckPublic(t *testing.T) {
	for _, tc := range []struct {
		name, ip string
		public   bool
	}{
		{"public IPv4", "93.184.216.34", true},
		{"public IPv6", "2606:2800:220:1:248:1893:25c8:1946", true},
		{"loopback", "127.0.0.1", false},
		{"loopback, another", "127.9.0.1", false},
		{"IPv6 loopback", "::1", false},
		{"RFC 1918 10/8", "10.1.2.3", false},
		{"RFC 1918 172.16/12", "172.31.255.1", false},
		{"just past 172.16/12", "172.32.0.1", true},
		{"RFC 1918 192.168/16", "192.168.1.1", false},
		{"cloud metadata (link-local)", "169.254.169.254", false},
		{"IPv6 link-local", "fe80::1", false},
		{"IPv6 unique local", "fd00::1", false},
		{"IPv4-mapped private", "::ffff:10.0.0.1", false},
		{"IPv4-mapped public", "::ffff:93.184.216.34", true},
		{"NAT64 of a private address", "64:ff9b::a00:1", false},
		{"NAT64 of a public address", "64:ff9b::5db8:d822", true},
		{"unspecified", "0.0.0.0", false},
		{"this network", "0.1.2.3", false},
		{"carrier-grade NAT", "100.64.0.1", false},
		{"benchmarking", "198.18.0.1", false},
		{"multicast", "224.0.0.1", false},
		{"broadcast", "255.255.255.255", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPublic("mta-sts.example.net", netip.MustParseAddr(tc.ip))
			if got := err == nil; got != tc.public {
				t.Fatalf("checkPublic(%s) = %v, want public %v", tc.ip, err, tc.public)
			}
			if err != nil && !errors.Is(err, errNotPublic) {
				t.Fatalf("error %v is not errNotPublic", err)
			}
		})
	}
}
