package config

import (
	"fmt"
	"net/netip"
)

// SourceInterface picks the appliance interface a connection to dest
// leaves from, for a service whose interface setting is name (an interface
// name, or "Auto"/"" for the choice made per connection): deliveryconfig,
// ldapconfig. AsyncOS never lets the operating system pick the source
// address: Auto is the interface whose network holds dest (the longest
// such prefix), else the one holding the source address the host's
// routing table uses towards dest (routed, when given, answers that), else
// the Management interface. It returns the interface and its address of
// dest's family; an interface without an address of that family is an
// error, never a silent fallback to another address.
func (c *Config) SourceInterface(name string, dest netip.Addr, routed func(netip.Addr) (netip.Addr, bool)) (Interface, netip.Addr, error) {
	dest = dest.Unmap()
	if name != "" && name != DeliveryAuto {
		for _, in := range c.Interfaces {
			if in.Name == name {
				a, ok := in.addrFor(dest)
				if !ok {
					return Interface{}, netip.Addr{}, fmt.Errorf("interface %s has no %s address", in.Name, family(dest))
				}
				return in, a, nil
			}
		}
		return Interface{}, netip.Addr{}, fmt.Errorf("interface %s does not exist", name)
	}
	cands := make([]Interface, 0, len(c.Interfaces))
	for _, in := range c.Interfaces {
		if _, ok := in.addrFor(dest); ok {
			cands = append(cands, in)
		}
	}
	if len(cands) == 0 {
		return Interface{}, netip.Addr{}, fmt.Errorf("no interface has an %s address", family(dest))
	}
	best, bestBits := -1, -1
	for i, in := range cands {
		if p, ok := in.prefixFor(dest); ok && p.Contains(dest) && p.Bits() > bestBits {
			best, bestBits = i, p.Bits()
		}
	}
	if best < 0 && routed != nil {
		if src, ok := routed(dest); ok {
			for i, in := range cands {
				if a, _ := in.addrFor(dest); a == src.Unmap() {
					best = i
					break
				}
			}
		}
	}
	if best < 0 {
		best = managementOf(cands)
	}
	a, _ := cands[best].addrFor(dest)
	return cands[best], a, nil
}

// addrFor is the interface's address of dest's family.
func (in Interface) addrFor(dest netip.Addr) (netip.Addr, bool) {
	s := in.IPv4
	if dest.Is6() {
		s = in.IPv6
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != dest.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// prefixFor is the interface's network of dest's family.
func (in Interface) prefixFor(dest netip.Addr) (netip.Prefix, bool) {
	a, ok := in.addrFor(dest)
	if !ok {
		return netip.Prefix{}, false
	}
	bits := in.PrefixLen
	if dest.Is6() {
		bits = in.IPv6Prefix
	}
	p, err := a.Prefix(bits)
	return p, err == nil
}

// managementOf is the Management interface among cands (by name, else by
// port), else the first.
func managementOf(cands []Interface) int {
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
