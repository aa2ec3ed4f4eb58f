package interfaceconfig

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// service is one question pair of the dialog: "enable X?" and its port.
type service struct {
	name string
	def  int // the AsyncOS default port
	get  func(*config.Interface) *config.Service
}

// services in the order AsyncOS asks for them.
var services = []service{
	{"FTP", 21, func(in *config.Interface) *config.Service { return &in.FTP }},
	{"Telnet", 23, func(in *config.Interface) *config.Service { return &in.Telnet }},
	{"SSH", 22, func(in *config.Interface) *config.Service { return &in.SSH }},
	{"Cluster Communication Service", 2222, func(in *config.Interface) *config.Service { return &in.Cluster }},
	{"HTTP", 80, func(in *config.Interface) *config.Service { return &in.HTTP }},
	{"HTTPS", 443, func(in *config.Interface) *config.Service { return &in.HTTPS }},
	{"Spam Quarantine HTTP", 82, func(in *config.Interface) *config.Service { return &in.SpamQuarantineHTTP }},
	{"Spam Quarantine HTTPS", 83, func(in *config.Interface) *config.Service { return &in.SpamQuarantineHTTPS }},
	{"AsyncOS API HTTP", 6080, func(in *config.Interface) *config.Service { return &in.APIHTTP }},
	{"AsyncOS API HTTPS", 6443, func(in *config.Interface) *config.Service { return &in.APIHTTPS }},
}

// dialog asks every question of NEW (isNew) or EDIT, starting from cur,
// and returns the interface to stage. Each phase of the dialog is a
// function of its own, called in AsyncOS's order.
func (c Command) dialog(s *shell.Session, cur config.Interface, isNew bool) (config.Interface, error) {
	cfg := s.Draft.Config()
	oldName := cur.Name
	others := slices.DeleteFunc(slices.Clone(cfg.Interfaces), func(x config.Interface) bool { return x.Name == oldName && !isNew })
	in := cur
	var err error

	if in.Name, err = askName(s, cur, isNew, others); err != nil {
		return in, err
	}
	if err := c.askIPv4(s, &in, cur, others); err != nil {
		return in, err
	}
	if err := c.askIPv6(s, &in, cur, others); err != nil {
		return in, err
	}
	if err := askEthernet(s, &in, cur, isNew, others); err != nil {
		return in, err
	}
	if in.Hostname, err = s.Ask("Hostname:", cur.Hostname, config.CheckHostname); err != nil {
		return in, err
	}
	if err := c.services(s, &in, cur, oldName, isNew); err != nil {
		return in, err
	}
	if err := askSecureWeb(s, &in, cur, cfg, isNew); err != nil {
		return in, err
	}
	if err := askQuarantine(s, &in, cur); err != nil {
		return in, err
	}
	err = askSMTPHelo(s, &in, cur)
	return in, err
}

// askName asks the interface's name, which no other interface may have.
func askName(s *shell.Session, cur config.Interface, isNew bool, others []config.Interface) (string, error) {
	checkName := func(a string) string {
		if r := config.CheckName(a); r != "" {
			return r
		}
		for _, o := range others {
			if o.Name == a {
				return fmt.Sprintf("The name %q is already used by another interface.", a)
			}
		}
		return ""
	}
	if isNew {
		return s.Ask(`Please enter a name for this IP interface (Ex: "InternalNet"):`, "", checkName)
	}
	return s.Ask(`IP interface name (Ex: "InternalNet"):`, cur.Name, checkName)
}

// askIPv4 asks the IPv4 address and its netmask. esash needs one on every
// interface, so "no" to the first question is refused.
func (c Command) askIPv4(s *shell.Session, in *config.Interface, cur config.Interface, others []config.Interface) error {
	for {
		v4, err := s.YesNo("Would you like to configure an IPv4 address for this interface (y/n)?", true)
		if err != nil {
			return err
		}
		if v4 {
			break
		}
		if err := s.Reject("You must configure an IPv4 address: esash listens and delivers over IPv4 on every interface."); err != nil {
			return err
		}
	}
	var err error
	in.IPv4, err = s.Ask("IPv4 Address (Ex: 192.168.1.2 ):", cur.IPv4, func(a string) string {
		return c.checkAddr(a, cur.IPv4, true, others)
	})
	if err != nil {
		return err
	}
	mask := "24"
	if cur.IPv4 != "" {
		mask = strconv.Itoa(cur.PrefixLen)
	}
	mask, err = s.Ask(`Netmask (Ex: "24", "255.255.255.0" or "0xffffff00"):`, mask, func(a string) string {
		if _, ok := parseNetmask(a); !ok {
			return `The value must be a netmask: a prefix length ("24"), a dotted mask ("255.255.255.0") or a hexadecimal mask ("0xffffff00").`
		}
		return ""
	})
	if err != nil {
		return err
	}
	in.PrefixLen, _ = parseNetmask(mask)
	return nil
}

