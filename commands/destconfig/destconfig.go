// Package destconfig is the destconfig command: Destination Controls, the
// per-domain delivery limits and outbound TLS policy (with DANE, bounce
// verification, bounce profile and IP sort preference), the DEFAULT entry
// for every other domain, and the global settings: the certificate of all
// outbound TLS and the alert when a required TLS connection fails.
//
// The dialog follows AsyncOS 14.x (reference section 3). Choices made here
// where the reference is silent:
//
//   - NEW asks "Do you wish to configure a concurrency limit" with default
//     Y and every other "apply a specific ..." question with default N, so
//     a NEW answered with blank lines gives an entry that limits concurrency
//     to the default's value and inherits everything else. EDIT's defaults
//     are what the entry sets.
//   - The limit scope and enforcement lists are asked only when the entry
//     sets a concurrency or recipient limit.
//   - DANE is asked only when the TLS setting chosen negotiates TLS; the
//     demo-certificate warning ("You have not entered a certificate") comes
//     when TLS is chosen while the outbound certificate (SETUP) is the
//     Demo profile; answering N keeps the previous TLS and DANE settings.
//   - The bounce profile list offers Default, the profiles other entries
//     name, and New Profile (esash has no bounceconfig: a profile is a name
//     the MTA reports; its parameters are the Default ones).
//   - Domains are stored in lower case without a trailing dot; .example.com
//     matches every subdomain of example.com, not example.com itself.
//     AsyncOS also accepts IP addresses here; esash does not (yet).
//   - LIST and DETAIL show every value in effect: a value an entry inherits
//     reads "Default (value)".
//   - MTASTS (esash's, last in the menu so that existing scripts keep
//     their answers) chooses where MTA-STS policies apply: see mtasts.go.
//     DETAIL shows an "MTA-STS" line per entry and, for one domain, the
//     policy the running MTA holds for it.
//   - IMPORT replaces the whole table (DEFAULT and entries) with the file
//     (format in config/dest_file.go); a file with any problem is refused
//     with its line number and nothing is staged.
//
// One blank line from any operation returns to the main prompt.
//
// Batch forms: destconfig list | detail <domain|all> | delete <domain> |
// clear | import <file> | export <file>.
package destconfig

import (
	"fmt"
	"sort"
	"strings"

	"esash/config"
	"esash/shell"
)

// DemoCertificate is the name of the demonstration certificate profile.
const DemoCertificate = "Demo"

// Command is destconfig.
type Command struct {
	policies PolicyReporter // nil: DETAIL shows no MTA-STS cache (mtasts.go)
}

// New returns the destconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "destconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure Destination Controls" }

// Run shows the destconfig menu, or runs a batch form.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return c.batch(s, args)
	}
	return s.Menu(header, []shell.MenuItem{
		{Name: "SETUP", Help: "Change global settings.", Run: setup},
		{Name: "NEW", Help: "Create a new entry.", Run: newEntry},
		{Name: "EDIT", Help: "Modify an entry.", Run: editEntry},
		{Name: "DELETE", Help: "Remove an entry.", Run: deleteEntry},
		{Name: "DEFAULT", Help: "Change the default.", Run: editDefault},
		{Name: "LIST", Help: "Display a summary list of all entries.", Run: list},
		{Name: "DETAIL", Help: "Display details for one destination or all entries.", Run: c.detail},
		{Name: "CLEAR", Help: "Remove all entries.", Run: clearAll},
		{Name: "IMPORT", Help: "Import tables from a file.", Run: importFile},
		{Name: "EXPORT", Help: "Export tables to a file.", Run: exportFile},
		{Name: "MTASTS", Help: "Configure MTA-STS (RFC 8461) for outbound delivery.", Run: mtaSTS},
	})
}

func header(s *shell.Session) {
	switch n := len(s.Draft.Config().Destinations.Entries); n {
	case 0:
		s.Println("There are no entries configured.")
	case 1:
		s.Println("There is currently 1 entry configured.")
	default:
		s.Printf("There are currently %d entries configured.\n", n)
	}
}

