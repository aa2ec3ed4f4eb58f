package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MTASTSPolicy is mtastsconfig: the MTA-STS policy (RFC 8461) this
// appliance publishes for the domains it receives mail for. The HTTPS
// service serves it as https://mta-sts.<domain>/.well-known/mta-sts.txt
// for each of Domains; the administrator publishes the _mta-sts TXT
// record (TXTRecord) in each domain's DNS. No domain: nothing is served.
type MTASTSPolicy struct {
	// Domains the policy is served for (mta-sts.<domain>), lower case,
	// no trailing dot.
	Domains []string `json:"domains,omitempty"`
	// Mode is enforce, testing or none (§5).
	Mode string `json:"mode,omitempty"`
	// MX are the policy's mx patterns: host names or *.domain (§3.2).
	MX []string `json:"mx,omitempty"`
	// MaxAge is the policy's max_age in seconds.
	MaxAge int64 `json:"max_age,omitempty"`
}

// MTA-STS policy bounds. RFC 8461 §3.2 allows max_age up to 31557600 s;
// esash refuses less than a day (§3.2 recommends weeks: a sender
// revalidates at most that often, so a shorter one protects little).
const (
	MTASTSMinMaxAge     = 86400
	MTASTSMaxMaxAge     = 31557600
	MTASTSDefaultMaxAge = 604800 // a week
)

// MTASTSModes are the accepted modes.
var MTASTSModes = []string{"enforce", "testing", "none"}

// DefaultMTASTSMX is the mx list offered when none is set: the host names
// of the interfaces that carry a Public listener (where this appliance
// receives mail), else the appliance's host name.
func DefaultMTASTSMX(cfg *Config) []string {
	var out []string
	for _, l := range cfg.Listeners {
		if l.Type != Public {
			continue
		}
		for _, in := range cfg.Interfaces {
			h := NormalizeDomain(in.Hostname)
			if in.Name == l.Interface && h != "" && !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	if len(out) == 0 && cfg.Hostname != "" {
		out = append(out, NormalizeDomain(cfg.Hostname))
	}
	return out
}

// Published reports whether any domain's policy is served.
func (p MTASTSPolicy) Published() bool { return len(p.Domains) > 0 }

// Serves reports whether host (a Host header or SNI name, any case, with or
// without a trailing dot) is mta-sts.<domain> of a published domain.
func (p MTASTSPolicy) Serves(host string) bool {
	host = NormalizeDomain(host)
	dom, ok := strings.CutPrefix(host, "mta-sts.")
	if !ok {
		return false
	}
	for _, d := range p.Domains {
		if d == dom {
			return true
		}
	}
	return false
}

// Text is the policy file (§3.2): version first, CRLF line endings.
func (p MTASTSPolicy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	b.WriteString("mode: " + p.Mode + "\r\n")
	for _, mx := range p.MX {
		b.WriteString("mx: " + mx + "\r\n")
	}
	b.WriteString("max_age: " + strconv.FormatInt(p.MaxAge, 10) + "\r\n")
	return b.String()
}

// ID is the policy id of the TXT record: 20 hex digits of the SHA-256 of
// the policy file, so it changes exactly when the file changes (§3.1: the
// id must change when the policy does; 1 to 32 letters and digits).
func (p MTASTSPolicy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	return hex.EncodeToString(sum[:10])
}

// TXTRecord is the _mta-sts record the administrator publishes for domain,
// in zone-file form.
func (p MTASTSPolicy) TXTRecord(domain string) string {
	return fmt.Sprintf("_mta-sts.%s. IN TXT \"v=STSv1; id=%s\"", domain, p.ID())
}

// CheckMXPattern validates an mx value: a host name, or "*." and a domain
// (§3.2), returning the reason or "".
func CheckMXPattern(v string) string {
	name := strings.TrimPrefix(v, "*.")
	if strings.Contains(name, "*") {
		return "The value must be a host name or *.domain (a wildcard only as the whole first label)."
	}
	if r := CheckHostname(name); r != "" {
		return r
	}
	return ""
}

// mtaSTSPolicy checks mtastsconfig: the policy is well formed and every
// domain's mta-sts host name is covered by the certificate of an HTTPS
// interface (refused otherwise: senders would fail the fetch, and the
// published policy would be stored and ignored).
func (c *checker) mtaSTSPolicy(cfg *Config) {
	p := cfg.MTASTSPolicy
	const base = "mta_sts_policy"
	if !p.Published() && p.Mode == "" && len(p.MX) == 0 && p.MaxAge == 0 {
		return
	}
	switch p.Mode {
	case "enforce", "testing", "none":
	default:
		c.errf(base+".mode", "%q: the mode must be enforce, testing or none", p.Mode)
	}
	if len(p.MX) == 0 && p.Mode != "none" {
		c.errf(base+".mx", "a policy in mode %s needs at least one mx pattern (host name or *.domain)", p.Mode)
	}
	for _, mx := range p.MX {
		if r := CheckMXPattern(mx); r != "" || mx != NormalizeDomain(mx) {
			c.errf(base+".mx", "%q: a lower-case host name or *.domain without a trailing dot is accepted", mx)
		}
	}
	if p.MaxAge < MTASTSMinMaxAge || p.MaxAge > MTASTSMaxMaxAge {
		c.errf(base+".max_age", "%d: from %d to %d seconds is accepted", p.MaxAge, MTASTSMinMaxAge, MTASTSMaxMaxAge)
	}
	seen := map[string]bool{}
	for _, d := range p.Domains {
		if r := CheckDomain(d); r != "" || d != NormalizeDomain(d) || strings.HasPrefix(d, ".") {
			c.errf(base+".domains", "%q: a lower-case domain name without a trailing dot is accepted", d)
			continue
		}
		if seen[d] {
			c.errf(base+".domains", "%q is listed twice", d)
		}
		seen[d] = true
		if msg := MTASTSCertificate(cfg, "mta-sts."+d); msg != "" {
			c.errf(base+".domains", "%q: %s", d, msg)
		}
	}
}

// MTASTSCertificate says why no HTTPS interface of cfg serves host with
// a certificate valid for it, or "" (the commit check's reason, which
// mtastsconfig shows as soon as the domains are entered).
func MTASTSCertificate(cfg *Config, host string) string {
	var tried []string
	for _, in := range cfg.Interfaces {
		if !in.HTTPS.Enabled {
			continue
		}
		for _, ct := range cfg.Certificates {
			if ct.Name != in.HTTPSCert {
				continue
			}
			tried = append(tried, fmt.Sprintf("%s (interface %s)", ct.Name, in.Name))
			certs, err := parseCerts(ct.CertPEM)
			if err == nil && certs[0].VerifyHostname(host) == nil {
				return ""
			}
		}
	}
	if len(tried) == 0 {
		return "no interface has HTTPS enabled to serve the policy (interfaceconfig)"
	}
	return fmt.Sprintf("the HTTPS certificate %s is not valid for %s; add the name to the certificate (certconfig) or choose another in interfaceconfig",
		strings.Join(tried, ", "), host)
}

// mtaSTSPolicyInventory classifies mtastsconfig.
func (m inventory) mtaSTSPolicy() {
	const by = "web/mtasts.go (the HTTPS service serves the policy file for mta-sts.<domain>)"
	const test = "web.TestMTASTSPolicyServed"
	m["mta_sts_policy.domains"] = enforced(by, test)
	m["mta_sts_policy.mode"] = enforced(by, test)
	m["mta_sts_policy.mx"] = enforced(by, test)
	m["mta_sts_policy.max_age"] = enforced(by, test)
}
