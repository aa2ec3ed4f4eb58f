package config

import (
	"fmt"
	"strings"
)

// Commit checks for the outbound side (destconfig, deliveryconfig,
// smtproutes, alertconfig) beyond the basic ones in validate.go: what the
// MTA could not apply or would apply to no effect.

// outbound is called once from ValidateChange.
func (c *checker) outbound(cfg *Config) {
	c.destControls(cfg)
	c.routeHosts(cfg)
	c.alertSubscriptions(cfg)
	c.deliveryLimits(cfg)
	c.mtaSTS(cfg) // mtasts.go
}

func (c *checker) destControls(cfg *Config) {
	d := cfg.Destinations
	noCA := !cfg.CAs.SystemEnabled && !cfg.CAs.CustomEnabled
	c.destEntry("destinations.default", d.Default, true, noCA)
	if len(d.Entries) > MaxDestEntries {
		c.errf("destinations.entries", "There is a maximum of %d destination entries.", MaxDestEntries)
	}
	for i, e := range d.Entries {
		if !noCA && c.entryUnchanged(i, e) {
			continue // its checks depend on nothing else but the CA lists
		}
		c.destEntry(itemPath("destinations.entries", e.Domain), e, false, noCA)
	}
}

// destEntry checks the values of one entry; the default must set them all.
func (c *checker) destEntry(p string, e DestControl, isDefault, noCA bool) {
	rng := func(field string, v, lo, hi int) {
		if v == 0 && !isDefault {
			return
		}
		if v < lo || v > hi {
			c.errf(p+"."+field, "The value must be an integer from %d to %d, not %d.", lo, hi, v)
		}
	}
	oneOf := func(field, v string, choices ...string) {
		if v == "" && !isDefault {
			return
		}
		for _, ch := range choices {
			if v == ch {
				return
			}
		}
		c.errf(p+"."+field, "The value must be one of %s, not %q.", strings.Join(choices, ", "), v)
	}
	rng("max_host_concurrency", e.MaxConcurrency, 1, MaxHostConcurrency)
	rng("max_messages_per_connection", e.MaxMsgsPerConn, 1, MaxMsgsPerConn)
	if e.RecipientLimit < 0 || e.RecipientLimit > MaxRecipientLimit {
		c.errf(p+".recipient_limit", "The value must be an integer from 1 to %d, not %d.", MaxRecipientLimit, e.RecipientLimit)
	}
	if e.RecipientLimit > 0 && e.RecipientMinutes == 0 {
		c.errf(p+".recipient_minutes", "A recipient limit needs the number of minutes it is measured over (1 to 60).")
	}
	if !isDefault && e.RecipientMinutes != 0 && e.RecipientLimit == 0 {
		c.errf(p+".recipient_limit", "The minutes of a recipient limit are set but the limit is not.")
	}
	oneOf("limit_type", e.LimitType, LimitPerDomain, LimitPerMXIP)
	oneOf("limit_apply", e.LimitApply, LimitSystem, LimitPerVG)
	oneOf("dane", e.DANE, DANEChoices...)
	oneOf("bounce_validation", string(e.BounceVerify), string(BounceVerifyOn), string(BounceVerifyOff))
	oneOf("ip_sort_pref", e.IPSort, IPSortChoices...)
	if e.BounceProfile != "" {
		if r := CheckBounceProfile(e.BounceProfile); r != "" {
			c.errf(p+".bounce_profile", "%s", r)
		}
	}
	if noCA && e.TLS == TLSOutRequiredVerify {
		c.errf(p+".tls", "Required - Verify cannot deliver: the system and the custom certificate authority lists are both disabled (certconfig > CERTAUTHORITY), so no certificate can be verified.")
	}
	if noCA && e.TLS == TLSOutPreferredVerify {
		c.warnf(p+".tls", "Preferred - Verify never verifies: the system and the custom certificate authority lists are both disabled.")
	}
}

func (c *checker) routeHosts(cfg *Config) {
	if len(cfg.Routes) > MaxRoutes {
		c.errf("smtproutes", "There is a maximum of %d routes.", MaxRoutes)
	}
	for _, r := range cfg.Routes {
		p := itemPath("smtproutes", r.Domain)
		if len(r.Hosts) == 0 {
			continue // validate.go reports it
		}
		if m := checkRouteHostSet(r.Hosts); m != "" {
			c.errf(p+".hosts", "%s", m)
		}
		seen := map[string]bool{}
		for _, h := range r.Hosts {
			if h.Priority < 0 || h.Priority > MaxPriority {
				c.errf(p+".hosts", "%q: the priority must be an integer from 0 to %d.", h.Host, MaxPriority)
			}
			if h.Host == "" {
				c.errf(p+".hosts", "A destination host must not be empty.")
				continue
			}
			k := fmt.Sprintf("%s:%d", strings.ToLower(h.Host), h.Port)
			if seen[k] {
				c.errf(p+".hosts", "The host %s is listed twice.", h.String())
			}
			seen[k] = true
			if h.ARecords && CheckRouteHostname(h.Host) != "" {
				c.errf(p+".hosts", "%q: %s", h.Host, CheckRouteHostname(h.Host))
			}
		}
	}
}

func (c *checker) alertSubscriptions(cfg *Config) {
	for _, r := range cfg.Alerts.Recipients {
		p := itemPath("alerts.recipients", r.Address)
		for _, cl := range r.Classes {
			if _, ok := CanonicalAlertClass(cl); !ok {
				c.errf(p+".classes", "Unknown alert class %q.", cl)
			}
		}
		for _, s := range r.Severities {
			if _, ok := CanonicalSeverity(s); !ok {
				c.errf(p+".severities", "Unknown severity %q.", s)
			}
		}
		for _, l := range r.Levels {
			cl, ok := CanonicalAlertClass(l.Class)
			switch {
			case !ok || cl == AlertClassAll || cl == AlertReleaseNotes:
				c.errf(p+".levels", "The class %q cannot have its own severities.", l.Class)
			case !hasFold(r.Classes, cl) && !hasFold(r.Classes, AlertClassAll):
				c.errf(p+".levels", "The class %q has severities but is not subscribed.", l.Class)
			}
			for _, s := range l.Severities {
				if _, ok := CanonicalSeverity(s); !ok {
					c.errf(p+".levels", "Unknown severity %q.", s)
				}
			}
		}
	}
	if cfg.Alerts.InitialWait < 0 {
		c.errf("alerts.initial_wait", "The value must not be negative.")
	}
	if cfg.Alerts.MaxSaved < 0 {
		c.errf("alerts.max_saved", "The value must not be negative.")
	}
	if n := cfg.Alerts.CertExpiryDays; n < 0 || n > MaxCertExpiryDays {
		c.errf("alerts.cert_expiry_days", "The value must be an integer from 1 to %d (days before a certificate expires), not %d.", MaxCertExpiryDays, n)
	}
}

func (c *checker) deliveryLimits(cfg *Config) {
	d := cfg.Delivery
	if d.MaxConcurrency < 1 || d.MaxConcurrency > MaxDeliveryConcurrency {
		c.errf("delivery.max_concurrency", "The value must be an integer from 1 to %d, not %d.", MaxDeliveryConcurrency, d.MaxConcurrency)
	}
	if d.MaxTLSConcurrency < 1 || d.MaxTLSConcurrency > max(d.MaxConcurrency, 1) {
		c.errf("delivery.max_tls_concurrency", "The value must be an integer from 1 to the system wide maximum (%d), not %d.", d.MaxConcurrency, d.MaxTLSConcurrency)
	}
}
