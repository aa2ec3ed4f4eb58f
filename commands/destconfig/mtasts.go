package destconfig

import (
	"context"
	"strings"
	"time"

	"esash/config"
	"esash/shell"
)

// The MTASTS operation (esash's: AsyncOS has no MTA-STS). It is the last
// item of the menu and asks its questions in its own operation, so every
// existing destconfig script keeps its answers:
//
//	Do you want to apply MTA-STS policies (RFC 8461) to domains without a destination entry? [Y]>
//	Enter the destination entries exempt from MTA-STS policies (their own TLS setting governs), separated by commas, or NONE. [NONE]>
//
// The rule it configures (config.MTASTS, mta/mtasts.go): every delivery
// by MX applies its domain's policy, with or without a destination entry;
// an enforce policy raises the entry's TLS setting to Required - Verify,
// so a weaker setting written for the domain never undoes it silently.
// Exempting an entry is the explicit way to let its own setting govern.
// The operation's text and DETAIL's "MTA-STS" line say so.
//
// DETAIL of one domain adds whether MTA-STS applies, and, with the
// running MTA's cache, the policy in force and where it came from (the
// cache of the running configuration: a staged change applies at commit).

// PolicyReporter reports the MTA-STS policy in force for a domain, from
// the running MTA's cache (lookup false) — the appliance adapts the MTA,
// which commands never import.
type PolicyReporter interface {
	STSReport(ctx context.Context, domain string, lookup bool, emit func(string))
}

// NewWithPolicies returns destconfig whose DETAIL shows the policies p
// holds.
func NewWithPolicies(p PolicyReporter) Command { return Command{policies: p} }

func mtaSTS(s *shell.Session) error {
	d := s.Draft.Config().Destinations
	s.Println("Receiving domains publish MTA-STS policies: which mail exchangers take their mail, and whether")
	s.Println("they must be reached over TLS with a verified certificate. Policies apply to domains with or")
	s.Println("without a destination entry: an enforce policy raises the entry's TLS setting to Required - Verify.")
	s.Println("An entry exempted here applies no policy: its own TLS setting governs.")
	on, err := s.YesNo("Do you want to apply MTA-STS policies (RFC 8461) to domains without a destination entry?", !d.MTASTS.Off)
	if err != nil {
		return err
	}
	cur := "NONE"
	if len(d.MTASTS.Exempt) > 0 {
		cur = strings.Join(d.MTASTS.Exempt, ", ")
	}
	ans, err := s.Ask("Enter the destination entries exempt from MTA-STS policies (their own TLS setting governs), separated by commas, or NONE.", cur,
		func(a string) string { _, msg := parseEntryList(&d, a); return msg })
	if err != nil {
		return err
	}
	list, _ := parseEntryList(&d, ans)
	return s.Draft.Update(func(c *config.Config) error {
		c.Destinations.MTASTS = config.MTASTS{Off: !on, Exempt: list}
		return nil
	})
}

// parseEntryList reads a comma-separated list of existing entries.
func parseEntryList(d *config.Destinations, a string) ([]string, string) {
	if strings.EqualFold(strings.TrimSpace(a), "NONE") {
		return nil, ""
	}
	var out []string
	for _, f := range strings.Split(a, ",") {
		dom := config.NormalizeDomain(strings.TrimSpace(f))
		if dom == "" {
			continue
		}
		if d.Find(dom) < 0 {
			return nil, "There is no destination entry for " + dom + "; domains without one apply MTA-STS through the first question."
		}
		dup := false
		for _, o := range out {
			dup = dup || o == dom
		}
		if !dup {
			out = append(out, dom)
		}
	}
	if len(out) == 0 {
		return nil, "You must enter an entry or NONE."
	}
	return out, ""
}

// stsLabel says whether mail under the entry applies MTA-STS, and what
// that does to its TLS setting (DETAIL).
func stsLabel(m config.MTASTS, entry string, isDefault bool) string {
	switch {
	case isDefault && m.AppliesTo(config.DefaultDomain):
		return "Applied (an enforce policy raises TLS to Required - Verify)"
	case isDefault:
		return "Not applied"
	case m.AppliesTo(entry):
		return "Applied (an enforce policy raises this entry's TLS to Required - Verify)"
	}
	return "Not applied (exempt: this entry's own TLS setting governs)"
}

// policyLines are the running MTA's lines about domain's policy.
func (c Command) policyLines(domain string) string {
	if c.policies == nil {
		return ""
	}
	var b strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.policies.STSReport(ctx, domain, false, func(l string) {
		if strings.HasPrefix(l, "MTA-STS: not applied") {
			return // the entry's "MTA-STS" line says so (of the draft)
		}
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	})
	return b.String()
}
