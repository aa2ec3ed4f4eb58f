// Package dnsconfig is the dnsconfig command: the DNS servers the
// appliance asks for every name it resolves (MX and addresses for
// delivery, PTR for sender groups, TLSA for DANE), the interface DNS
// traffic leaves from, the reverse-DNS timeout and the cache's minimum TTL.
//
// The dialog follows AsyncOS 14.x (reference asyncos-cli-2 §2): the screen
// begins "Currently using the Internet root DNS servers" or "Currently
// using the local DNS cache servers:", lists the servers, and offers NEW,
// EDIT, DELETE and SETUP; one blank line from any operation returns to the
// main prompt. Question substrings are the library's (IAF): "use your own
// DNS servers", "IP interface for DNS", "enter the IP address", "enter the
// priority", "enter the domain", "fully qualified hostname", "before timing
// out reverse DNS", "minimum TTL in seconds"; errors "already configured
// with priority" and "already appears to be configured for domain".
//
// Decisions where the reference is silent ([U]):
//
//   - Layout of the list: own servers as "1. Priority: 0 192.0.2.53"
//     under the "Currently using" line, then "Alternate domain servers:"
//     (own mode) or "Alternate authoritative DNS servers:" (root mode) as
//     "1. example.com: 192.0.2.1" / "1. example.com: ns1.example.com
//     (192.0.2.1)". Menu descriptions: "Add a new server.", "Edit a
//     server.", "Remove a server.", "Configure general settings."
//   - Internet root servers: esash does not recurse from the root itself;
//     in this mode it asks the recursive resolvers of the host's
//     /etc/resolv.conf, and the screen says so (esash/resolver).
//   - SETUP asks, in the reference's order: the mode; the interface (in
//     both modes: it is where every DNS question leaves from); the first
//     server's address and priority only when switching to own servers;
//     the reverse-DNS timeout (1-300 s, default 20, AsyncOS's GUI default);
//     the minimum TTL (0-86400 s, default 1800, the value of Cisco's test
//     library). Switching to the root servers removes the own servers:
//     esash keeps no setting that does nothing.
//   - EDIT in own mode asks the type with the library's wording ("Do you
//     want to edit a new local DNS cache server or an alternate domain
//     server?"); an alternate server's second value is its domain.
//   - A server is chosen by its number, its address or (alternate servers)
//     its domain. Alternate servers: one per domain (the domain is the
//     key), which is what "already appears to be configured for domain"
//     reports.
//   - Beyond AsyncOS: an address may carry a port (192.0.2.53:5353,
//     [2001:db8::53]:5353) for a resolver that is not on port 53.
//
// No batch form is known for dnsconfig (reference §7); batch arguments are
// refused.
package dnsconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is dnsconfig.
type Command struct{}

// New returns the dnsconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "dnsconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure DNS setup" }

// Run shows the dnsconfig screen and menu.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "dnsconfig", "takes no batch arguments")
	}
	return s.Menu(screen, []shell.MenuItem{
		{Name: "NEW", Help: "Add a new server.", Run: newServer},
		{Name: "EDIT", Help: "Edit a server.", Run: editServer},
		{Name: "DELETE", Help: "Remove a server.", Run: deleteServer},
		{Name: "SETUP", Help: "Configure general settings.", Run: setup},
	})
}

func screen(s *shell.Session) {
	d := s.Draft.Config().DNS
	if d.Local() {
		s.Println("Currently using the local DNS cache servers:")
		for i, sv := range d.Servers {
			s.Printf("%d. Priority: %d %s\n", i+1, sv.Priority, sv.Address)
		}
		if len(d.Alternates) > 0 {
			s.Println()
			s.Println("Alternate domain servers:")
			for i, a := range d.Alternates {
				s.Printf("%d. %s: %s\n", i+1, a.Domain, a.Address)
			}
		}
	} else {
		s.Println("Currently using the Internet root DNS servers (through the resolvers of this host's /etc/resolv.conf).")
		if len(d.Alternates) > 0 {
			s.Println()
			s.Println("Alternate authoritative DNS servers:")
			for i, a := range d.Alternates {
				s.Printf("%d. %s: %s (%s)\n", i+1, a.Domain, a.Hostname, a.Address)
			}
		}
	}
	s.Println()
}