func (c Command) batch(s *shell.Session, args []string) error {
	op := strings.ToLower(args[0])
	arg := func() (string, error) {
		if len(args) != 2 {
			return "", shell.Invalid(s, "destconfig "+op, "expects one argument")
		}
		return args[1], nil
	}
	switch op {
	case "list":
		if len(args) != 1 {
			return shell.Invalid(s, "destconfig list", "takes no argument")
		}
		return list(s)
	case "clear":
		if len(args) != 1 {
			return shell.Invalid(s, "destconfig clear", "takes no argument")
		}
		return clearAll(s)
	case "detail":
		d, err := arg()
		if err != nil {
			return err
		}
		return c.showDetail(s, d)
	case "delete":
		d, err := arg()
		if err != nil {
			return err
		}
		if msg := checkExisting(s, d); msg != "" {
			return shell.Invalid(s, "domain", msg)
		}
		return remove(s, d)
	case "import", "export":
		name, err := arg()
		if err != nil {
			return err
		}
		if _, msg := s.ConfigFile(name); msg != "" {
			return shell.Invalid(s, "file", msg)
		}
		if op == "import" {
			return importNamed(s, name)
		}
		return exportNamed(s, name)
	}
	return shell.Invalid(s, "destconfig", fmt.Sprintf("unknown operation %q: the batch operations are list, detail, delete, clear, import and export", args[0]))
}

func checkExisting(s *shell.Session, d string) string {
	if s.Draft.Config().Destinations.Find(d) < 0 {
		return fmt.Sprintf("The domain %s was not found in the destination controls table.", d)
	}
	return ""
}

// usesDemo reports an outbound certificate that is the demonstration one.
func usesDemo(d *config.Destinations) bool {
	return d.Certificate == "" || d.Certificate == DemoCertificate
}

func newEntry(s *shell.Session) error {
	d := &s.Draft.Config().Destinations
	if len(d.Entries) >= config.MaxDestEntries {
		return s.Reject(fmt.Sprintf("There is a maximum of %d destination entries.", config.MaxDestEntries))
	}
	domain, err := s.Ask("Enter the domain you wish to configure.", "", func(a string) string {
		if r := config.CheckDestDomain(a); r != "" {
			return r
		}
		if d.Find(a) >= 0 {
			return fmt.Sprintf("The value %s is already in the destination controls table; use EDIT to change it.", config.NormalizeDomain(a))
		}
		return ""
	})
	if err != nil {
		return err
	}
	e, err := entryDialog(s, config.DestControl{Domain: config.NormalizeDomain(domain)}, true)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Entries = append(c.Destinations.Entries, e)
		return nil
	})
}

func editEntry(s *shell.Session) error {
	d := &s.Draft.Config().Destinations
	if len(d.Entries) == 0 {
		s.Println("There are no entries to edit.")
		return nil
	}
	domain, err := s.Ask("Enter the domain you wish to edit.", "", func(a string) string { return checkExisting(s, a) })
	if err != nil {
		return err
	}
	old := d.Entries[d.Find(domain)]
	e, err := entryDialog(s, old, false)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Entries[c.Destinations.Find(old.Domain)] = e
		return nil
	})
}

func deleteEntry(s *shell.Session) error {
	if len(s.Draft.Config().Destinations.Entries) == 0 {
		s.Println("There are no entries to delete.")
		return nil
	}
	domain, err := s.Ask("Enter the domain you wish to delete.", "", func(a string) string { return checkExisting(s, a) })
	if err != nil {
		return err
	}
	return remove(s, domain)
}

func remove(s *shell.Session, domain string) error {
	return s.Draft.Update(func(c *config.Config) error {
		i := c.Destinations.Find(domain)
		c.Destinations.Entries = append(c.Destinations.Entries[:i:i], c.Destinations.Entries[i+1:]...)
		return nil
	})
}

func clearAll(s *shell.Session) error {
	if len(s.Draft.Config().Destinations.Entries) == 0 {
		return nil
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Entries = []config.DestControl{}
		return nil
	})
}

// entryEdit is one run of entryDialog: what every question about the entry
// needs besides the entry being edited.
type entryEdit struct {
	s         *shell.Session
	table     *config.Destinations
	domain    string
	old       config.DestControl // the entry before the dialog
	inherited config.DestControl // DEFAULT with every value set: the defaults of values the entry does not set
}

// entryDialog asks NEW's (and EDIT's) questions about e and returns the
// edited entry; e itself is not modified.
func entryDialog(s *shell.Session, e config.DestControl, isNew bool) (config.DestControl, error) {
	d := &s.Draft.Config().Destinations
	ed := entryEdit{s: s, table: d, domain: e.Domain, old: e, inherited: d.Default.Inherit(config.DestControl{})}
	if err := ed.limitQuestions(&e, isNew); err != nil {
		return e, err
	}
	if err := ed.msgsPerConnQuestion(&e); err != nil {
		return e, err
	}
	if err := ed.tlsQuestions(&e); err != nil {
		return e, err
	}
	if err := ed.bounceQuestions(&e); err != nil {
		return e, err
	}
	if err := ed.ipSortQuestion(&e); err != nil {
		return e, err
	}
	return e, nil
}

