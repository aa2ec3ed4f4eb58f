package mta

import (
	"fmt"
	"net"
	"net/netip"

	"esash/config"
	"esash/mta/queue"
)

// The interface a delivery connection leaves from. AsyncOS sends from an
// appliance interface, never from an address the operating system picks:
// the receiving MTA sees that interface's address and its host name in
// EHLO, which the seed guide's advice rests on (the MX name, the
// certificate's CN and the interface's host name agree). deliveryconfig
// names the interface, or Auto (config.SourceInterface: the interface
// whose network holds the next hop, else the one the host's routing table
// sends from towards it, else Management). The connection is bound to the
// chosen address; EHLO says the interface's SMTP HELO name, else its host
// name. Alerts leave from alertconfig's interface the same way.

// outIface is the interface chosen for one connection.
type outIface struct {
	name  string
	local *net.TCPAddr // the source address, port 0
	helo  string       // the name said in EHLO
}

// ip is the source address as mail_logs prints it.
func (o outIface) ip() string { return o.local.IP.String() }

// deliveryIface picks the interface to reach dest (an IP address) from,
// under the interface setting (an interface name or Auto).
func deliveryIface(cfg *config.Config, setting, dest string) (outIface, error) {
	to, err := netip.ParseAddr(dest)
	if err != nil {
		return outIface{}, fmt.Errorf("next hop %q is not an IP address", dest)
	}
	in, a, err := cfg.SourceInterface(setting, to, routedSource)
	if err != nil {
		return outIface{}, err
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

// ifaceSetting is the interface setting m leaves under: alertconfig's
// for the alerts the appliance writes (kept in the queue entry's
// Interface, which is empty for other internal mail), deliveryconfig's
// for everything else, and for an alert whose interface was deleted
// since it was queued.
func ifaceSetting(cfg *config.Config, m queue.Meta) string {
	if m.Listener != config.InternalListener || m.Interface == "" {
		return cfg.Delivery.Interface
	}
	if m.Interface == config.DeliveryAuto {
		return m.Interface
	}
	for _, in := range cfg.Interfaces {
		if in.Name == m.Interface {
			return m.Interface
		}
	}
	return cfg.Delivery.Interface
}

// routedSource is the source address the host's routing table uses
// towards to: a UDP "connect" chooses it and sends nothing.
func routedSource(to netip.Addr) (netip.Addr, bool) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 25)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), true
}