// askIPv6 asks whether the interface has an IPv6 address and, if so, the
// address and its prefix length; "no" clears both.
func (c Command) askIPv6(s *shell.Session, in *config.Interface, cur config.Interface, others []config.Interface) error {
	v6, err := s.YesNo("Would you like to configure an IPv6 address for this interface (y/n)?", cur.IPv6 != "")
	if err != nil {
		return err
	}
	in.IPv6, in.IPv6Prefix = "", 0
	if !v6 {
		return nil
	}
	if in.IPv6, err = s.Ask("IPv6 Address (Ex: 2001:420:80:1::5):", cur.IPv6, func(a string) string {
		return c.checkAddr(a, cur.IPv6, false, others)
	}); err != nil {
		return err
	}
	plen := 64
	if cur.IPv6Prefix != 0 {
		plen = cur.IPv6Prefix
	}
	in.IPv6Prefix, err = s.AskInt("Prefix length (Ex: 64):", plen, 1, 128)
	return err
}

// askEthernet asks the Ethernet port, until one whose subnets do not clash
// with another port's: it comes after the addresses because the clash
// depends on them.
func askEthernet(s *shell.Session, in *config.Interface, cur config.Interface, isNew bool, others []config.Interface) error {
	for {
		def := slices.Index(config.EthernetPorts, ethernet(cur)) + 1
		if isNew {
			def = 1
		}
		k, err := s.Choose("Ethernet interface:", config.EthernetPorts, def, true)
		if err != nil {
			return err
		}
		in.Ethernet = config.EthernetPorts[k]
		if !isNew && in.Ethernet == ethernet(cur) {
			// The port kept: unchanged as stored (empty is the
			// Management port), so showchanges lists no change.
			in.Ethernet = cur.Ethernet
		}
		msg := subnetClash(*in, others)
		if msg == "" {
			return nil
		}
		if err := s.Reject(msg); err != nil {
			return err
		}
	}
}

// askSecureWeb asks, after the services, what depends on which of them are
// enabled: the certificate of the HTTPS services and whether each HTTP
// service redirects to its secure twin. Questions that do not apply clear
// their setting.
func askSecureWeb(s *shell.Session, in *config.Interface, cur config.Interface, cfg *config.Config, isNew bool) error {
	var err error
	if in.HTTPS.Enabled || in.SpamQuarantineHTTPS.Enabled || in.APIHTTPS.Enabled {
		if in.HTTPSCert, err = chooseCertificate(s, cfg, cur.HTTPSCert); err != nil {
			return err
		}
	} else {
		in.HTTPSCert = ""
	}
	in.RedirectHTTP = false
	if in.HTTP.Enabled && in.HTTPS.Enabled {
		if in.RedirectHTTP, err = s.YesNo("For this interface, should HTTP requests redirect to the secure service?", cur.RedirectHTTP || isNew); err != nil {
			return err
		}
	}
	in.RedirectQuarantine = false
	if in.SpamQuarantineHTTP.Enabled && in.SpamQuarantineHTTPS.Enabled {
		if in.RedirectQuarantine, err = s.YesNo("For this interface, should Spam Quarantine HTTP requests redirect to the secure service?", cur.RedirectQuarantine || isNew); err != nil {
			return err
		}
	}
	return nil
}

// askQuarantine asks, when a Spam Quarantine service is enabled, whether
// this is the default quarantine interface and its notifications' base
// URL; otherwise both are cleared.
func askQuarantine(s *shell.Session, in *config.Interface, cur config.Interface) error {
	in.QuarantineDefault, in.QuarantineURL = false, ""
	if !in.SpamQuarantineHTTP.Enabled && !in.SpamQuarantineHTTPS.Enabled {
		return nil
	}
	var err error
	if in.QuarantineDefault, err = s.YesNo("Do you want this interface to be the default interface for your Spam Quarantine?", cur.QuarantineDefault); err != nil {
		return err
	}
	if !in.QuarantineDefault {
		return nil
	}
	custom, err := s.YesNo("Do you want to use a custom base URL in your Spam Quarantine email notifications?", cur.QuarantineURL != "")
	if err != nil || !custom {
		return err
	}
	in.QuarantineURL, err = s.Ask(`Enter the custom base URL (Ex: "https://quarantine.example.com:83/"):`, cur.QuarantineURL, config.CheckBaseURL)
	return err
}

// askSMTPHelo asks for a custom SMTP HELO name, the last question: AsyncOS
// words it differently when the interface already has one, which may then
// be deleted.
func askSMTPHelo(s *shell.Session, in *config.Interface, cur config.Interface) error {
	if cur.SMTPHelo == "" {
		custom, err := s.YesNo("Do you want to configure custom SMTP Helo for this interface?", false)
		if err != nil || !custom {
			return err
		}
		in.SMTPHelo, err = s.Ask("Enter the hostname to use in SMTP Helo:", in.Hostname, config.CheckHostname)
		return err
	}
	change, err := s.YesNo(fmt.Sprintf("Do you want to change SMTP Helo for this interface (currently %s)?", cur.SMTPHelo), false)
	if err != nil || !change {
		return err
	}
	helo, err := s.Ask(`Enter the hostname to use in SMTP Helo, or "DELETE" to use the interface hostname:`, cur.SMTPHelo, func(a string) string {
		if a == "DELETE" {
			return ""
		}
		return config.CheckHostname(a)
	})
	if helo == "DELETE" {
		helo = ""
	}
	in.SMTPHelo = helo
	return err
}

