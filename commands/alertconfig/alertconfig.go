// Package alertconfig is the alertconfig command: who receives the
// appliance's alerts (recipients with alert classes and severities), the
// From address, and the alert settings of SETUP (duplicate-alert waits,
// AutoSupport, alerts kept, delivery interface, TLS for alert mail).
//
// The dialog follows AsyncOS 14.x (reference section 10):
//
//   - The screen lists the recipients under "Sending alerts to:" (absent
//     when there are none) and the settings; EDIT, DELETE and CLEAR are
//     offered only when there are recipients.
//   - NEW: the address, the classes (comma-separated numbers, default 1 =
//     All), the severities (default 1 = All; not asked when only Release
//     and Support Notifications is chosen).
//   - EDIT: the address (or its number), then, again and again until a
//     blank line, a class and its severities (5 = None unsubscribes); class
//     9 asks to enable or disable "Release and Support Notification?". Two
//     blank lines from EDIT return to the main prompt, one from any other
//     operation.
//   - FROM: EDIT (the From address) or DEFAULT (the system default), then
//     back to the alertconfig menu.
//   - "All" in the class list stands for the classes with severities
//     (System ... Directory Harvest Attack Prevention), not for Release and
//     Support Notifications, which is chosen on its own.
//   - AutoSupport and its weekly reports are asked and stored for script
//     compatibility: esash sends nothing to Cisco.
//   - SETUP asks about the weekly AutoSupport reports only when AutoSupport
//     is answered yes. Evidence: asyncos-cli-2.md 5.1 ("only when
//     AutoSupport is yes"), and IAF-KW alert_config_setup, which passes
//     "reports" to the configurator only when auto_support is yes (IAF
//     fails on a given answer whose question never comes). asyncos-cli.md
//     section 10 lists the question without that condition ([I-map]), so a
//     script written from it sends an answer with AutoSupport off: a
//     yes/no at "Maximum number of alerts to save." is taken as that
//     answer and the number is asked again, so both kinds of script end
//     with the same configuration.
//
// The alert sent when a required TLS connection fails (destconfig SETUP)
// is class System, severity Warning.
//
// WARNDAYS (esash, issue 15; AsyncOS has no such setting, the reference
// lists none) sets how many days before a certificate expires the System
// class is first warned (alerts.cert_expiry_days, default 30); the later
// warnings come at 7 and 1 days where those are below it. It is an
// operation of its own, not a question at the end of SETUP: scripts end
// SETUP's answers with the blank line that leaves the menu, which a new
// last question would take as its answer, and the next command would then
// be read as a menu choice. Its name starts with a letter no other
// operation starts with, so no prefix a script types changes meaning, and
// it comes last, so the operation numbers do not move. The screen shows the
// value on a line of its own.
package alertconfig

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"esash/config"
	"esash/shell"
)

// Command is alertconfig.
type Command struct{}

// New returns the alertconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "alertconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure email alerts" }

// classItems is the class list of NEW and EDIT: All, the classes with
// severities, Release and Support Notifications.
var classItems = append(append([]string{config.AlertClassAll}, config.AlertClasses...), config.AlertReleaseNotes)

var severityItems = []string{"All", "Critical", "Warning", "Information"}

// errRedraw ends a menu round so the menu is built again: its operations
// depend on whether recipients exist.
var errRedraw = errors.New("redraw")

// Run shows the alertconfig screen and menu.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return shell.Invalid(s, "alertconfig", "takes no batch arguments")
	}
	for {
		err := s.Menu(screen, items(s))
		if !errors.Is(err, errRedraw) {
			return err
		}
	}
}

func items(s *shell.Session) []shell.MenuItem {
	redraw := func(f func(*shell.Session) error) func(*shell.Session) error {
		return func(s *shell.Session) error {
			if err := f(s); err != nil && !errors.Is(err, shell.ErrBack) {
				return err
			}
			return errRedraw
		}
	}
	out := []shell.MenuItem{{Name: "NEW", Help: "Add a new email address to send alerts.", Run: redraw(newRecipient)}}
	if len(s.Draft.Config().Alerts.Recipients) > 0 {
		out = append(out,
			shell.MenuItem{Name: "EDIT", Help: "Modify an email address.", Run: redraw(editRecipient)},
			shell.MenuItem{Name: "DELETE", Help: "Remove an email address.", Run: redraw(deleteRecipient)},
			shell.MenuItem{Name: "CLEAR", Help: "Remove all email addresses (disable alerts).", Run: redraw(clearRecipients)},
		)
	}
	return append(out,
		shell.MenuItem{Name: "SETUP", Help: "Configure alert settings.", Run: redraw(setup)},
		shell.MenuItem{Name: "FROM", Help: "Configure the From Address of alert emails.", Run: redraw(from)},
		shell.MenuItem{Name: "WARNDAYS", Help: "Configure the days before a certificate expires to send the first alert.", Run: redraw(warnDays)},
	)
}

