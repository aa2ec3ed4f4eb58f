// Package mtastsconfig is the mtastsconfig command (esash's: AsyncOS has
// no MTA-STS): the MTA-STS policy (RFC 8461) this appliance publishes for
// the domains it receives mail for. The HTTPS service serves it as
// https://mta-sts.<domain>/.well-known/mta-sts.txt (package web); the
// command prints the _mta-sts TXT record each domain must publish, whose id
// is derived from the policy file and so changes whenever the policy does.
//
// Decisions:
//
//   - A command of its own, not questions appended to destconfig's MTASTS
//     operation: destconfig is the sending side (how this appliance
//     delivers), this is the receiving side (what it asks of senders).
//     And a question appended at the end of an operation breaks the
//     scripts that leave the menu with the blank line that follows it
//     (destconfig_mtasts.txtar does just that): the blank line would
//     answer the new question and the next command would hit the menu.
//   - Screen and menu in AsyncOS's manner: the current state, then
//     "Choose the operation you want to perform:" with SETUP (publish,
//     change or stop) and RECORDS (the DNS records to publish). A blank
//     line returns to the main prompt.
//   - SETUP asks: whether to publish; the domains; the mode (default
//     testing for a first policy, which RFC 8461 §8.3 suggests rolling
//     out with); the mx patterns (default: the host names of the
//     interfaces that carry a Public listener, where this appliance
//     receives mail, else its host name: an administrator lists them as
//     the domains' MX records name them); max_age, from a day to RFC
//     8461's maximum (31557600 s), default a week.
//   - The HTTPS certificate must be valid for mta-sts.<domain>: the
//     commit refuses otherwise (a policy no sender can fetch would be a
//     setting stored and ignored); SETUP says so at once.
//   - Senders fetch on port 443; when no HTTPS interface listens there the
//     records screen says the port must be forwarded.
//
// No batch form; batch arguments are refused.
package mtastsconfig

import (
	"fmt"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is mtastsconfig.
type Command struct{}

// New returns the mtastsconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "mtastsconfig" }

// Summary implements shell.Command.
func (Command) Summary() string {
	return "Configure the MTA-STS policy this appliance publishes (RFC 8461)"
}

// Run shows the screen and menu.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "mtastsconfig", "takes no batch arguments")
	}
	return s.Menu(screen, []shell.MenuItem{
		{Name: "SETUP", Help: "Publish, change or stop publishing the MTA-STS policy.", Run: setup},
		{Name: "RECORDS", Help: "Display the DNS records to publish.", Run: func(s *shell.Session) error {
			records(s)
			return nil
		}},
	})
}

func screen(s *shell.Session) {
	p := s.Draft.Config().MTASTSPolicy
	if !p.Published() {
		s.Println("This appliance publishes no MTA-STS policy.")
		s.Println()
		return
	}
	s.Printf("MTA-STS policy published for: %s\n", strings.Join(p.Domains, ", "))
	s.Printf("Mode: %s\n", p.Mode)
	s.Printf("MX: %s\n", listOrNone(p.MX))
	s.Printf("Max age: %d seconds\n", p.MaxAge)
	s.Printf("Policy id: %s\n", p.ID())
	s.Println()
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "NONE"
	}
	return strings.Join(l, ", ")
}

func setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	cur := cfg.MTASTSPolicy
	on, err := s.YesNo("Do you want this appliance to publish an MTA-STS policy for the domains it receives mail for?", cur.Published())
	if err != nil {
		return err
	}
	if !on {
		if cur.Published() {
			s.Println("The policy will no longer be served. Senders keep a cached policy until its max_age ends:")
			s.Println("to withdraw one, publish mode none first (RFC 8461 section 8.3).")
		}
		return s.Draft.Update(func(c *config.Config) error { c.MTASTSPolicy = config.MTASTSPolicy{}; return nil })
	}
	next, err := askPolicy(s, cfg, cur)
	if err != nil {
		return err
	}
	if err := s.Draft.Update(func(c *config.Config) error { c.MTASTSPolicy = next; return nil }); err != nil {
		return err
	}
	records(s)
	return nil
}

