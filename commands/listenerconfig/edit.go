package listenerconfig

import (
	"fmt"
	"strings"

	"esash/config"
	"esash/shell"
)

// editor is one EDIT session of a listener; name follows a rename.
type editor struct {
	name string
}

func editListener(s *shell.Session) error {
	cfg := s.Draft.Config()
	if len(cfg.Listeners) == 0 {
		s.Println("There are no listeners to edit.")
		return nil
	}
	k, err := s.Choose("Enter the name or number of the listener you wish to edit.", listenerNames(cfg), 0, true)
	if err != nil {
		return err
	}
	e := &editor{name: cfg.Listeners[k].Name}
	return s.Menu(e.header, []shell.MenuItem{
		{Name: "NAME", Help: "Change the name of the listener.", Run: e.rename},
		{Name: "INTERFACE", Help: "Edit the IP interface for this listener.", Run: e.iface},
		{Name: "LIMITS", Help: "Change the injection limits.", Run: e.limits},
		{Name: "SETUP", Help: "Configure general options.", Run: e.setup},
		{Name: "HOSTACCESS", Help: "Modify the Host Access Table.", Run: e.hostaccess},
		{Name: "RCPTACCESS", Help: "Modify the Recipient Access Table.", Run: e.rcptaccess},
		{Name: "BOUNCECONFIG", Help: "Choose the bounce profile to use for messages injected on this listener.", Run: e.bounce},
		{Name: "CERTIFICATE", Help: "Choose the certificate.", Run: e.certificate},
	})
}

// listener is the listener being edited, as staged now.
func (e *editor) listener(s *shell.Session) (config.Listener, error) {
	l, ok := findListener(s.Draft.Config(), e.name)
	if !ok {
		return l, fmt.Errorf("the listener %s no longer exists", e.name)
	}
	return l, nil
}

func (e *editor) header(s *shell.Session) {
	cfg := s.Draft.Config()
	l, ok := findListener(cfg, e.name)
	if !ok {
		return
	}
	addr := "?"
	if in, ok := findInterface(cfg, l.Interface); ok {
		addr = fmt.Sprintf("%s/%d", in.IPv4, in.PrefixLen)
	}
	dd := l.DefaultDomain
	if dd == "" {
		dd = "None"
	}
	q := l.TCPQueue
	if q == 0 {
		q = config.DefaultTCPQueue
	}
	tls := map[config.TLSIn]string{config.TLSInOff: "No", config.TLSInPreferred: "Preferred", config.TLSInRequired: "Required"}[l.DefaultPolicy.TLS]
	s.Printf("Name: %s\n", l.Name)
	s.Printf("Type: %s\n", l.Type)
	s.Printf("Interface: %s (%s) TCP Port %d\n", l.Interface, addr, l.Port)
	s.Printf("Protocol: %s\n", l.Protocol)
	s.Printf("Default Domain: %s\n", dd)
	s.Printf("Max Concurrent Connections: %d (TCP Queue: %d)\n", l.MaxConnections, q)
	s.Printf("Certificate: %s\n", l.Certificate)
	s.Printf("TLS: %s\n", tls)
	s.Printf("SMTP Authentication: %s\n", titleCase(l.DefaultPolicy.SMTPAuth))
	s.Printf("Bounce Profile: %s\n", orDefault(l.BounceProfile, "Default"))
	if l.Type == config.Public {
		s.Printf("Use SenderBase For Reputation Filters and IP Profiling: %s\n", config.MarkInactive("listeners[*].senderbase_filtering", yesNo(l.SenderBaseFiltering)))
	}
	s.Printf("Add Received Header: %s\n", yesNo(config.NewOnOff(!l.OmitReceived)))
}

func titleCase(v string) string {
	if v == "" || v == "off" {
		return "No"
	}
	return strings.ToUpper(v[:1]) + v[1:]
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (e *editor) rename(s *shell.Session) error {
	cfg := s.Draft.Config()
	name, err := s.Ask("Please enter the new name for this listener.", e.name, func(a string) string {
		return checkListenerName(cfg, a, e.name)
	})
	if err != nil || name == e.name {
		return err
	}
	if err := updateListener(s, e.name, func(l *config.Listener) error {
		l.Name = name
		return nil
	}); err != nil {
		return err
	}
	e.name = name
	return nil
}

func (e *editor) iface(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	iface, proto, port, err := askInterface(s, s.Draft.Config(), l.Name, l.Interface, l.Protocol, l.Port)
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.Interface, l.Protocol, l.Port = iface, proto, port
		return nil
	})
}

func (e *editor) limits(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	maxc, err := s.AskInt("Enter the maximum number of concurrent connections for this listener.", l.MaxConnections, 1, 10000)
	if err != nil {
		return err
	}
	q := l.TCPQueue
	if q == 0 {
		q = config.DefaultTCPQueue
	}
	q, err = s.AskInt("Enter the maximum number of connections that can be queued (TCP listen queue).", q, 1, 10000)
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.MaxConnections, l.TCPQueue = maxc, q
		return nil
	})
}