// kind asks which list an operation works on in own-servers mode: true
// for the alternate domain servers.
func kind(s *shell.Session, verb string) (bool, error) {
	q := "Do you want to add a new local DNS cache server or an alternate domain server?"
	items := []string{"Add a new local DNS cache server.", "Add a new alternate domain server."}
	switch verb {
	case "edit":
		q = "Do you want to edit a new local DNS cache server or an alternate domain server?"
		items = []string{"Edit a new local DNS cache server.", "Edit a new alternate domain server."}
	case "delete":
		q = "Do you want to delete a local DNS cache server or an alternate domain server?"
		items = []string{"Delete a local DNS cache server.", "Delete an alternate domain server."}
	}
	i, err := s.Choose(q, items, 1, false)
	return i == 1, err
}

// checkAddress is the check of an address question.
func checkAddress(a string) string {
	_, _, msg := config.ParseDNSAddress(a)
	return msg
}

func canon(a string) string {
	c, _, _ := config.ParseDNSAddress(a)
	return c
}

func askAddress(s *shell.Session, q, def string) (string, error) {
	a, err := s.Ask(q, def, checkAddress)
	return canon(a), err
}

// askLocal asks a local server's address and priority; old is the server
// edited ("" address for a new one).
func askLocal(s *shell.Session, d config.DNS, old config.DNSServer) (config.DNSServer, error) {
	addr, err := s.Ask("Please enter the IP address of your DNS server.", old.Address, func(a string) string {
		if msg := checkAddress(a); msg != "" {
			return msg
		}
		for _, sv := range d.Servers {
			if sv.Address == canon(a) && sv.Address != old.Address {
				return fmt.Sprintf("The server %s is already configured with priority %d.", sv.Address, sv.Priority)
			}
		}
		return ""
	})
	if err != nil {
		return old, err
	}
	addr = canon(addr)
	pri, err := s.AskInt(fmt.Sprintf("Please enter the priority for %s. A value of 0 is the highest priority; the highest value is %d.", addr, config.MaxDNSPriority),
		old.Priority, 0, config.MaxDNSPriority)
	return config.DNSServer{Address: addr, Priority: pri}, err
}

// askAlternate asks an alternate server's settings; root mode asks its
// host name too. order is the order of the questions: NEW asks the domain
// first, EDIT in own mode the address first.
func askAlternate(s *shell.Session, d config.DNS, old config.DNSAlternate, addressFirst bool) (config.DNSAlternate, error) {
	a := old
	var err error
	askDomain := func() error {
		dom, err := s.Ask("Please enter the domain this server is authoritative for.", old.Domain, func(v string) string {
			if msg := config.CheckDNSDomain(v); msg != "" {
				return msg
			}
			for _, x := range d.Alternates {
				if strings.EqualFold(x.Domain, strings.TrimSuffix(v, ".")) && !strings.EqualFold(x.Domain, old.Domain) {
					return fmt.Sprintf("A server already appears to be configured for domain %s.", x.Domain)
				}
			}
			return ""
		})
		a.Domain = strings.ToLower(strings.TrimSuffix(dom, "."))
		return err
	}
	if addressFirst {
		if a.Address, err = askAddress(s, "Please enter the IP address of your DNS server.", old.Address); err != nil {
			return a, err
		}
		return a, askDomain()
	}
	if err := askDomain(); err != nil {
		return a, err
	}
	if !d.Local() {
		a.Hostname, err = s.Ask(fmt.Sprintf("Please enter the fully qualified hostname of the DNS server for the domain %s.", a.Domain), old.Hostname, func(v string) string {
			if config.CheckHostname(v) != "" || !strings.Contains(v, ".") {
				return fmt.Sprintf("The value must be a fully qualified hostname (ns1.example.com), not %q.", v)
			}
			return ""
		})
		if err != nil {
			return a, err
		}
		a.Hostname = strings.ToLower(a.Hostname)
	}
	name := "your DNS server"
	if a.Hostname != "" {
		name = a.Hostname
	}
	a.Address, err = askAddress(s, fmt.Sprintf("Please enter the IP address of %s.", name), old.Address)
	return a, err
}

