package config

import "slices"

// MTASTS is destconfig's MTASTS operation: where the MTA applies the
// MTA-STS policies (RFC 8461) receiving domains publish, and where an
// administrator's own TLS setting governs instead.
//
// The rule (mta/mtasts.go enforces it): every delivery by MX applies the
// policy its domain publishes, whether the domain has a destination entry
// or goes by DEFAULT, unless the administrator exempted it here: Off
// exempts the domains without an entry, Exempt lists the entries exempted.
// An enforce policy requires TLS with a verified certificate naming the
// MX (RFC 8461 §4.2), so it raises the entry's TLS setting to Required -
// Verify; an entry's setting may be as strong, never weaker: a TLS "No" or
// "Preferred" written for a domain does not silently undo the domain's
// published requirement. An exempt entry is the explicit way to let the
// entry's own setting govern (a receiver known to break its own policy).
// SMTP routes (smtproutes) are not MX delivery and never apply a policy.
//
// Configurations saved before this rule listed in "domains" the entries
// that did apply MTA-STS; those entries apply it now as every entry does,
// so the old list is dropped when such a configuration is read.
type MTASTS struct {
	// Off: the domains without a destination entry do not apply MTA-STS.
	Off bool `json:"off,omitempty"`
	// Exempt are destconfig entries (as written there, ".example.com"
	// included) that do not apply MTA-STS: their own TLS setting governs.
	Exempt []string `json:"exempt,omitempty"`
}

// AppliesTo reports whether mail governed by the destconfig entry named
// entry ("DEFAULT" when none matched) applies MTA-STS.
func (m MTASTS) AppliesTo(entry string) bool {
	if entry == DefaultDomain {
		return !m.Off
	}
	return !slices.Contains(m.Exempt, entry)
}

// mtaSTS checks destconfig MTASTS (called from outbound).
func (c *checker) mtaSTS(cfg *Config) {
	const p = "destinations.mta_sts.exempt"
	seen := map[string]bool{}
	for _, d := range cfg.Destinations.MTASTS.Exempt {
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
	m["destinations.mta_sts.exempt"] = enforced("mta/mtasts.go (stsFor: exempt entries apply no policy; the others' TLS is raised by an enforce policy)", "mta.TestMTASTSExplicitEntry")
}
