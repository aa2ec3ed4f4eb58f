// Package listenerconfig is the listenerconfig command: the SMTP listeners
// (NEW, EDIT, DELETE), their host access tables (HOSTACCESS: sender
// groups and mail flow policies), recipient access tables (RCPTACCESS),
// the certificate each serves for STARTTLS (CERTIFICATE), and the settings
// shared by all listeners (SETUP).
//
// The questions follow AsyncOS 14.x in order and wording (see
// ../shared/reference/asyncos-cli.md, section 6). Of the mail flow policy
// parameters the MTA enforces the message size, connections per host,
// messages per connection, recipients per message, SMTP banner and
// responses, rate limiting per host, TLS (No, Preferred, Required, each
// of the last two with client certificate verification or not) and SMTP
// AUTH only over TLS. esash has
// no scanning engines, reputation service, DKIM, S/MIME, SPF or DMARC: the
// questions about them are asked in their place and the answers stored,
// so that scripts written for AsyncOS keep their answers in line, but
// they change nothing in how mail is handled. The same holds for the
// listener's SenderBase filtering and the global SenderBase settings.
//
// The mail flow policy parameters (HOSTACCESS NEW and EDIT of a policy,
// DEFAULT, NEW's "change the default host access policy") follow the
// order of asyncos-cli.md 6.4 ([I-map], IAF EditHatParameters); where the
// reference is only inferred, what Cisco's IAF tolerates decides (issue
// 14):
//   - "Select an Address List to define exceptions:" closes the harvest
//     prevention block whatever its answer (IAF addr_list is DEFAULT: it
//     answers it in every flow). esash has no address lists, so None is
//     the one item; blank, 1 or None pass, a list name is not in the list.
//   - The trusted relay header ("Will this IronPort applicance need to
//     fetch the incoming address (for SenderBase) from a trusted relay's
//     header?", spelt as IAF matches it, then the header name) comes after
//     the significant bits of host grouping, so only when SenderBase flow
//     control is off and hosts are grouped: IAF marks it NO_DEFAULT ("must
//     specify a value if the CLI question is asked"), so its default flows
//     never meet it. Any answer but no is refused at commit.
//   - Client certificate verification, which AsyncOS's GUI shows as a flag
//     of the TLS setting (the reference found no CLI question for it), is
//     items 4 and 5 of the TLS list, "Preferred - Verify" and "Required -
//     Verify", as in destconfig's list: No, Preferred and Required keep
//     numbers 1 to 3 and no question is added, so a script's later answers
//     stay in place. For Preferred (with or without Verify) "Choose address
//     list to enforce TLS:" follows (reference: "Preferred only"), with None
//     its one item as above; then the demo certificate warning.
//
// Slow clients (issue 12): the global SETUP's "timeout for unsuccessful
// inbound connections" and "maximum connection time" are AsyncOS's own
// questions (reference section 6.5) and the MTA enforces them: a
// connection that has had no message accepted for that long (NOOP, RSET
// and HELO are no progress) is closed, and so is any connection older
// than the maximum time. AsyncOS asks nothing about load-dependent
// timeouts or idle connections, so esash's own settings (a stress share
// of the listener's maximum connections, the per-command timeout under
// load, the share that connections without a message may hold) are a new
// item of the listener's EDIT > SETUP sub-menu, SLOWCLIENTS, and the
// SETUP header prints them. Being a sub-menu item, it asks nothing of an
// AsyncOS script that does not choose it; adding the questions to the
// global SETUP would have shifted every answer after them. The wording
// follows AsyncOS's (percentages and times, times in the 10s/5m form).
//
// Recipient access (RCPTACCESS) holds ACCEPT entries before the final ALL
// REJECT that PRINT shows and the MTA enforces: the factory table, and any
// table emptied by CLEAR, accepts no recipient (a refused one is answered
// "550 #5.1.0 Address rejected." and logged "Rejected by RAT", as on
// AsyncOS). Connections whose mail flow policy is RELAY (AsyncOS's
// $RELAYED, the private listener's RELAYLIST) are not subject to it and
// relay to any domain; every other policy's connections are, on every
// listener type. esash has no per-entry REJECT, TCPREFUSE or custom
// response: NEW adds ACCEPT entries only.
//
// Blank lines climb one menu level each: from the EDIT sub-menu two reach
// the main prompt, from HOSTACCESS three, as AsyncOS scripts expect (IAF
// sends three from the EDIT sub-menu; the third is an empty command).
package listenerconfig

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is listenerconfig.
type Command struct{}

