package mta

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"esash/config"
)

// The interface a delivery connection leaves from. AsyncOS sends from an
// appliance interface, never from an address the operating system picks:
// the receiving MTA sees that interface's address and its host name in
// EHLO, which the seed guide's advice rests on (the MX name, the
// certificate's CN and the interface's host name agree). deliveryconfig
// names the interface, or Auto: the interface whose network holds the next
// hop (the longest such prefix), else the interface the host's routing
// table sends from towards it, else the Management interface. The
// connection is bound to the chosen address; a family the interface lacks
// (an IPv6 next hop, an IPv4-only interface) is a connection error, not a
// silent fallback to another source address.

// outIface is the interface chosen for one connection.
type outIface struct {
	name  string
	local *net.TCPAddr // the source address, port 0
	helo  string       // the name said in EHLO
}

// ip is the source address as mail_logs prints it.
func (o outIface) ip() string { return o.local.IP.String() }

// deliveryIface picks the interface to reach dest (an IP address) from,
// under deliveryconfig's setting.
func deliveryIface(cfg *config.Config, dest string) (outIface, error) {
	to, err := netip.ParseAddr(dest)
	if err != nil {
		return outIface{}, fmt.Errorf("next hop %q is not an IP address", dest)
	}
	to = to.Unmap()
	name := cfg.Delivery.Interface
	if name != "" && name != config.DeliveryAuto {
		for _, in := range cfg.Interfaces {
			if in.Name == name {
				return ifaceFor(cfg, in, to)
			}
		}
		return outIface{}, fmt.Errorf("delivery interface %s does not exist", name)
	}
	cands := make([]config.Interface, 0, len(cfg.Interfaces))
	for _, in := range cfg.Interfaces {
		if _, ok := ifaceAddr(in, to); ok {
			cands = append(cands, in)
		}
	}
	if len(cands) == 0 {
		return outIface{}, fmt.Errorf("no interface has an %s address", family(to))
	}
	best, bestBits := -1, -1
	for i, in := range cands {
		if p, ok := ifacePrefix(in, to); ok && p.Contains(to) && p.Bits() > bestBits {
			best, bestBits = i, p.Bits()
		}
	}
	if best < 0 {
		best = routedIface(cands, to)
	}
	if best < 0 {
		best = managementIface(cands)
	}
	return ifaceFor(cfg, cands[best], to)
}

// ifaceFor is in's address of to's family and its EHLO name.
func ifaceFor(cfg *config.Config, in config.Interface, to netip.Addr) (outIface, error) {
	a, ok := ifaceAddr(in, to)
	if !ok {
		return outIface{}, fmt.Errorf("interface %s has no %s address", in.Name, family(to))
	}
	helo := in.SMTPHelo
	if helo == "" {
		helo = in.Hostname
	}
	if helo == "" {
		helo = cfg.Hostname
	}
	if helo == "" {
		helo = "localhost"
	}
	return outIface{name: in.Name, local: &net.TCPAddr{IP: a.AsSlice()}, helo: helo}, nil
}

// ifaceAddr is in's address of to's family.
func ifaceAddr(in config.Interface, to netip.Addr) (netip.Addr, bool) {
	s := in.IPv4
	if to.Is6() {
		s = in.IPv6
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != to.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// ifacePrefix is in's network of to's family.
func ifacePrefix(in config.Interface, to netip.Addr) (netip.Prefix, bool) {
	a, ok := ifaceAddr(in, to)
	if !ok {
		return netip.Prefix{}, false
	}
	bits := in.PrefixLen
	if to.Is6() {
		bits = in.IPv6Prefix
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// routedIface is the candidate holding the source address the host's
// routing table chooses towards to (a UDP "connect" sends nothing), or -1.
func routedIface(cands []config.Interface, to netip.Addr) int {
	c, err := net.Dial("udp", net.JoinHostPort(to.String(), strconv.Itoa(25)))
	if err != nil {
		return -1
	}
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	c.Close()
	for i, in := range cands {
		if a, ok := ifaceAddr(in, to); ok && a == src {
			return i
		}
	}
	return -1
}

// managementIface is the Management interface among cands (by name, else
// by port), else the first.
func managementIface(cands []config.Interface) int {
	for i, in := range cands {
		if in.Name == "Management" {
			return i
		}
	}
	for i, in := range cands {
		if in.Ethernet == "" || in.Ethernet == "Management" {
			return i
		}
	}
	return 0
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}
