package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DNS is dnsconfig: where the appliance sends its DNS questions (MX, A and
// AAAA, PTR for sender groups, TLSA for DANE, and every other name it
// resolves), from which interface, how long it waits for reverse lookups
// and the minimum time an answer stays cached.
type DNS struct {
	// Mode is DNSRoot (Internet root servers) or DNSLocal (own servers);
	// "" is DNSRoot (configurations stored before dnsconfig existed).
	Mode string `json:"mode,omitempty"`
	// Servers are the local DNS cache servers (Mode DNSLocal).
	Servers []DNSServer `json:"servers"`
	// Alternates answer for their domain (and its subdomains) in both
	// modes.
	Alternates []DNSAlternate `json:"alternates"`
	// Interface sends the DNS traffic: "Auto" (or "") lets the system
	// choose the source address, else the name of an IP interface.
	Interface string `json:"interface,omitempty"`
	// ReverseTimeout is the wait for a reverse lookup of a connecting
	// host, in seconds (1-300); 0 is DefaultReverseTimeout.
	ReverseTimeout int `json:"reverse_timeout,omitempty"`
	// MinTTL is the minimum time in seconds an answer stays cached, even
	// when its TTL is shorter.
	MinTTL int `json:"min_ttl"`
}

// DNSServer is a local DNS cache server. Address is an IP address, with a
// port when it is not 53 (192.0.2.1:5353, [2001:db8::1]:5353).
type DNSServer struct {
	Address  string `json:"address" cfg:"key"`
	Priority int    `json:"priority"` // 0 (highest) to MaxDNSPriority
}

// DNSAlternate is an alternate domain server: the server asked for names
// in Domain. Hostname, the server's name, is asked in root mode only and
// names the server in logs and errors.
type DNSAlternate struct {
	Domain   string `json:"domain" cfg:"key"`
	Hostname string `json:"hostname,omitempty"`
	Address  string `json:"address"`
}

// DNS modes.
const (
	DNSRoot  = "root"
	DNSLocal = "local"
)

// DNS limits and defaults (reference asyncos-cli-2 §2.4; the defaults are
// not known from AsyncOS: see commands/dnsconfig).
const (
	MaxDNSPriority        = 10000
	MaxReverseTimeout     = 300
	DefaultReverseTimeout = 20
	DefaultMinTTL         = 1800
	MaxMinTTL             = 86400
	MaxDNSServers         = 32
)

// Local reports the own-servers mode.
func (d DNS) Local() bool { return d.Mode == DNSLocal }

// ReverseWait is the reverse lookup timeout in seconds.
func (d DNS) ReverseWait() int {
	if d.ReverseTimeout == 0 {
		return DefaultReverseTimeout
	}
	return d.ReverseTimeout
}

// ParseDNSAddress reads a DNS server address: an IP address, optionally
// with a port (IPv6 in brackets then). It returns the canonical form, the
// address and port (53 when absent), or the message naming what is
// accepted.
func ParseDNSAddress(s string) (string, netip.AddrPort, string) {
	s = strings.TrimSpace(s)
	bad := func() (string, netip.AddrPort, string) {
		return "", netip.AddrPort{}, fmt.Sprintf("The value must be an IP address, optionally followed by :port (192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:5353), not %q.", s)
	}
	var ap netip.AddrPort
	if a, err := netip.ParseAddr(s); err == nil {
		ap = netip.AddrPortFrom(a, 53)
	} else if p, err := netip.ParseAddrPort(s); err == nil {
		ap = p
	} else {
		return bad()
	}
	a := ap.Addr()
	if a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() || ap.Port() == 0 {
		return bad()
	}
	if a.Is4() && strings.HasPrefix(s, "0") {
		return bad() // AsyncOS: an address cannot start with 0
	}
	a = a.Unmap()
	if a == limitedBroadcast {
		return bad() // no DNS server answers there: dig timed out, mail waited
	}
	ap = netip.AddrPortFrom(a, ap.Port())
	if ap.Port() == 53 {
		return a.String(), ap, ""
	}
	return ap.String(), ap, ""
}

// limitedBroadcast is 255.255.255.255 (RFC 919), never a DNS server.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// DNSAddrPort is the address and port of a valid server address.
func DNSAddrPort(s string) netip.AddrPort {
	_, ap, _ := ParseDNSAddress(s)
	return ap
}

// CheckDNSDomain checks an alternate server's domain: a host name, without
// a trailing dot.
func CheckDNSDomain(d string) string {
	if r := CheckHostname(strings.TrimSuffix(d, ".")); r != "" {
		return fmt.Sprintf("The value must be a domain name (example.com), not %q.", d)
	}
	return ""
}

// dns checks dnsconfig's settings (called from ValidateChange).
func (c *checker) dns(cfg *Config, ifaces map[string]Interface) {
	d := cfg.DNS
	switch d.Mode {
	case "", DNSRoot, DNSLocal:
	default:
		c.errf("dns.mode", "The value must be %s or %s, not %q.", DNSRoot, DNSLocal, d.Mode)
	}
	if d.Local() && len(d.Servers) == 0 {
		c.errf("dns.servers", "Own DNS servers are configured but the list is empty: add a server (dnsconfig > NEW) or use the Internet root servers (dnsconfig > SETUP).")
	}
	if !d.Local() && len(d.Servers) > 0 {
		c.errf("dns.servers", "Local DNS cache servers are set but the Internet root servers are used: they would be ignored; delete them or use your own DNS servers (dnsconfig > SETUP).")
	}
	if len(d.Servers)+len(d.Alternates) > MaxDNSServers {
		c.errf("dns", "There is a maximum of %d DNS servers.", MaxDNSServers)
	}
	seen := map[string]bool{}
	for _, s := range d.Servers {
		p := itemPath("dns.servers", s.Address)
		canon, _, msg := ParseDNSAddress(s.Address)
		if msg != "" {
			c.errf(p, "%s", msg)
		} else if seen[canon] {
			c.errf(p, "The server %s is already configured with priority %d.", canon, s.Priority)
		}
		seen[canon] = true
		if s.Priority < 0 || s.Priority > MaxDNSPriority {
			c.errf(p+".priority", "The value must be an integer from 0 to %d, not %d.", MaxDNSPriority, s.Priority)
		}
	}
	domains := map[string]bool{}
	for _, a := range d.Alternates {
		p := itemPath("dns.alternates", a.Domain)
		if msg := CheckDNSDomain(a.Domain); msg != "" {
			c.errf(p, "%s", msg)
		}
		k := strings.ToLower(strings.TrimSuffix(a.Domain, "."))
		if domains[k] {
			c.errf(p, "A server already appears to be configured for domain %s.", a.Domain)
		}
		domains[k] = true
		if _, _, msg := ParseDNSAddress(a.Address); msg != "" {
			c.errf(p+".address", "%s", msg)
		}
		if a.Hostname != "" && CheckHostname(a.Hostname) != "" {
			c.errf(p+".hostname", "The value must be a fully qualified host name, not %q.", a.Hostname)
		}
	}
	if in, ok := ifaces[d.Interface]; d.Interface != "" && d.Interface != "Auto" {
		if !ok {
			c.errf("dns.interface", "interface %q does not exist", d.Interface)
		} else if _, err := netip.ParseAddr(in.IPv4); err != nil {
			c.errf("dns.interface", "interface %s has no IPv4 address to send DNS queries from", d.Interface)
		}
	}
	if d.ReverseTimeout < 0 || d.ReverseTimeout > MaxReverseTimeout {
		c.errf("dns.reverse_timeout", "The value must be an integer from 1 to %d, not %d.", MaxReverseTimeout, d.ReverseTimeout)
	}
	if d.MinTTL < 0 || d.MinTTL > MaxMinTTL {
		c.errf("dns.min_ttl", "The value must be an integer from 0 to %d, not %d.", MaxMinTTL, d.MinTTL)
	}
}

// legacyResolver maps the <delivery><resolver>host:port</resolver> setting
// of files saved before dnsconfig existed onto dnsconfig: one own DNS
// server, priority 0.
func legacyResolver(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	canon, _, msg := ParseDNSAddress(v)
	if msg != "" {
		return fmt.Errorf("delivery.resolver (now dns.servers): %s", msg)
	}
	if c.DNS.Mode != "" && c.DNS.Mode != DNSLocal || len(c.DNS.Servers) > 0 {
		return fmt.Errorf("delivery.resolver and dns.servers both set: keep one (dns.servers)")
	}
	c.DNS.Mode = DNSLocal
	c.DNS.Servers = []DNSServer{{Address: canon}}
	return nil
}

// DNSServerLabel names an own server in lists: its address and priority.
func DNSServerLabel(s DNSServer) string {
	return s.Address + " (priority " + strconv.Itoa(s.Priority) + ")"
}
