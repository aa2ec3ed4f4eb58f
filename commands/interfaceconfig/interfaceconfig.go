// Package interfaceconfig is the interfaceconfig command: the appliance's
// IP interfaces (name, IPv4 and IPv6 address, Ethernet port, the hostname
// used in banners and EHLO), the management services on each, and the
// certificate HTTPS serves.
//
// The questions follow AsyncOS 14.x in order and wording (see
// ../shared/reference/asyncos-cli.md, section 7). Services esash does not
// run (FTP, Telnet, Cluster Communication Service, Spam Quarantine, the
// AsyncOS API) are asked and stored so that scripts keep their answers in
// line; enabling them opens no port. An address must exist on this
// machine: esash binds its services and listeners to it. Loopback
// addresses (127.0.0.0/8, ::1) always do on Linux, which is what tests use.
package interfaceconfig

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is interfaceconfig.
type Command struct {
	// addrs lists the addresses configured on this machine.
	addrs func() ([]netip.Addr, error)
}

// New returns the interfaceconfig command.
func New() Command { return Command{addrs: machineAddrs} }

// Name implements shell.Command.
func (Command) Name() string { return "interfaceconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure Ethernet IP addresses" }

// Run shows the interfaces and the NEW, EDIT and DELETE operations.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "interfaceconfig", "this command has no batch form; run it without arguments")
	}
	return s.Menu(listInterfaces, []shell.MenuItem{
		{Name: "NEW", Help: "Create a new interface.", Run: c.create},
		{Name: "EDIT", Help: "Modify an interface.", Run: c.edit},
		{Name: "DELETE", Help: "Remove an interface.", Run: c.delete},
	})
}

func listInterfaces(s *shell.Session) {
	ifs := s.Draft.Config().Interfaces
	if len(ifs) == 0 {
		s.Println("There are no interfaces configured.")
		return
	}
	s.Println("Currently configured interfaces:")
	for i, in := range ifs {
		s.Printf("%d. %s\n", i+1, describe(in))
	}
}

// describe is an interface as the list shows it:
// Management (127.0.0.1/8 on Management: esa.example.com).
func describe(in config.Interface) string {
	addrs := fmt.Sprintf("%s/%d", in.IPv4, in.PrefixLen)
	if in.IPv6 != "" {
		addrs += fmt.Sprintf(", %s/%d", in.IPv6, in.IPv6Prefix)
	}
	return fmt.Sprintf("%s (%s on %s: %s)", in.Name, addrs, ethernet(in), in.Hostname)
}

func ethernet(in config.Interface) string {
	if in.Ethernet == "" {
		return "Management"
	}
	return in.Ethernet
}

func names(ifs []config.Interface) []string {
	out := make([]string, len(ifs))
	for i, in := range ifs {
		out[i] = in.Name
	}
	return out
}

func (c Command) create(s *shell.Session) error {
	in, err := c.dialog(s, config.Interface{}, true)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(cfg *config.Config) error {
		cfg.Interfaces = append(cfg.Interfaces, in)
		quarantineDefault(cfg, in)
		return nil
	})
}

func (c Command) edit(s *shell.Session) error {
	ifs := s.Draft.Config().Interfaces
	if len(ifs) == 0 {
		s.Println("There are no interfaces to edit.")
		return nil
	}
	i, err := s.Choose("Enter the name or number of the interface you wish to edit.", names(ifs), 0, true)
	if err != nil {
		return err
	}
	old := ifs[i]
	in, err := c.dialog(s, old, false)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(cfg *config.Config) error {
		j := slices.IndexFunc(cfg.Interfaces, func(x config.Interface) bool { return x.Name == old.Name })
		if j < 0 {
			return fmt.Errorf("interface %s disappeared", old.Name)
		}
		cfg.Interfaces[j] = in
		if in.Name != old.Name {
			renameReferences(cfg, old.Name, in.Name)
		}
		quarantineDefault(cfg, in)
		return nil
	})
}

// renameReferences follows an interface's new name everywhere it is named.
func renameReferences(cfg *config.Config, from, to string) {
	for i := range cfg.Listeners {
		if cfg.Listeners[i].Interface == from {
			cfg.Listeners[i].Interface = to
		}
	}
	for _, p := range []*string{&cfg.Delivery.Interface, &cfg.LDAP.Interface, &cfg.Alerts.Interface} {
		if *p == from {
			*p = to
		}
	}
}

// quarantineDefault keeps one default Spam Quarantine interface.
func quarantineDefault(cfg *config.Config, in config.Interface) {
	if !in.QuarantineDefault {
		return
	}
	for i := range cfg.Interfaces {
		if cfg.Interfaces[i].Name != in.Name {
			cfg.Interfaces[i].QuarantineDefault = false
		}
	}
}

