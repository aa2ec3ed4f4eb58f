package destconfig

import (
	"fmt"
	"sort"
	"strings"

	"esash/config"
	"esash/shell"
)

// LIST and DETAIL: every value shown is the one in effect; a value an
// entry inherits from the DEFAULT entry reads "Default (value)".

func inherited(set bool, label string) string {
	if set {
		return label
	}
	return "Default (" + label + ")"
}

func onOffLabel(v config.OnOff) string {
	if v.EqualBool(true) {
		return "On"
	}
	return "Off"
}

// sorted returns the entries in domain order (the table keeps the order
// they were created in).
func sorted(entries []config.DestControl) []config.DestControl {
	out := append([]config.DestControl(nil), entries...)
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out
}

// listRow is one line of LIST.
func listRow(e, def config.DestControl, isDefault bool) [7]string {
	eff := e.Inherit(def)
	name := e.Domain
	inherited := func(set bool, label string) string { return inherited(set || isDefault, label) }
	if isDefault {
		name = "(Default)"
	}
	rate := "Default"
	if e.MaxConcurrency != 0 || e.RecipientLimit != 0 || isDefault {
		rate = "On"
	}
	profile := inherited(e.BounceProfile != "" || eff.BounceProfile == config.DefaultBounceProfile, eff.BounceProfile)
	return [7]string{
		name,
		rate,
		inherited(e.TLS != config.TLSOutDefault, eff.TLS.Label()),
		inherited(e.DANE != "" || e.TLS == config.TLSOutNo, config.DANELabel(eff.DANE)),
		inherited(e.BounceVerify != "", onOffLabel(eff.BounceVerify)),
		profile,
		inherited(e.IPSort != "", config.IPSortLabel(eff.IPSort)),
	}
}

// formatList renders the LIST table.
func formatList(d *config.Destinations) string {
	def := d.Default.Inherit(config.DestControl{})
	rows := make([][7]string, 0, len(d.Entries)+1)
	for _, e := range sorted(d.Entries) {
		rows = append(rows, listRow(e, def, false))
	}
	rows = append(rows, listRow(d.Default, def, true))
	head := [2][7]string{
		{"", "Rate", "", "", "Bounce", "Bounce", "IP Sort"},
		{"Domain", "Limiting", "TLS", "DANE", "Verification", "Profile", "Preference"},
	}
	var w [7]int
	for _, r := range append(rows, head[0], head[1]) {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	b.Grow(len(rows) * 100)
	line := func(r [7]string) {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", w[i]-len(c)+2))
		}
		b.WriteByte('\n')
	}
	line(head[0])
	line(head[1])
	var rule [7]string
	for i := range rule {
		rule[i] = strings.Repeat("=", w[i])
	}
	line(rule)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func list(s *shell.Session) error {
	return s.Page(formatList(&s.Draft.Config().Destinations))
}

// writeDetail writes the DETAIL block of one entry (or the default).
func writeDetail(b *strings.Builder, e, def config.DestControl, isDefault bool, sts config.MTASTS) {
	eff := e.Inherit(def)
	inherited := func(set bool, label string) string { return inherited(set || isDefault, label) }
	if isDefault {
		b.WriteString("(Default)\n")
	} else {
		b.WriteString(e.Domain)
		b.WriteByte('\n')
	}
	field := func(label, value string) {
		b.WriteString("    ")
		b.WriteString(label)
		b.WriteString(": ")
		b.WriteString(value)
		b.WriteByte('\n')
	}
	field("Maximum messages per connection", inherited(e.MaxMsgsPerConn != 0, fmt.Sprint(eff.MaxMsgsPerConn)))
	field("Rate limiting", inherited(e.MaxConcurrency != 0, fmt.Sprintf("%d concurrent connections", eff.MaxConcurrency)))
	rcpt := "None"
	if eff.RecipientLimit != 0 {
		rcpt = fmt.Sprintf("%d recipients per %d minutes", eff.RecipientLimit, eff.RecipientMinutes)
	}
	field("Recipient limiting", inherited(e.RecipientLimit != 0, rcpt))
	scope := "one limit for the entire domain"
	if eff.LimitType == config.LimitPerMXIP {
		scope = "a separate limit for each mail exchanger IP address"
	}
	where := "system wide"
	if eff.LimitApply == config.LimitPerVG {
		where = "per Virtual Gateway(tm)"
	}
	field("Limits", inherited(e.LimitType != "", scope+", "+where))
	field("TLS", inherited(e.TLS != config.TLSOutDefault, eff.TLS.Label()))
	field("DANE", inherited(e.DANE != "" || e.TLS == config.TLSOutNo, config.DANELabel(eff.DANE)))
	field("Bounce verification address tagging", inherited(e.BounceVerify != "", onOffLabel(eff.BounceVerify)))
	field("Bounce profile", inherited(e.BounceProfile != "" || eff.BounceProfile == config.DefaultBounceProfile, eff.BounceProfile))
	field("IP sort preference", inherited(e.IPSort != "", config.IPSortLabel(eff.IPSort)))
	field("MTA-STS", stsLabel(sts, e.Domain, isDefault)) // mtasts.go
}

func formatDetail(d *config.Destinations, which string) string {
	def := d.Default.Inherit(config.DestControl{})
	var b strings.Builder
	if strings.EqualFold(which, "all") {
		b.Grow((len(d.Entries) + 1) * 420)
		for _, e := range sorted(d.Entries) {
			writeDetail(&b, e, def, false, d.MTASTS)
			b.WriteByte('\n')
		}
		writeDetail(&b, d.Default, def, true, d.MTASTS)
		return b.String()
	}
	if strings.EqualFold(which, config.DefaultDomain) || which == "(Default)" {
		writeDetail(&b, d.Default, def, true, d.MTASTS)
		return b.String()
	}
	if i := d.Find(which); i >= 0 {
		writeDetail(&b, d.Entries[i], def, false, d.MTASTS)
		return b.String()
	}
	dom := config.NormalizeDomain(which)
	if i := d.Match(dom); i >= 0 {
		fmt.Fprintf(&b, "There is no entry for %s; mail to it uses the entry %s:\n", dom, d.Entries[i].Domain)
		writeDetail(&b, d.Entries[i], def, false, d.MTASTS)
		return b.String()
	}
	fmt.Fprintf(&b, "There is no entry for %s; mail to it uses the default:\n", dom)
	writeDetail(&b, d.Default, def, true, d.MTASTS)
	return b.String()
}

func checkDetail(a string) string {
	if strings.EqualFold(a, "all") || strings.EqualFold(a, config.DefaultDomain) || a == "(Default)" {
		return ""
	}
	return config.CheckDomain(a)
}

func (c Command) detail(s *shell.Session) error {
	which, err := s.Ask(`Enter the domain you wish to view, or "all" to view every entry.`, "", checkDetail)
	if err != nil {
		return err
	}
	return c.showDetail(s, which)
}

func (c Command) showDetail(s *shell.Session, which string) error {
	if msg := checkDetail(which); msg != "" {
		return shell.Invalid(s, "domain", msg)
	}
	text := formatDetail(&s.Draft.Config().Destinations, which)
	if !strings.EqualFold(which, "all") && !strings.EqualFold(which, config.DefaultDomain) && which != "(Default)" &&
		!strings.HasPrefix(which, ".") {
		text += c.policyLines(config.NormalizeDomain(which)) // mtasts.go
	}
	return s.Page(text)
}