// limitQuestions asks the concurrency limit, the recipient limit and, when
// either is set, how the limits apply.
func (ed entryEdit) limitQuestions(e *config.DestControl, isNew bool) error {
	s, dom, old, def := ed.s, ed.domain, ed.old, ed.inherited
	yes, err := s.YesNo(fmt.Sprintf("Do you wish to configure a concurrency limit for %s?", dom), isNew || e.MaxConcurrency != 0)
	if err != nil {
		return err
	}
	e.MaxConcurrency = 0
	if yes {
		if e.MaxConcurrency, err = s.AskInt(fmt.Sprintf("Enter the max concurrency limit for %q.", dom),
			or(old.MaxConcurrency, def.MaxConcurrency), 1, config.MaxHostConcurrency); err != nil {
			return err
		}
	}

	if yes, err = s.YesNo("Do you wish to apply a recipient limit to this domain?", e.RecipientLimit != 0); err != nil {
		return err
	}
	e.RecipientLimit, e.RecipientMinutes = 0, 0
	if yes {
		if e.RecipientMinutes, err = s.AskInt("Enter the number of minutes used to measure the recipient limit.",
			or(old.RecipientMinutes, 60), 1, 60); err != nil {
			return err
		}
		if e.RecipientLimit, err = askCount(s, fmt.Sprintf("Enter the max number of recipients per %d minutes for %q.", e.RecipientMinutes, dom),
			or(old.RecipientLimit, def.RecipientLimit), config.MaxRecipientLimit); err != nil {
			return err
		}
	}

	e.LimitType, e.LimitApply = "", ""
	if e.MaxConcurrency != 0 || e.RecipientLimit != 0 {
		if e.LimitType, e.LimitApply, err = askLimits(s, "Select how you want to apply the limits for "+dom+":", old.Inherit(def)); err != nil {
			return err
		}
	}
	return nil
}

func (ed entryEdit) msgsPerConnQuestion(e *config.DestControl) error {
	yes, err := ed.s.YesNo("Do you wish to apply a messages-per-connection limit to this domain?", e.MaxMsgsPerConn != 0)
	if err != nil {
		return err
	}
	e.MaxMsgsPerConn = 0
	if yes {
		if e.MaxMsgsPerConn, err = ed.s.AskInt(fmt.Sprintf("Enter the max number of messages per connection for %q.", ed.domain),
			or(ed.old.MaxMsgsPerConn, ed.inherited.MaxMsgsPerConn), 1, config.MaxMsgsPerConn); err != nil {
			return err
		}
	}
	return nil
}

// tlsQuestions asks the TLS setting and, when it negotiates TLS, DANE and the
// demo-certificate confirmation (N keeps the previous TLS and DANE).
func (ed entryEdit) tlsQuestions(e *config.DestControl) error {
	s, old, def := ed.s, ed.old, ed.inherited
	yes, err := s.YesNo("Do you wish to apply a specific TLS setting for this domain?", e.TLS != config.TLSOutDefault)
	if err != nil {
		return err
	}
	e.TLS, e.DANE = config.TLSOutDefault, ""
	if !yes {
		return nil
	}
	if e.TLS, err = askTLS(s, or(old.TLS, def.TLS)); err != nil {
		return err
	}
	if !e.TLS.On() {
		return nil
	}
	dane, err := s.YesNo("Do you wish to configure DANE Support for this domain?", old.DANE != "")
	if err != nil {
		return err
	}
	if dane {
		if e.DANE, err = askDANE(s, "Please choose a DANE option:", or(old.DANE, def.DANE)); err != nil {
			return err
		}
	}
	ok, err := demoWarning(s, ed.table)
	if err != nil {
		return err
	}
	if !ok {
		e.TLS, e.DANE = old.TLS, old.DANE
	}
	return nil
}