// askPolicy asks the domains, mode, mx and max_age.
func askPolicy(s *shell.Session, cfg *config.Config, cur config.MTASTSPolicy) (config.MTASTSPolicy, error) {
	var p config.MTASTSPolicy
	ans, err := s.Ask("Enter the domains the policy is published for (served as mta-sts.<domain>), separated by commas.",
		strings.Join(cur.Domains, ", "), func(a string) string { _, msg := parseDomains(a); return msg })
	if err != nil {
		return p, err
	}
	p.Domains, _ = parseDomains(ans)
	for _, d := range p.Domains {
		if msg := config.MTASTSCertificate(cfg, "mta-sts."+d); msg != "" {
			s.Printf("Warning: %s: %s. The commit will refuse the policy until it is.\n", d, msg)
		}
	}
	def := 2
	for i, m := range config.MTASTSModes {
		if m == cur.Mode {
			def = i + 1
		}
	}
	i, err := s.Choose("Choose the policy mode:", config.MTASTSModes, def, true)
	if err != nil {
		return p, err
	}
	p.Mode = config.MTASTSModes[i]
	mx := cur.MX
	if len(mx) == 0 && p.Mode != "none" {
		mx = config.DefaultMTASTSMX(cfg)
	}
	ans, err = s.Ask("Enter the MX host names of the policy (host names or *.domain), separated by commas, or NONE.",
		listOrNone(mx), func(a string) string { _, msg := parseMX(a, p.Mode); return msg })
	if err != nil {
		return p, err
	}
	p.MX, _ = parseMX(ans, p.Mode)
	age := int(cur.MaxAge)
	if age == 0 {
		age = config.MTASTSDefaultMaxAge
	}
	n, err := s.AskInt(fmt.Sprintf("Enter the max_age of the policy in seconds (%d to %d).", config.MTASTSMinMaxAge, config.MTASTSMaxMaxAge),
		age, config.MTASTSMinMaxAge, config.MTASTSMaxMaxAge)
	p.MaxAge = int64(n)
	return p, err
}

// parseDomains reads a comma-separated list of domains.
func parseDomains(a string) ([]string, string) {
	var out []string
	for _, f := range strings.Split(a, ",") {
		d := config.NormalizeDomain(strings.TrimSpace(f))
		if d == "" {
			continue
		}
		if strings.HasPrefix(d, ".") || config.CheckDomain(d) != "" {
			return nil, "The value must be a list of domain names separated by commas; " + d + " is not one."
		}
		if !contains(out, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, "You must enter at least one domain."
	}
	return out, ""
}

// parseMX reads the mx patterns; NONE only for mode none.
func parseMX(a, mode string) ([]string, string) {
	if strings.EqualFold(strings.TrimSpace(a), "NONE") {
		if mode != "none" {
			return nil, "A policy in mode " + mode + " needs at least one MX host name."
		}
		return nil, ""
	}
	var out []string
	for _, f := range strings.Split(a, ",") {
		mx := config.NormalizeDomain(strings.TrimSpace(f))
		if mx == "" {
			continue
		}
		if msg := config.CheckMXPattern(mx); msg != "" {
			return nil, mx + ": " + msg
		}
		if !contains(out, mx) {
			out = append(out, mx)
		}
	}
	if len(out) == 0 {
		return nil, "You must enter an MX host name or NONE."
	}
	return out, ""
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

// records prints what the administrator publishes in DNS.
func records(s *shell.Session) {
	cfg := s.Draft.Config()
	p := cfg.MTASTSPolicy
	if !p.Published() {
		s.Println("No policy is published: there are no records to publish.")
		s.Println()
		return
	}
	s.Println("Publish these DNS records (the id changes whenever the policy changes):")
	for _, d := range p.Domains {
		s.Println(p.TXTRecord(d))
	}
	var https []string
	on443 := false
	for _, in := range cfg.Interfaces {
		if in.HTTPS.Enabled {
			https = append(https, fmt.Sprintf("%s (%s, port %d)", in.IPv4, in.Name, in.HTTPS.Port))
			on443 = on443 || in.HTTPS.Port == 443
		}
	}
	for _, d := range p.Domains {
		s.Printf("mta-sts.%s must resolve to an HTTPS interface: %s.\n", d, listOrNone(https))
	}
	if !on443 {
		s.Println("Senders fetch the policy on port 443: forward port 443 to the HTTPS port.")
	}
	s.Println()
}