func severityLabel(sev string) string {
	if sev == config.SeverityInfo {
		return "Information"
	}
	return sev
}

func severitiesLabel(sevs []string) string {
	switch len(sevs) {
	case 0:
		return "None"
	case len(config.AlertSeverities):
		return "All"
	}
	out := make([]string, len(sevs))
	for i, s := range sevs {
		out[i] = severityLabel(s)
	}
	return strings.Join(out, ", ")
}

// subscriptions describes what r receives, one line a class (one line for
// all of them when they share their severities).
func subscriptions(r config.AlertRecipient) []string {
	m := r.Matrix()
	var out []string
	uniform := len(m) == len(config.AlertClasses)
	first := ""
	for i, c := range config.AlertClasses {
		k := strings.Join(m[c], ",")
		if i == 0 {
			first = k
		} else if k != first {
			uniform = false
		}
	}
	if uniform {
		out = append(out, "Class: All - Severities: "+severitiesLabel(m[config.AlertSystem]))
	} else {
		for _, c := range config.AlertClasses {
			if sevs, ok := m[c]; ok {
				out = append(out, fmt.Sprintf("Class: %s - Severities: %s", c, severitiesLabel(sevs)))
			}
		}
	}
	if r.ReleaseNotes() {
		out = append(out, "Class: "+config.AlertReleaseNotes)
	}
	if len(out) == 0 {
		out = append(out, "No alerts")
	}
	return out
}

func screen(s *shell.Session) {
	a := s.Draft.Config().Alerts
	if len(a.Recipients) > 0 {
		s.Println("Sending alerts to:")
		for _, r := range a.Recipients {
			s.Printf("  %s\n", r.Address)
			for _, l := range subscriptions(r) {
				s.Printf("    %s\n", l)
			}
		}
	} else {
		s.Println("No email addresses are configured to receive alerts.")
	}
	s.Printf("Initial number of seconds to wait before sending a duplicate alert: %d\n", a.InitialWait)
	s.Printf("Maximum number of seconds to wait before sending a duplicate alert: %d\n", a.MaxWait)
	s.Println(config.MarkInactive("alerts.max_saved", fmt.Sprintf("Maximum number of alerts to save: %d", a.MaxSaved)))
	if a.From == "" {
		s.Println("Alerts will be sent using the system-default From Address.")
	} else {
		s.Printf("Alerts will be sent from: %s\n", a.From)
	}
	if a.AutoSupport {
		s.Println(config.MarkInactive("alerts.autosupport", "Cisco IronPort AutoSupport: Enabled"))
		if a.WeeklyReports {
			s.Println(config.MarkInactive("alerts.weekly_reports", "You will receive a copy of the weekly AutoSupport reports."))
		} else {
			s.Println(config.MarkInactive("alerts.weekly_reports", "You will not receive a copy of the weekly AutoSupport reports."))
		}
	} else {
		s.Println(config.MarkInactive("alerts.autosupport", "Cisco IronPort AutoSupport: Disabled"))
	}
	iface := a.Interface
	if iface == "" {
		iface = "Auto"
	}
	s.Printf("Default interface to deliver alerts: %s\n", iface)
	tls := "Disabled"
	if a.TLS {
		tls = "Enabled"
	}
	s.Printf("TLS for alert messages: %s\n", tls)
	s.Printf("Certificate expiry alerts (System class): %s\n", thresholdsLabel(a.CertExpiryThresholds()))
}

// thresholdsLabel is "30, 7 and 1 days before expiry".
func thresholdsLabel(days []int) string {
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	n := len(parts)
	list := parts[0]
	if n > 1 {
		list = strings.Join(parts[:n-1], ", ") + " and " + parts[n-1]
	}
	unit := "days"
	if n == 1 && days[0] == 1 {
		unit = "day"
	}
	return list + " " + unit + " before expiry"
}