// New returns the listenerconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "listenerconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure mail listeners" }

// Run shows the listeners and the top menu.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "listenerconfig", "this command has no batch form; run it without arguments")
	}
	return s.Menu(listListeners, []shell.MenuItem{
		{Name: "NEW", Help: "Create a new listener.", Run: newListener},
		{Name: "EDIT", Help: "Modify a listener.", Run: editListener},
		{Name: "DELETE", Help: "Remove a listener.", Run: deleteListener},
		{Name: "SETUP", Help: "Change global settings.", Run: globalSetup},
	})
}

func listListeners(s *shell.Session) {
	cfg := s.Draft.Config()
	if len(cfg.Listeners) == 0 {
		s.Println("No listeners are configured.")
		return
	}
	s.Println("Currently configured listeners:")
	for i, l := range cfg.Listeners {
		s.Printf("%d. %s\n", i+1, describe(cfg, l))
	}
}

// describe is a listener as AsyncOS lists it:
// IncomingMail (on Management, 127.0.0.1) SMTP TCP Port 25 Public.
func describe(cfg *config.Config, l config.Listener) string {
	addr := "?"
	if in, ok := findInterface(cfg, l.Interface); ok {
		addr = in.IPv4
		if in.IPv6 != "" {
			addr += ", " + in.IPv6
		}
	}
	return fmt.Sprintf("%s (on %s, %s) %s TCP Port %d %s", l.Name, l.Interface, addr, l.Protocol, l.Port, l.Type)
}

func findInterface(cfg *config.Config, name string) (config.Interface, bool) {
	i := slices.IndexFunc(cfg.Interfaces, func(in config.Interface) bool { return in.Name == name })
	if i < 0 {
		return config.Interface{}, false
	}
	return cfg.Interfaces[i], true
}

func findListener(cfg *config.Config, name string) (config.Listener, bool) {
	i := slices.IndexFunc(cfg.Listeners, func(l config.Listener) bool { return l.Name == name })
	if i < 0 {
		return config.Listener{}, false
	}
	return cfg.Listeners[i], true
}

func listenerNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		out[i] = l.Name
	}
	return out
}

func interfaceNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Interfaces))
	for i, in := range cfg.Interfaces {
		out[i] = in.Name
	}
	return out
}

// updateListener stages an edit of one listener.
func updateListener(s *shell.Session, name string, fn func(l *config.Listener) error) error {
	return s.Draft.Update(func(c *config.Config) error {
		i := slices.IndexFunc(c.Listeners, func(l config.Listener) bool { return l.Name == name })
		if i < 0 {
			return fmt.Errorf("the listener %s no longer exists", name)
		}
		return fn(&c.Listeners[i])
	})
}

var listenerTypes = []config.ListenerType{config.Private, config.Public, config.Blackhole}

const acceptHelp = `Please specify the domains or specific addresses you want to accept mail for.

Hostnames such as "example.com" are allowed.
Partial hostnames such as ".example.com" are allowed.
Usernames such as "postmaster@" are allowed.
Full email addresses such as "joe@example.com" or "joe@[1.2.3.4]" are allowed.
Separate multiple addresses with commas.`

const relayHelp = `Please specify the systems allowed to relay email through this appliance.

Hostnames such as "example.com" are allowed.
Partial hostnames such as ".example.com" are allowed.
IP addresses, IP address ranges, and CIDR blocks are allowed.
Separate multiple entries with commas.`

// newListener is listenerconfig NEW.
func newListener(s *shell.Session) error {
	cfg := s.Draft.Config()
	if len(cfg.Interfaces) == 0 {
		return reject(s, "There are no IP interfaces: create one with interfaceconfig first.")
	}
	l, err := askNewListener(s, cfg)
	if err != nil {
		return err
	}
	if err := askAcceptOrRelay(s, &l); err != nil {
		return err
	}
	if err := askRateLimit(s, &l); err != nil {
		return err
	}
	if err := askDefaultPolicy(s, cfg, &l); err != nil {
		return err
	}
	if l.BounceProfile, err = chooseBounceProfile(s, "Default"); err != nil {
		return err
	}
	if err := s.Draft.Update(func(c *config.Config) error {
		c.Listeners = append(c.Listeners, l)
		return nil
	}); err != nil {
		return err
	}
	s.Printf("Listener %s created.\n", l.Name)
	return nil
}