func (e *editor) bounce(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	p, err := chooseBounceProfile(s, l.BounceProfile)
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.BounceProfile = p
		return nil
	})
}

func (e *editor) certificate(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	cert, err := chooseCertificate(s, s.Draft.Config(), l.Certificate)
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.Certificate = cert
		return nil
	})
}

// setup is the listener's SETUP sub-menu.
func (e *editor) setup(s *shell.Session) error {
	return s.Menu(func(s *shell.Session) {
		l, err := e.listener(s)
		if err != nil {
			return
		}
		s.Printf("Default Domain: %s\n", orDefault(l.DefaultDomain, "None"))
		s.Printf("Add Received Header: %s\n", yesNo(config.NewOnOff(!l.OmitReceived)))
		sc := l.SlowClients.Effective()
		s.Printf("Slow Clients: under load from %d%% of connections, then %s per command; at most %d%% without a message\n",
			sc.StressPercent, formatDuration(sc.StressTimeout), sc.IdlePercent)
	}, []shell.MenuItem{
		{Name: "DEFAULTDOMAIN", Help: "Configure a default domain for this listener.", Run: e.defaultDomain},
		{Name: "RECEIVED", Help: "Configure whether to add a Received: header.", Run: e.received},
		{Name: "SLOWCLIENTS", Help: "Configure the limits on slow and idle clients.", Run: e.slowClients},
	})
}

func (e *editor) defaultDomain(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	d, err := s.AskOptional(`Enter the default domain for email addresses without a fully qualified domain name. Enter the word "DELETE" to clear the setting and disable the addition of a default domain.`,
		l.DefaultDomain, func(a string) string {
			if a == "" || a == "DELETE" {
				return ""
			}
			return config.CheckDomain(a)
		})
	if err != nil {
		return err
	}
	if d == "DELETE" {
		d = ""
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.DefaultDomain = d
		return nil
	})
}

func (e *editor) received(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	add, err := s.YesNo("Would you like the system to add a received header to each message received on this listener?", !l.OmitReceived)
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.OmitReceived = !add
		return nil
	})
}

// rcptaccess is the Recipient Access Table: the addresses a listener
// accepts mail for; everything else is refused by the final ALL REJECT,
// which the MTA enforces (see the package comment). esash keeps ACCEPT
// entries only.
func (e *editor) rcptaccess(s *shell.Session) error {
	return s.Menu(func(s *shell.Session) {
		l, err := e.listener(s)
		if err != nil {
			return
		}
		s.Println("Recipient Access Table")
		s.Println()
		printRAT(s, l)
		s.Println()
	}, []shell.MenuItem{
		{Name: "NEW", Help: "Create a new entry.", Run: e.ratNew},
		{Name: "DELETE", Help: "Remove an entry.", Run: e.ratDelete},
		{Name: "PRINT", Help: "Display all entries.", Run: func(s *shell.Session) error {
			l, err := e.listener(s)
			if err == nil {
				printRAT(s, l)
			}
			return err
		}},
		{Name: "CLEAR", Help: "Remove all entries.", Run: e.ratClear},
	})
}

func printRAT(s *shell.Session, l config.Listener) {
	for _, a := range l.AcceptDomains {
		s.Printf("%s ACCEPT\n", a)
	}
	s.Println("ALL REJECT")
}

func (e *editor) ratNew(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	a, err := s.Ask(`Enter the recipient address for this entry.
Hostnames such as "example.com" are allowed.
Partial hostnames such as ".example.com" are allowed.
Usernames such as "postmaster@" are allowed.
Full email addresses such as "joe@example.com" or "joe@[1.2.3.4]" are allowed.
Separate multiple addresses with commas.`, "", func(a string) string {
		if r := checkRecipientList(a); r != "" {
			return r
		}
		for _, x := range splitList(a) {
			for _, y := range l.AcceptDomains {
				if strings.EqualFold(x, y) {
					return fmt.Sprintf("The address %q is already in the table.", x)
				}
			}
		}
		return ""
	})
	if err != nil {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.AcceptDomains = append(l.AcceptDomains, splitList(a)...)
		return nil
	})
}

func (e *editor) ratDelete(s *shell.Session) error {
	l, err := e.listener(s)
	if err != nil {
		return err
	}
	if len(l.AcceptDomains) == 0 {
		s.Println("There are no entries to delete.")
		return nil
	}
	k, err := s.Choose("Enter the address to delete.", l.AcceptDomains, 0, true)
	if err != nil {
		return err
	}
	gone := l.AcceptDomains[k]
	return updateListener(s, e.name, func(l *config.Listener) error {
		for i, a := range l.AcceptDomains {
			if a == gone {
				l.AcceptDomains = append(l.AcceptDomains[:i:i], l.AcceptDomains[i+1:]...)
				break
			}
		}
		return nil
	})
}

func (e *editor) ratClear(s *shell.Session) error {
	ok, err := s.YesNo("Are you sure you want to remove all entries? Mail to every recipient will be refused.", false)
	if err != nil || !ok {
		return err
	}
	return updateListener(s, e.name, func(l *config.Listener) error {
		l.AcceptDomains = nil
		return nil
	})
}