// warnDays asks for alerts.cert_expiry_days.
func warnDays(s *shell.Session) error {
	a := s.Draft.Config().Alerts
	n, err := s.AskInt("Number of days before a certificate expires to send the first System alert.\nLater alerts follow at 7 days and at 1 day before expiry, where those are fewer.",
		a.CertExpiryWarnDays(), 1, config.MaxCertExpiryDays)
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Alerts.CertExpiryDays = n
		return nil
	})
}

// parseChoices reads a comma-separated list of numbers from 1 to n. alone
// lists choices that cannot be combined with others (1 = All, None).
func parseChoices(ans string, n int, alone map[int]string) ([]int, string) {
	var out []int
	seen := map[int]bool{}
	for _, p := range strings.Split(ans, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || k < 1 || k > n {
			return nil, fmt.Sprintf("The value must be numbers from 1 to %d separated by commas.", n)
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) > 1 {
		for _, k := range out {
			if what, ok := alone[k]; ok {
				return nil, what
			}
		}
	}
	return out, ""
}

func checkChoices(n int, alone map[int]string) func(string) string {
	return func(a string) string {
		_, msg := parseChoices(a, n, alone)
		return msg
	}
}

func printList(s *shell.Session, items []string) {
	for i, it := range items {
		s.Printf("%d. %s\n", i+1, it)
	}
}

var allAlone = map[int]string{1: "You cannot pick All while also picking other choices."}

func newRecipient(s *shell.Session) error {
	a := s.Draft.Config().Alerts
	addr, err := s.Ask("Please enter a new email address to send alerts.\n(Ex: \"administrator@example.com\")", "", func(x string) string {
		if msg := config.CheckEmail(x); msg != "" {
			return msg
		}
		if find(a.Recipients, x) >= 0 {
			return fmt.Sprintf("The value must be a new address: %s already receives alerts (use EDIT).", x)
		}
		return ""
	})
	if err != nil {
		return err
	}
	s.Println("Choose the Alert Classes. Separate multiple choices with commas.")
	printList(s, classItems)
	ans, err := s.Ask("", "1", checkChoices(len(classItems), allAlone))
	if err != nil {
		return err
	}
	classes, _ := parseChoices(ans, len(classItems), allAlone)
	levels := map[string][]string{}
	rsn := false
	var chosen []string
	for _, k := range classes {
		switch {
		case k == 1:
			chosen = append(chosen, config.AlertClasses...)
		case k == len(classItems):
			rsn = true
		default:
			chosen = append(chosen, classItems[k-1])
		}
	}
	if len(chosen) > 0 {
		s.Println("Select a Severity Level. Separate multiple choices with commas.")
		printList(s, severityItems)
		ans, err := s.Ask("", "1", checkChoices(len(severityItems), allAlone))
		if err != nil {
			return err
		}
		sevs := severitiesOf(ans)
		for _, c := range chosen {
			levels[c] = sevs
		}
	}
	r := config.NewAlertRecipient(addr, levels, rsn)
	return s.Draft.Update(func(c *config.Config) error {
		c.Alerts.Recipients = append(c.Alerts.Recipients, r)
		return nil
	})
}

// severitiesOf turns a checked answer of the severity list into names
// (nil for None).
func severitiesOf(ans string) []string {
	ks, _ := parseChoices(ans, len(severityItems)+1, nil)
	var out []string
	for _, k := range ks {
		switch {
		case k == 1:
			return config.AlertSeverities
		case k <= len(severityItems):
			out = append(out, config.AlertSeverities[k-2])
		}
	}
	return out
}

func find(rs []config.AlertRecipient, x string) int {
	for i, r := range rs {
		if strings.EqualFold(r.Address, x) {
			return i
		}
	}
	return -1
}

// chooseRecipient lists the recipients and returns the address chosen by
// address or number.
func chooseRecipient(s *shell.Session, q string) (string, error) {
	rs := s.Draft.Config().Alerts.Recipients
	for i, r := range rs {
		s.Printf("%d. %s\n", i+1, r.Address)
	}
	ans, err := s.Ask(q, "", func(a string) string {
		if n, err := strconv.Atoi(a); err == nil && n >= 1 && n <= len(rs) {
			return ""
		}
		if find(rs, a) >= 0 {
			return ""
		}
		return fmt.Sprintf("The value must be one of the addresses listed or its number (1 to %d).", len(rs))
	})
	if err != nil {
		return "", err
	}
	if n, err := strconv.Atoi(ans); err == nil {
		return rs[n-1].Address, nil
	}
	return rs[find(rs, ans)].Address, nil
}

func editRecipient(s *shell.Session) error {
	addr, err := chooseRecipient(s, "Please enter the email address or number you want to edit.")
	if err != nil {
		return err
	}
	noneAlone := map[int]string{1: allAlone[1], 5: "You cannot pick None while also picking other levels."}
	for {
		rs := s.Draft.Config().Alerts.Recipients
		r := rs[find(rs, addr)]
		m := r.Matrix()
		labels := make([]string, len(classItems))
		labels[0] = config.AlertClassAll
		for i, c := range config.AlertClasses {
			labels[i+1] = fmt.Sprintf("%s (%s)", c, severitiesLabel(m[c]))
		}
		rsn := r.ReleaseNotes()
		labels[len(labels)-1] = config.AlertReleaseNotes + " (Disabled)"
		if rsn {
			labels[len(labels)-1] = config.AlertReleaseNotes + " (Enabled)"
		}
		k, err := s.Choose(fmt.Sprintf("Choose the Alert Class to modify for %s:", r.Address), labels, 0, false)
		if errors.Is(err, shell.ErrBack) {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case k == len(classItems)-1:
			q := `Do you want to enable "Release and Support Notification?"`
			if rsn {
				q = `Do you want to disable "Release and Support Notification?"`
			}
			yes, err := s.YesNo(q, false)
			if err != nil {
				return err
			}
			if yes {
				rsn = !rsn
			}
		default:
			cur := m[config.AlertSystem]
			if k > 0 {
				cur = m[classItems[k]]
			}
			s.Println("Select a Severity Level. Separate multiple choices with commas.")
			printList(s, append(append([]string{}, severityItems...), "None"))
			ans, err := s.Ask("", choicesOf(cur), checkChoices(len(severityItems)+1, noneAlone))
			if err != nil {
				return err
			}
			sevs := severitiesOf(ans)
			if k == 0 {
				for _, c := range config.AlertClasses {
					m[c] = sevs
				}
			} else {
				m[classItems[k]] = sevs
			}
		}
		nr := config.NewAlertRecipient(r.Address, m, rsn)
		if err := s.Draft.Update(func(c *config.Config) error {
			c.Alerts.Recipients[find(c.Alerts.Recipients, addr)] = nr
			return nil
		}); err != nil {
			return err
		}
	}
}

// choicesOf is the severity list answer that selects sevs.
func choicesOf(sevs []string) string {
	switch len(sevs) {
	case 0:
		return "5"
	case len(config.AlertSeverities):
		return "1"
	}
	var out []string
	for _, s := range sevs {
		for i, x := range config.AlertSeverities {
			if s == x {
				out = append(out, strconv.Itoa(i+2))
			}
		}
	}
	return strings.Join(out, ",")
}

func deleteRecipient(s *shell.Session) error {
	addr, err := chooseRecipient(s, "Enter the email address or number you want to delete.")
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		i := find(c.Alerts.Recipients, addr)
		c.Alerts.Recipients = append(c.Alerts.Recipients[:i:i], c.Alerts.Recipients[i+1:]...)
		return nil
	})
}