func newServer(s *shell.Session) error {
	d := s.Draft.Config().DNS
	alt := !d.Local()
	if d.Local() {
		var err error
		if alt, err = kind(s, "new"); err != nil {
			return err
		}
	}
	if !alt {
		sv, err := askLocal(s, d, config.DNSServer{})
		if err != nil {
			return err
		}
		return s.Draft.Update(func(c *config.Config) error {
			c.DNS.Servers = append(c.DNS.Servers, sv)
			return nil
		})
	}
	a, err := askAlternate(s, d, config.DNSAlternate{}, false)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.DNS.Alternates = append(c.DNS.Alternates, a)
		return nil
	})
}

// pick asks for one of a list by number, or by one of its names.
func pick(s *shell.Session, q string, labels []string, names [][]string) (int, error) {
	if len(labels) == 0 {
		return 0, s.Reject("There are no servers of that kind configured.")
	}
	for i, l := range labels {
		s.Printf("%d. %s\n", i+1, l)
	}
	ans, err := s.Ask(q, "", func(v string) string {
		if idx(v, names) < 0 {
			return fmt.Sprintf("The value must be a number from 1 to %d or the address or domain of a server listed.", len(labels))
		}
		return ""
	})
	if err != nil {
		return 0, err
	}
	return idx(ans, names), nil
}

func idx(v string, names [][]string) int {
	if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(names) {
		return n - 1
	}
	for i, ns := range names {
		for _, n := range ns {
			if strings.EqualFold(n, v) || canon(v) != "" && canon(v) == n {
				return i
			}
		}
	}
	return -1
}

// choose asks which server an operation is about: the list (local or
// alternate) and its index.
func choose(s *shell.Session, verb string) (alt bool, i int, err error) {
	d := s.Draft.Config().DNS
	alt = !d.Local()
	if d.Local() {
		if alt, err = kind(s, verb); err != nil {
			return
		}
	}
	var labels []string
	var names [][]string
	if alt {
		for _, a := range d.Alternates {
			l := a.Domain + ": " + a.Address
			if a.Hostname != "" {
				l = fmt.Sprintf("%s: %s (%s)", a.Domain, a.Hostname, a.Address)
			}
			labels = append(labels, l)
			names = append(names, []string{a.Address, a.Domain})
		}
	} else {
		for _, sv := range d.Servers {
			labels = append(labels, fmt.Sprintf("Priority: %d %s", sv.Priority, sv.Address))
			names = append(names, []string{sv.Address})
		}
	}
	i, err = pick(s, fmt.Sprintf("Enter the number of the server you wish to %s.", verb), labels, names)
	return
}

func editServer(s *shell.Session) error {
	alt, i, err := choose(s, "edit")
	if err != nil {
		return err
	}
	d := s.Draft.Config().DNS
	if !alt {
		sv, err := askLocal(s, d, d.Servers[i])
		if err != nil {
			return err
		}
		return s.Draft.Update(func(c *config.Config) error {
			c.DNS.Servers[i] = sv
			return nil
		})
	}
	a, err := askAlternate(s, d, d.Alternates[i], d.Local())
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.DNS.Alternates[i] = a
		return nil
	})
}

func deleteServer(s *shell.Session) error {
	alt, i, err := choose(s, "delete")
	if err != nil {
		return err
	}
	if !alt && len(s.Draft.Config().DNS.Servers) == 1 {
		return s.Reject("The last local DNS cache server cannot be deleted: choose SETUP to use the Internet root DNS servers instead.")
	}
	return s.Draft.Update(func(c *config.Config) error {
		if alt {
			c.DNS.Alternates = slices.Delete(c.DNS.Alternates, i, i+1)
		} else {
			c.DNS.Servers = slices.Delete(c.DNS.Servers, i, i+1)
		}
		return nil
	})
}