// services asks "enable X?" and "which port?" for each service in turn.
// A port may serve one service or listener of the interface.
func (c Command) services(s *shell.Session, in *config.Interface, cur config.Interface, oldName string, isNew bool) error {
	cfg := s.Draft.Config()
	for _, sv := range services {
		was := *sv.get(&cur)
		on, err := s.YesNo(fmt.Sprintf("Do you want to enable %s on this interface?", sv.name), was.Enabled)
		if err != nil {
			return err
		}
		p := sv.get(in)
		p.Enabled = on
		if !on {
			continue
		}
		def := was.Port
		if def == 0 {
			def = sv.def
		}
		port, err := s.Ask(fmt.Sprintf("Which port do you want to use for %s?", sv.name), strconv.Itoa(def), func(a string) string {
			n, err := strconv.Atoi(a)
			if err != nil || n < 1 || n > 65535 {
				return "The value must be a port number from 1 to 65535."
			}
			for _, o := range services {
				if o.name != sv.name && o.get(in).Enabled && o.get(in).Port == n {
					return fmt.Sprintf("Port %d is currently assigned to %s.", n, o.name)
				}
			}
			for _, l := range cfg.Listeners {
				if !isNew && l.Interface == oldName && l.Port == n {
					return fmt.Sprintf("Port %d is currently assigned to listener %s.", n, l.Name)
				}
			}
			return ""
		})
		if err != nil {
			return err
		}
		p.Port, _ = strconv.Atoi(port)
	}
	return nil
}

// chooseCertificate asks for the certificate the service uses.
func chooseCertificate(s *shell.Session, cfg *config.Config, cur string) (string, error) {
	return s.ChooseCertificate(cfg, cur, "HTTPS", "There are no certificates: add one with certconfig before enabling HTTPS.")
}

// checkAddr validates an interface address: its family, not 0.x, not on
// another interface, present on this machine (unless it is the address
// the interface already has).
func (c Command) checkAddr(a, was string, v4 bool, others []config.Interface) string {
	ip, err := netip.ParseAddr(a)
	switch {
	case v4 && (err != nil || !ip.Is4()):
		return "The IP address must be 4 numbers separated by a period (for example 192.168.1.2)."
	case !v4 && (err != nil || !ip.Is6() || ip.Is4In6()):
		return "The value must be an IPv6 address (for example 2001:420:80:1::5)."
	case v4 && ip.As4()[0] == 0:
		return "The IP cannot start with 0."
	case ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Sprintf("The IP address %q cannot be an interface address.", a)
	}
	for _, o := range others {
		for _, oa := range []string{o.IPv4, o.IPv6} {
			if x, err := netip.ParseAddr(oa); err == nil && x == ip {
				return fmt.Sprintf("The IP address %q is already configured on interface %s.", ip, o.Name)
			}
		}
	}
	if a == was {
		return ""
	}
	return c.onMachine(ip)
}

// subnetClash refuses an address on a subnet another Ethernet port has
// (loopback addresses all live on lo and are exempt).
func subnetClash(in config.Interface, others []config.Interface) string {
	nets := func(x config.Interface) []netip.Prefix {
		var out []netip.Prefix
		if a, err := netip.ParseAddr(x.IPv4); err == nil && !a.IsLoopback() {
			out = append(out, netip.PrefixFrom(a, x.PrefixLen).Masked())
		}
		if a, err := netip.ParseAddr(x.IPv6); err == nil && !a.IsLoopback() && x.IPv6Prefix > 0 {
			out = append(out, netip.PrefixFrom(a, x.IPv6Prefix).Masked())
		}
		return out
	}
	mine := nets(in)
	for _, o := range others {
		if ethernet(o) == ethernet(in) {
			continue
		}
		for _, a := range mine {
			for _, b := range nets(o) {
				if a.Overlaps(b) {
					return fmt.Sprintf("IPs on the same subnet cannot be on different interfaces: %s is on %s (%s).", b, o.Name, ethernet(o))
				}
			}
		}
	}
	return ""
}

// parseNetmask reads "24", "255.255.255.0" or "0xffffff00" as a prefix
// length; the mask must be contiguous.
func parseNetmask(a string) (int, bool) {
	var m uint32
	switch {
	case strings.HasPrefix(strings.ToLower(a), "0x"):
		v, err := strconv.ParseUint(a[2:], 16, 32)
		if err != nil || len(a) != 10 {
			return 0, false
		}
		m = uint32(v)
	case strings.Contains(a, "."):
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Is4() {
			return 0, false
		}
		b := ip.As4()
		m = binary.BigEndian.Uint32(b[:])
	default:
		n, err := strconv.Atoi(a)
		if err != nil || n < 1 || n > 32 {
			return 0, false
		}
		return n, true
	}
	n := 0
	for n < 32 && m&(1<<(31-n)) != 0 {
		n++
	}
	if n == 0 || m<<n != 0 {
		return 0, false
	}
	return n, true
}