func clearRecipients(s *shell.Session) error {
	return s.Draft.Update(func(c *config.Config) error {
		c.Alerts.Recipients = []config.AlertRecipient{}
		return nil
	})
}

// Bounds of SETUP's numbers.
const (
	maxWaitSeconds = 7 * 24 * 3600
	maxSaved       = 1000
)

func setup(s *shell.Session) error {
	cfg := s.Draft.Config()
	a := cfg.Alerts
	var err error
	if a.InitialWait, err = s.AskInt("Initial number of seconds to wait before sending a duplicate alert.\nEnter a value of 0 to disable duplicate alert summaries.",
		min(max(a.InitialWait, 0), maxWaitSeconds), 0, maxWaitSeconds); err != nil {
		return err
	}
	if a.InitialWait > 0 {
		ans, err := s.Ask("Maximum number of seconds to wait before sending a duplicate alert.", strconv.Itoa(max(a.MaxWait, a.InitialWait)), func(x string) string {
			n, err := strconv.Atoi(x)
			switch {
			case err != nil || n < 0 || n > maxWaitSeconds:
				return fmt.Sprintf("The value must be an integer from %d to %d.", a.InitialWait, maxWaitSeconds)
			case n < a.InitialWait:
				return fmt.Sprintf("The maximum debounce interval cannot be less than the initial debounce interval (%d).", a.InitialWait)
			}
			return ""
		})
		if err != nil {
			return err
		}
		a.MaxWait, _ = strconv.Atoi(ans)
	}
	if a.AutoSupport, err = s.YesNo("Would you like to enable Cisco IronPort AutoSupport, which automatically emails system alerts and weekly status reports directly to Cisco IronPort Customer Support?", a.AutoSupport); err != nil {
		return err
	}
	a.WeeklyReports = a.AutoSupport && a.WeeklyReports
	if a.AutoSupport {
		if a.WeeklyReports, err = s.YesNo("Would you like to receive a copy of the weekly AutoSupport reports?", a.WeeklyReports); err != nil {
			return err
		}
	}
	if a.MaxSaved, err = askMaxSaved(s, a.MaxSaved, !a.AutoSupport); err != nil {
		return err
	}
	items := []string{"Auto"}
	names := []string{"Auto"}
	def := 1
	for _, in := range cfg.Interfaces {
		items = append(items, fmt.Sprintf("%s (%s/%d: %s)", in.Name, in.IPv4, in.PrefixLen, in.Hostname))
		names = append(names, in.Name)
		if in.Name == a.Interface {
			def = len(names)
		}
	}
	i, err := s.Choose("Choose the default interface to be used to deliver alerts.", items, def, true)
	if err != nil {
		return err
	}
	a.Interface = names[i]
	if a.TLS, err = s.YesNo("Do you want to enable TLS support to send alert messages?", a.TLS); err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		rs := c.Alerts.Recipients
		c.Alerts = a
		c.Alerts.Recipients = rs
		return nil
	})
}