// askNewListener asks the type, name, queueing (Blackhole only) and
// interface of a new listener, and returns the factory listener for them,
// serving the first certificate of cfg when the factory's is missing.
func askNewListener(s *shell.Session, cfg *config.Config) (config.Listener, error) {
	types := []string{"Private", "Public", "Blackhole"}
	k, err := s.Choose("Please select the type of listener you want to create.", types, 2, true)
	if err != nil {
		return config.Listener{}, err
	}
	typ := listenerTypes[k]
	name, err := s.Ask(`Please create a name for this listener (Ex: "OutboundMail"):`, "", func(a string) string {
		return checkListenerName(cfg, a, "")
	})
	if err != nil {
		return config.Listener{}, err
	}
	queue := false
	if typ == config.Blackhole {
		if queue, err = s.YesNo("Do you want messages to be queued onto disk?", false); err != nil {
			return config.Listener{}, err
		}
	}
	iface, proto, port, err := askInterface(s, cfg, name, "", "SMTP", 0)
	if err != nil {
		return config.Listener{}, err
	}
	l := config.FactoryListener(name, typ, iface, port)
	l.Protocol, l.QueueToDisk = proto, queue
	if !slices.ContainsFunc(cfg.Certificates, func(c config.Certificate) bool { return c.Name == l.Certificate }) {
		l.Certificate = ""
		if len(cfg.Certificates) > 0 {
			l.Certificate = cfg.Certificates[0].Name
		}
	}
	return l, nil
}

// askAcceptOrRelay asks what a Public listener accepts mail for (and its
// SenderBase filtering), or which hosts a Private one relays for.
func askAcceptOrRelay(s *shell.Session, l *config.Listener) error {
	switch l.Type {
	case config.Public:
		list, err := s.Ask(acceptHelp, "", checkRecipientList)
		if err != nil {
			return err
		}
		l.AcceptDomains = splitList(list)
		sb, err := s.YesNo("Do you want to enable filtering based on SenderBase Reputation Service (SBRS) Scores for this listener? (Your selection will be used to filter all incoming mail based on its SBRS Score.)", true)
		if err != nil {
			return err
		}
		l.SenderBaseFiltering = config.NewOnOff(sb)
	case config.Private:
		list, err := s.Ask(relayHelp, "", checkHostList)
		if err != nil {
			return err
		}
		for i := range l.SenderGroups {
			if l.SenderGroups[i].Name == "RELAYLIST" {
				l.SenderGroups[i].Hosts = splitList(list)
			}
		}
	}
	return nil
}

// askRateLimit asks whether a listener that receives mail (not a
// Blackhole) limits the recipients per hour of a remote domain.
func askRateLimit(s *shell.Session, l *config.Listener) error {
	if l.Type == config.Blackhole {
		return nil
	}
	rl, err := s.YesNo("Do you want to enable rate limiting for this listener? (Rate limiting defines the maximum number of recipients per hour you are willing to receive from a remote domain.)", false)
	if err != nil || !rl {
		return err
	}
	n, err := s.Ask("Enter the maximum number of recipients per hour to accept from a remote domain.", "", checkRange(1, 100000000))
	if err != nil {
		return err
	}
	l.DefaultPolicy.RateLimit = config.On
	l.DefaultPolicy.MaxRcptsPerHour, _ = strconv.Atoi(n)
	return nil
}

// askDefaultPolicy shows the default host access policy of the new
// listener and edits it when asked to.
func askDefaultPolicy(s *shell.Session, cfg *config.Config, l *config.Listener) error {
	printDefaults(s, l.DefaultPolicy)
	change, err := s.YesNo("Would you like to change the default host access policy?", false)
	if err != nil || !change {
		return err
	}
	return editParams(s, &l.DefaultPolicy, nil, cfg, *l)
}

func chooseBounceProfile(s *shell.Session, cur string) (string, error) {
	profiles := []string{"Default"}
	def := slices.Index(profiles, cur) + 1
	if def == 0 {
		def = 1
	}
	k, err := s.Choose("Please choose a bounce profile to apply:", profiles, def, true)
	if err != nil {
		return "", err
	}
	return profiles[k], nil
}