func (c Command) delete(s *shell.Session) error {
	cfg := s.Draft.Config()
	if len(cfg.Interfaces) == 0 {
		s.Println("There are no interfaces to delete.")
		return nil
	}
	i, err := s.Choose("Enter the name or number of the interface you wish to delete.", names(cfg.Interfaces), 0, true)
	if err != nil {
		return err
	}
	gone := cfg.Interfaces[i]
	if len(cfg.Interfaces) == 1 {
		return reject(s, fmt.Sprintf("You cannot delete %s: it is the only interface.", gone.Name))
	}
	if ip, ok := strings.CutPrefix(s.Source, "ssh:"); ok && (ip == gone.IPv4 || ip == gone.IPv6) {
		sure, err := s.YesNo("You are currently logged into this interface. Are you sure you want to delete it?", false)
		if err != nil || !sure {
			return err
		}
	}
	others := slices.DeleteFunc(names(cfg.Interfaces), func(n string) bool { return n == gone.Name })
	moves := map[string]*move{} // per listener on the interface; nil: delete it
	for _, l := range cfg.Listeners {
		if l.Interface != gone.Name {
			continue
		}
		k, err := s.Choose(fmt.Sprintf("The interface %s is used by listener %s. What would you like to do?", gone.Name, l.Name),
			[]string{"Delete the listener.", fmt.Sprintf("Choose another interface for listener %s.", l.Name)}, 2, false)
		if err != nil {
			return err
		}
		if k == 0 {
			moves[l.Name] = nil
			continue
		}
		j, err := s.Choose(fmt.Sprintf("Choose the interface for listener %s:", l.Name), others, 1, true)
		if err != nil {
			return err
		}
		target := others[j]
		port, err := s.Ask(fmt.Sprintf("Please enter the TCP port for listener %s.", l.Name), strconv.Itoa(l.Port),
			func(a string) string { return checkListenerPort(cfg, target, l.Name, a, moves) })
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(port)
		moves[l.Name] = &move{target, n}
	}
	for _, r := range []struct{ what, name string }{
		{"outgoing mail (deliveryconfig)", cfg.Delivery.Interface},
		{"LDAP (ldapconfig)", cfg.LDAP.Interface},
		{"alerts (alertconfig)", cfg.Alerts.Interface},
	} {
		if r.name == gone.Name {
			s.Printf("The interface %s was used for %s, which now uses Auto.\n", gone.Name, r.what)
		}
	}
	return s.Draft.Update(func(cfg *config.Config) error {
		cfg.Interfaces = slices.DeleteFunc(cfg.Interfaces, func(x config.Interface) bool { return x.Name == gone.Name })
		cfg.Listeners = slices.DeleteFunc(cfg.Listeners, func(l config.Listener) bool {
			m, ok := moves[l.Name]
			return ok && m == nil
		})
		for i := range cfg.Listeners {
			if m := moves[cfg.Listeners[i].Name]; m != nil {
				cfg.Listeners[i].Interface, cfg.Listeners[i].Port = m.iface, m.port
			}
		}
		for _, p := range []*string{&cfg.Delivery.Interface, &cfg.LDAP.Interface, &cfg.Alerts.Interface} {
			if *p == gone.Name {
				*p = "Auto"
			}
		}
		return nil
	})
}

// move is where a listener of a deleted interface goes.
type move struct {
	iface string
	port  int
}

// checkListenerPort accepts a port for a listener moving to iface.
func checkListenerPort(cfg *config.Config, iface, listener, a string, moved map[string]*move) string {
	n, err := strconv.Atoi(a)
	if err != nil || n < 1 || n > 65535 {
		return "The value must be a port number from 1 to 65535."
	}
	for _, l := range cfg.Listeners {
		if l.Name == listener {
			continue
		}
		iface2, port := l.Interface, l.Port
		if m, ok := moved[l.Name]; ok {
			if m == nil {
				continue
			}
			iface2, port = m.iface, m.port
		}
		if iface2 == iface && port == n {
			return fmt.Sprintf("Port %d on interface %s is already used by listener %s.", n, iface, l.Name)
		}
	}
	for _, in := range cfg.Interfaces {
		if in.Name != iface {
			continue
		}
		for _, sv := range config.InterfaceServices(in) {
			if sv.Enabled && sv.Port == n {
				return fmt.Sprintf("Port %d is currently assigned to %s.", n, sv.Name)
			}
		}
	}
	return ""
}

// reject reports a refused answer the way the dialog engine does: shown
// and asked again on a terminal (ErrBack here: the menu comes back), the
// end of a script.
func reject(s *shell.Session, msg string) error {
	if err := s.Reject(msg); err != nil {
		return err
	}
	return shell.ErrBack
}

// machineAddrs lists the addresses of this machine's network interfaces.
func machineAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out, nil
}

// onMachine checks that a is an address esash can bind: configured on a
// network interface of this machine, or loopback (Linux routes the whole
// of 127.0.0.0/8 to lo).
func (c Command) onMachine(a netip.Addr) string {
	if a.IsLoopback() {
		return ""
	}
	have, err := c.addrs()
	if err != nil {
		return fmt.Sprintf("The IP address %q cannot be checked: %v", a, err)
	}
	a = a.WithZone("")
	for _, h := range have {
		if h.WithZone("") == a {
			return ""
		}
	}
	return fmt.Sprintf("The IP address %q is not configured on any network interface of this machine.", a)
}
