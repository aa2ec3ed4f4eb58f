package config

import "slices"

// MTASTS is destconfig's MTASTS operation: where the MTA applies the
// MTA-STS policies (RFC 8461) receiving domains publish. A domain whose
// mail goes by the DEFAULT entry applies them unless Off; a domain with
// its own entry only when that entry's domain is in Domains (an explicit
// entry is the administrator's choice). An entry's own TLS setting (not
// Default) always wins over a policy; SMTP routes (smtproutes) are not MX
// delivery and never apply one.
type MTASTS struct {
	// Off: the DEFAULT entry's domains do not apply MTA-STS.
	Off bool `json:"off,omitempty"`
	// Domains are destconfig entries (as written there, ".example.com"
	// included) that apply MTA-STS too.
	Domains []string `json:"domains,omitempty"`
}

// AppliesTo reports whether mail governed by the destconfig entry named
// entry ("DEFAULT" when none matched) applies MTA-STS.
func (m MTASTS) AppliesTo(entry string) bool {
	if entry == DefaultDomain {
		return !m.Off
	}
	return slices.Contains(m.Domains, entry)
}

// mtaSTS checks destconfig MTASTS (called from outbound).
func (c *checker) mtaSTS(cfg *Config) {
	const p = "destinations.mta_sts.domains"
	seen := map[string]bool{}
	for _, d := range cfg.Destinations.MTASTS.Domains {
		if msg := CheckDestDomain(d); msg != "" {
			c.errf(p, "%q: %s", d, msg)
		}
		if d != NormalizeDomain(d) {
			c.errf(p, "%q: domains are stored in lower case without a trailing dot", d)
		}
		if seen[d] {
			c.errf(p, "%q is listed twice", d)
		}
		seen[d] = true
	}
}

// mtaSTSInventory classifies destconfig MTASTS.
func (m inventory) mtaSTS() {
	m["destinations.mta_sts.off"] = enforced("mta/mtasts.go (stsFor: the DEFAULT entry's domains apply published policies)", "mta.TestMTASTSEnforce")
	m["destinations.mta_sts.domains"] = enforced("mta/mtasts.go (stsFor: entries that apply published policies)", "mta.TestMTASTSExplicitEntry")
}