// askInterface asks for the interface, protocol and port of a listener
// (NEW and EDIT > INTERFACE).
func askInterface(s *shell.Session, cfg *config.Config, name, curIface, curProto string, curPort int) (string, string, int, error) {
	ifs := interfaceNames(cfg)
	def := slices.Index(ifs, curIface) + 1
	if def == 0 {
		def = 1
	}
	k, err := s.Choose("Please choose an IP interface for this Listener.", ifs, def, true)
	if err != nil {
		return "", "", 0, err
	}
	iface := ifs[k]
	protos := []string{"SMTP", "QMQP"}
	pdef := slices.Index(protos, curProto) + 1
	if pdef == 0 {
		pdef = 1
	}
	k, err = s.Choose("Choose a protocol.", protos, pdef, true)
	if err != nil {
		return "", "", 0, err
	}
	proto := protos[k]
	if curPort == 0 || proto != curProto {
		curPort = 25
		if proto == "QMQP" {
			curPort = 628
		}
	}
	port, err := s.Ask("Please enter the TCP port for this listener.", strconv.Itoa(curPort), func(a string) string {
		return checkPort(cfg, iface, name, a)
	})
	if err != nil {
		return "", "", 0, err
	}
	n, _ := strconv.Atoi(port)
	return iface, proto, n, nil
}

// checkPort accepts a listener port free on the interface.
func checkPort(cfg *config.Config, iface, listener, a string) string {
	n, err := strconv.Atoi(a)
	if err != nil || n < 1 || n > 65535 {
		return "The value must be a port number from 1 to 65535."
	}
	for _, l := range cfg.Listeners {
		if l.Name != listener && l.Interface == iface && l.Port == n {
			return fmt.Sprintf("Port %d on interface %s is already used by listener %s.", n, iface, l.Name)
		}
	}
	if in, ok := findInterface(cfg, iface); ok {
		for _, sv := range config.InterfaceServices(in) {
			if sv.Enabled && sv.Port == n {
				return fmt.Sprintf("Port %d is currently assigned to %s.", n, sv.Name)
			}
		}
	}
	return ""
}

func checkListenerName(cfg *config.Config, a, self string) string {
	if r := config.CheckName(a); r != "" {
		return r
	}
	if a != self && slices.Contains(listenerNames(cfg), a) {
		return fmt.Sprintf("The name %q is already used by another listener.", a)
	}
	return ""
}

func deleteListener(s *shell.Session) error {
	cfg := s.Draft.Config()
	if len(cfg.Listeners) == 0 {
		s.Println("There are no listeners to delete.")
		return nil
	}
	k, err := s.Choose("Enter the name or number of the listener you wish to delete.", listenerNames(cfg), 0, true)
	if err != nil {
		return err
	}
	name := cfg.Listeners[k].Name
	return s.Draft.Update(func(c *config.Config) error {
		c.Listeners = slices.DeleteFunc(c.Listeners, func(l config.Listener) bool { return l.Name == name })
		return nil
	})
}

// splitList splits a comma-separated answer.
func splitList(a string) []string {
	var out []string
	for _, e := range strings.Split(a, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func checkRecipientList(a string) string {
	es := splitList(a)
	if len(es) == 0 {
		return "You must enter at least one address."
	}
	for _, e := range es {
		if r := config.CheckRecipientPattern(e); r != "" {
			return fmt.Sprintf("%q: %s", e, r)
		}
	}
	return ""
}

func checkHostList(a string) string {
	es := splitList(a)
	seen := map[string]bool{}
	for _, e := range es {
		if r := config.CheckHostPattern(e); r != "" {
			return fmt.Sprintf("%q: %s", e, r)
		}
		if _, err := config.ParseHostPattern(e); err != nil {
			return fmt.Sprintf("%q: %v", e, err)
		}
		if seen[e] {
			return fmt.Sprintf("%q is listed twice.", e)
		}
		seen[e] = true
	}
	return ""
}

func checkRange(lo, hi int) func(string) string {
	return func(a string) string {
		n, err := strconv.Atoi(a)
		if err != nil || n < lo || n > hi {
			return fmt.Sprintf("The value must be an integer from %d to %d.", lo, hi)
		}
		return ""
	}
}

// yesNo is how AsyncOS prints an on/off setting; unset prints as its
// default, off.
func yesNo(v config.OnOff) string {
	if v.EqualBool(true) {
		return "Yes"
	}
	return "No"
}

// reject reports a refused answer the way the dialog engine does: shown,
// then the menu again on a terminal (ErrBack), the end of a script.
func reject(s *shell.Session, msg string) error {
	if err := s.Reject(msg); err != nil {
		return err
	}
	return shell.ErrBack
}

// chooseCertificate asks for the certificate the service uses.
func chooseCertificate(s *shell.Session, cfg *config.Config, cur string) (string, error) {
	return s.ChooseCertificate(cfg, cur, "TLS", "There are no certificates: add one with certconfig first.")
}