// qMaxSaved is SETUP's question after AutoSupport and its weekly reports.
const qMaxSaved = "Maximum number of alerts to save."

// askMaxSaved asks for the number of alerts to save. With AutoSupport off
// the weekly-reports question is not asked (see the package comment), and
// a yes/no given here is a script's answer to it: it is taken as such and
// the number asked again.
func askMaxSaved(s *shell.Session, current int, weeklySkipped bool) (int, error) {
	def := strconv.Itoa(min(max(current, 1), maxSaved))
	for {
		ans, err := s.Ask(qMaxSaved, def, func(a string) string {
			if weeklySkipped && isYesNo(a) {
				return ""
			}
			n, err := strconv.Atoi(a)
			if err != nil || n < 1 || n > maxSaved {
				return fmt.Sprintf("The value must be an integer from 1 to %d.", maxSaved)
			}
			return ""
		})
		if err != nil {
			return 0, err
		}
		if weeklySkipped && isYesNo(ans) {
			weeklySkipped = false // one answer only: the question is asked once
			continue
		}
		return strconv.Atoi(ans)
	}
}

// isYesNo reports an answer to a yes/no question.
func isYesNo(a string) bool {
	switch strings.ToLower(strings.TrimSpace(a)) {
	case "y", "yes", "n", "no":
		return true
	}
	return false
}

func from(s *shell.Session) error {
	a := s.Draft.Config().Alerts
	if a.From == "" {
		s.Println("Alerts will be sent using the system-default From Address.")
	} else {
		s.Printf("Alerts will be sent from: %s\n", a.From)
	}
	done := errors.New("done")
	err := s.Menu(nil, []shell.MenuItem{
		{Name: "EDIT", Help: "Edit the From Address of alert emails.", Run: func(s *shell.Session) error {
			addr, err := s.Ask("Please enter the From Address to use for alerts.", a.From, config.CheckEmail)
			if err != nil {
				return err
			}
			if err := s.Draft.Update(func(c *config.Config) error { c.Alerts.From = addr; return nil }); err != nil {
				return err
			}
			return done
		}},
		{Name: "DEFAULT", Help: "Use the System Default From Address.", Run: func(s *shell.Session) error {
			if err := s.Draft.Update(func(c *config.Config) error { c.Alerts.From = ""; return nil }); err != nil {
				return err
			}
			return done
		}},
	})
	if errors.Is(err, done) {
		return nil
	}
	return err
}