// bounceQuestions asks the bounce verification tagging and the bounce profile.
func (ed entryEdit) bounceQuestions(e *config.DestControl) error {
	s, old, def := ed.s, ed.old, ed.inherited
	yes, err := s.YesNo("Do you wish to apply a specific bounce verification address tagging setting for this domain?", e.BounceVerify != "")
	if err != nil {
		return err
	}
	e.BounceVerify = ""
	if yes {
		on, err := s.YesNo("Perform bounce verification address tagging?", old.BounceVerify.Or(def.BounceVerify).EqualBool(true))
		if err != nil {
			return err
		}
		e.BounceVerify = config.NewOnOff(on)
	}

	if yes, err = s.YesNo("Do you wish to apply a specific bounce profile to this domain?", e.BounceProfile != ""); err != nil {
		return err
	}
	e.BounceProfile = ""
	if yes {
		if e.BounceProfile, err = askBounceProfile(s, ed.table, or(old.BounceProfile, def.BounceProfile)); err != nil {
			return err
		}
	}
	return nil
}

func (ed entryEdit) ipSortQuestion(e *config.DestControl) error {
	yes, err := ed.s.YesNo("Do you wish to apply a specific IP sort preference to this domain?", e.IPSort != "")
	if err != nil {
		return err
	}
	e.IPSort = ""
	if yes {
		if e.IPSort, err = askIPSort(ed.s, or(ed.old.IPSort, ed.inherited.IPSort)); err != nil {
			return err
		}
	}
	return nil
}

func editDefault(s *shell.Session) error {
	d := &s.Draft.Config().Destinations
	e := d.Default.Inherit(config.DestControl{})
	old := e
	var err error
	if e.MaxConcurrency, err = s.AskInt("Enter the default maximum concurrency limit.", or(e.MaxConcurrency, 500), 1, config.MaxHostConcurrency); err != nil {
		return err
	}
	limit, err := s.YesNo("Do you wish to specify a default recipient limit?", e.RecipientLimit != 0)
	if err != nil {
		return err
	}
	e.RecipientLimit, e.RecipientMinutes = 0, 0
	if limit {
		if e.RecipientMinutes, err = s.AskInt("Enter the number of minutes used to measure recipient limit.", or(old.RecipientMinutes, 60), 1, 60); err != nil {
			return err
		}
		if e.RecipientLimit, err = askCount(s, fmt.Sprintf("Enter number of recipients per %d minutes.", e.RecipientMinutes), old.RecipientLimit, config.MaxRecipientLimit); err != nil {
			return err
		}
	}
	if e.LimitType, e.LimitApply, err = askLimits(s, "Select how you want to apply the limits for the default:", old); err != nil {
		return err
	}
	if e.MaxMsgsPerConn, err = s.AskInt("Enter the default maximum number of messages per connection.", or(e.MaxMsgsPerConn, 50), 1, config.MaxMsgsPerConn); err != nil {
		return err
	}
	if e.TLS, err = askTLS(s, or(old.TLS, config.TLSOutNo)); err != nil {
		return err
	}
	e.DANE = config.DANEOff
	if e.TLS.On() {
		if e.DANE, err = askDANE(s, "Do you want to use DANE Support?", or(old.DANE, config.DANEOff)); err != nil {
			return err
		}
		ok, err := demoWarning(s, d)
		if err != nil {
			return err
		}
		if !ok {
			e.TLS, e.DANE = old.TLS, old.DANE
		}
	}
	on, err := s.YesNo("Do you wish to perform bounce verification address tagging?", old.BounceVerify.EqualBool(true))
	if err != nil {
		return err
	}
	e.BounceVerify = config.NewOnOff(on)
	if e.IPSort, err = askIPSort(s, or(old.IPSort, config.IPPreferV6)); err != nil {
		return err
	}
	e.Domain = config.DefaultDomain
	if e.BounceProfile == "" {
		e.BounceProfile = config.DefaultBounceProfile
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Default = e
		return nil
	})
}

func setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	if len(cfg.Certificates) == 0 {
		return s.Reject("There are no certificates configured; use certconfig to add one.")
	}
	names := make([]string, len(cfg.Certificates))
	def := 0
	for i, ct := range cfg.Certificates {
		names[i] = ct.Name
		if ct.Name == cfg.Destinations.Certificate {
			def = i + 1
		}
	}
	if def == 0 {
		def = 1
	}
	i, err := s.Choose("Please choose the certificate to use for all outbound TLS connections:", names, def, true)
	if err != nil {
		return err
	}
	alert, err := s.YesNo("Do you want to send an alert when a required TLS connection fails?", cfg.Destinations.AlertOnTLSFail)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Certificate = names[i]
		c.Destinations.AlertOnTLSFail = alert
		return nil
	})
}

// demoWarning asks for confirmation when TLS would use the demonstration
// certificate; it reports whether to keep the TLS setting.
func demoWarning(s *shell.Session, d *config.Destinations) (bool, error) {
	if !usesDemo(d) {
		return true, nil
	}
	s.Println("You have not entered a certificate for outbound TLS: the demonstration certificate will be used,")
	s.Println("which other mail servers cannot verify. Use destconfig SETUP to choose another certificate.")
	return s.YesNo("Do you want to use the demonstration certificate?", true)
}

func askTLS(s *shell.Session, cur config.TLSOut) (config.TLSOut, error) {
	labels := make([]string, len(config.TLSOutChoices))
	def := 1
	for i, t := range config.TLSOutChoices {
		labels[i] = t.Label()
		if t == cur {
			def = i + 1
		}
	}
	i, err := s.Choose("Do you want to use TLS support?", labels, def, false)
	if err != nil {
		return "", err
	}
	return config.TLSOutChoices[i], nil
}

func askDANE(s *shell.Session, q, cur string) (string, error) {
	labels := make([]string, len(config.DANEChoices))
	def := 1
	for i, v := range config.DANEChoices {
		labels[i] = config.DANELabel(v)
		if v == cur {
			def = i + 1
		}
	}
	i, err := s.Choose(q, labels, def, false)
	if err != nil {
		return "", err
	}
	return config.DANEChoices[i], nil
}

func askIPSort(s *shell.Session, cur string) (string, error) {
	labels := make([]string, len(config.IPSortChoices))
	def := 1
	for i, v := range config.IPSortChoices {
		labels[i] = config.IPSortLabel(v)
		if v == cur {
			def = i + 1
		}
	}
	i, err := s.Choose("How should the appliance sort IP addresses within an MX preference level?", labels, def, false)
	if err != nil {
		return "", err
	}
	return config.IPSortChoices[i], nil
}

// askLimits asks how the limits apply (whole domain or per MX IP) and
// where they are enforced (system wide or per Virtual Gateway).
func askLimits(s *shell.Session, q string, cur config.DestControl) (string, string, error) {
	def := 1
	if cur.LimitType == config.LimitPerMXIP {
		def = 2
	}
	i, err := s.Choose(q, []string{"One limit applies to the entire domain", "Separate limit for each mail exchanger IP address"}, def, false)
	if err != nil {
		return "", "", err
	}
	typ := []string{config.LimitPerDomain, config.LimitPerMXIP}[i]
	def = 1
	if cur.LimitApply == config.LimitPerVG {
		def = 2
	}
	if i, err = s.Choose("Select how the limits will be enforced:", []string{"System Wide", "Per Virtual Gateway(tm)"}, def, false); err != nil {
		return "", "", err
	}
	return typ, []string{config.LimitSystem, config.LimitPerVG}[i], nil
}

// askBounceProfile offers Default, the profiles in use and New Profile.
func askBounceProfile(s *shell.Session, d *config.Destinations, cur string) (string, error) {
	seen := map[string]bool{config.DefaultBounceProfile: true}
	var names []string
	for _, e := range append([]config.DestControl{d.Default}, d.Entries...) {
		if p := e.BounceProfile; p != "" && !seen[p] {
			seen[p] = true
			names = append(names, p)
		}
	}
	sort.Strings(names)
	items := append(append([]string{config.DefaultBounceProfile}, names...), "New Profile")
	def := 1
	for i, n := range items[:len(items)-1] {
		if n == cur {
			def = i + 1
		}
	}
	i, err := s.Choose("Please choose a bounce profile to apply:", items, def, true)
	if err != nil {
		return "", err
	}
	if i < len(items)-1 {
		return items[i], nil
	}
	return s.Ask("Enter the name of a profile to create.", "", func(a string) string {
		if seen[a] {
			return fmt.Sprintf("The value must be a new profile name: %s exists.", a)
		}
		return config.CheckBounceProfile(a)
	})
}

// askCount asks for a number from 1 to max; def 0 means no default (a
// blank answer goes back).
func askCount(s *shell.Session, q string, def, max int) (int, error) {
	if def > 0 {
		return s.AskInt(q, def, 1, max)
	}
	ans, err := s.Ask(q, "", func(a string) string {
		if n, ok := atoi(a); !ok || n < 1 || n > max {
			return fmt.Sprintf("The value must be an integer from 1 to %d.", max)
		}
		return ""
	})
	if err != nil {
		return 0, err
	}
	n, _ := atoi(ans)
	return n, nil
}

func atoi(a string) (int, bool) {
	n := 0
	if a == "" || len(a) > 10 {
		return 0, false
	}
	for _, c := range a {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// or returns v unless it is the zero value, else def.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
