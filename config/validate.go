package config

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Problem is one finding of the commit check.
type Problem struct {
	Path    string // field path: listeners[IncomingMail].certificate
	Msg     string
	Warning bool // reported but does not block a commit
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// Problems is every problem Validate found; as an error it blocks a commit
// when any of them is not a warning.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Errors returns the blocking problems.
func (ps Problems) Errors() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// Warnings returns the non-blocking problems.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

type checker struct {
	ps   Problems
	now  time.Time
	base *Config // the committed configuration, or nil
}

func (c *checker) errf(path, format string, args ...any) {
	c.ps = append(c.ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warnf(path, format string, args ...any) {
	c.ps = append(c.ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// Validate checks a whole configuration: every field, every cross
// reference, every certificate against its key. It returns all problems at
// once, warnings included, or nil.
func Validate(cfg *Config, now time.Time) Problems {
	return ValidateChange(nil, cfg, now)
}

// ValidateChange is Validate for a candidate that replaces base. A
// certificate profile that base already held unchanged is not parsed again,
// and its expiry is a warning: a certificate that expired in service must
// not block unrelated commits (nor its own replacement).
func ValidateChange(base, cfg *Config, now time.Time) Problems {
	c := &checker{now: now, base: base}
	if r := CheckHostname(cfg.Hostname); r != "" {
		c.errf("hostname", "%s", r)
	}
	certs := c.certificates(cfg)
	ifaces := c.interfaces(cfg, certs)
	c.listeners(cfg, ifaces, certs)
	c.listenerDetails(cfg, ifaces, certs)
	c.destinations(cfg, certs)
	c.routes(cfg)
	c.alerts(cfg)
	c.outbound(cfg) // validate_dest.go
	c.services(cfg, ifaces, certs)
	c.dns(cfg, ifaces) // dns.go
	c.ldapAndWebSecurity(cfg)
	c.users(cfg)
	c.ssl(cfg)       // ssl.go
	c.crls(cfg)      // crl.go
	c.acme(cfg)      // acme.go
	c.inventory(cfg) // validate_inventory.go

	c.mtaSTSPolicy(cfg) // mtasts_policy.go
	if len(c.ps) == 0 {
		return nil
	}
	return c.ps
}

// names checks that keys are unique and well formed and returns them as a set.
func (c *checker) names(path string, keys []string, check func(string) string) map[string]bool {
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		p := itemPath(path, k)
		if set[k] {
			c.errf(p, "duplicate name %q", k)
		}
		set[k] = true
		if r := check(k); r != "" {
			c.errf(p, "%s", r)
		}
	}
	return set
}

// InternalListener is the listener name the queue records for mail the
// appliance writes itself (alerts, bounces): such mail leaves from
// alertconfig's interface, so no real listener may carry the name.
const InternalListener = "internal"

// checkListenerName is CheckName, and the internal name refused.
func checkListenerName(n string) string {
	if strings.EqualFold(n, InternalListener) {
		return fmt.Sprintf("The name %q is reserved for mail the appliance writes itself; choose another.", n)
	}
	return CheckName(n)
}

// CheckName validates a profile or object name: a letter first, then
// letters, digits, '-', '_' or '.'.
func CheckName(n string) string {
	if n == "" {
		return "The value must not be empty."
	}
	if len(n) > 64 {
		return "The value must be at most 64 characters long."
	}
	for i, r := range n {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
		if !ok {
			return "The value must begin with a letter and contain only letters, digits, '-', '_' and '.'."
		}
	}
	return ""
}

func (c *checker) port(path string, p int) {
	if p < 1 || p > 65535 {
		c.errf(path, "The value must be a port number between 1 and 65535, not %d.", p)
	}
}

func (c *checker) ref(path, name, what string, set map[string]bool) {
	if name != "" && !set[name] {
		c.errf(path, "%s %q does not exist", what, name)
	}
}

func (c *checker) interfaces(cfg *Config, certs map[string]bool) map[string]Interface {
	out := map[string]Interface{}
	keys := make([]string, len(cfg.Interfaces))
	for i, in := range cfg.Interfaces {
		keys[i] = in.Name
	}
	c.names("interfaces", keys, CheckName)
	addrs := map[string]string{}
	for _, in := range cfg.Interfaces {
		p := itemPath("interfaces", in.Name)
		out[in.Name] = in
		a, err := netip.ParseAddr(in.IPv4)
		if err != nil || !a.Is4() {
			c.errf(p+".ipv4", "The IP address must be 4 numbers separated by a period, not %q.", in.IPv4)
		} else if other, dup := addrs[in.IPv4]; dup {
			c.errf(p+".ipv4", "The IP address %q is already configured on interface %s.", in.IPv4, other)
		} else {
			addrs[in.IPv4] = in.Name
		}
		if in.PrefixLen < 0 || in.PrefixLen > 32 {
			c.errf(p+".prefixlen", "The value must be a netmask length between 0 and 32.")
		}
		if in.IPv6 != "" {
			if a, err := netip.ParseAddr(in.IPv6); err != nil || !a.Is6() {
				c.errf(p+".ipv6", "The value must be an IPv6 address, not %q.", in.IPv6)
			}
		}
		if r := CheckHostname(in.Hostname); r != "" {
			c.errf(p+".hostname", "%s", r)
		}
		// The ports of the services: interfaceDetails (validate_listener.go).
		if in.HTTPS.Enabled {
			if in.HTTPSCert == "" {
				c.errf(p+".https_certificate", "HTTPS is enabled but no certificate is chosen")
			}
			c.ref(p+".https_certificate", in.HTTPSCert, "certificate profile", certs)
		}
	}
	return out
}

func (c *checker) listeners(cfg *Config, ifaces map[string]Interface, certs map[string]bool) {
	keys := make([]string, len(cfg.Listeners))
	for i, l := range cfg.Listeners {
		keys[i] = l.Name
	}
	c.names("listeners", keys, checkListenerName)
	bound := map[string]string{}
	for _, l := range cfg.Listeners {
		p := itemPath("listeners", l.Name)
		switch l.Type {
		case Public, Private, Blackhole:
		default:
			c.errf(p+".type", "The value must be Public, Private or Blackhole, not %q.", l.Type)
		}
		if l.Protocol != "SMTP" && l.Protocol != "QMQP" {
			c.errf(p+".protocol", "The value must be SMTP or QMQP, not %q.", l.Protocol)
		}
		c.port(p+".port", l.Port)
		in, ok := ifaces[l.Interface]
		if !ok {
			c.errf(p+".interface", "interface %q does not exist", l.Interface)
		} else {
			addr := fmt.Sprintf("%s:%d", in.IPv4, l.Port)
			if other, dup := bound[addr]; dup {
				c.errf(p+".port", "port %d on interface %s is already used by listener %s", l.Port, l.Interface, other)
			}
			bound[addr] = l.Name
		}
		c.ref(p+".certificate", l.Certificate, "certificate profile", certs)
		c.hat(p, l)
	}
}

func (c *checker) hat(p string, l Listener) {
	pkeys := make([]string, len(l.Policies))
	for i, mp := range l.Policies {
		pkeys[i] = mp.Name
	}
	policies := c.names(p+".policies", pkeys, CheckName)
	for _, mp := range l.Policies {
		switch mp.Action {
		case Accept, Reject, TCPRefuse, Relay, Continue:
		default:
			c.errf(itemPath(p+".policies", mp.Name)+".action", "The value must be ACCEPT, REJECT, TCPREFUSE, RELAY or CONTINUE, not %q.", mp.Action)
		}
		c.tlsIn(itemPath(p+".policies", mp.Name)+".params.tls", mp.Params.TLS, true)
	}
	c.tlsIn(p+".default_policy.tls", l.DefaultPolicy.TLS, false)
	gkeys := make([]string, len(l.SenderGroups))
	for i, g := range l.SenderGroups {
		gkeys[i] = g.Name
	}
	c.names(p+".sender_groups", gkeys, CheckName)
	for _, g := range l.SenderGroups {
		gp := itemPath(p+".sender_groups", g.Name)
		c.ref(gp+".policy", g.Policy, "mail flow policy", policies)
		for _, h := range g.Hosts {
			if r := CheckHostPattern(h); r != "" {
				c.errf(gp+".hosts", "%q: %s", h, r)
			}
		}
	}
}

func (c *checker) tlsIn(path string, t TLSIn, mayInherit bool) {
	switch t {
	case TLSInOff, TLSInPreferred, TLSInRequired:
	case TLSInDefault:
		if !mayInherit {
			c.errf(path, "The value must be off, preferred or required.")
		}
	default:
		c.errf(path, "The value must be off, preferred or required, not %q.", t)
	}
}

// CheckHostPattern validates a sender group entry: an IP address, a CIDR
// block, an address range (10.1.1.1-50), a host name, a .domain pattern, or
// ALL.
func CheckHostPattern(h string) string {
	switch {
	case h == "ALL":
		return ""
	case strings.Contains(h, "/"):
		if _, err := netip.ParsePrefix(h); err != nil {
			return "A CIDR address is an IP address followed by a slash and a prefix length."
		}
		return ""
	case strings.Contains(h, "-") && (looksNumeric(h) || strings.Contains(h, ":")):
		lo, hi, _ := strings.Cut(h, "-")
		a, err := netip.ParseAddr(lo)
		if err != nil {
			return "Invalid IP or IP range."
		}
		if b, err := netip.ParseAddr(hi); err == nil {
			if a.Is4() != b.Is4() || b.Less(a) {
				return "Invalid IP or IP range."
			}
			return ""
		}
		if !allDigits(hi) || !a.Is4() {
			return "Invalid IP or IP range."
		}
		last := a.As4()[3]
		n, err := strconv.Atoi(hi)
		if err != nil || n < int(last) || n > 255 {
			return "Invalid IP or IP range."
		}
		return ""
	case looksNumeric(h) || strings.Contains(h, ":"): // IPv6 has letters; no name has a colon
		if _, err := netip.ParseAddr(h); err != nil {
			return "Invalid IP or IP range."
		}
		return ""
	case strings.HasPrefix(h, "."):
		return CheckDomain(h)
	}
	return CheckDomain(h)
}

func looksNumeric(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

func (c *checker) destinations(cfg *Config, certs map[string]bool) {
	d := cfg.Destinations
	if d.Certificate == "" {
		c.errf("destinations.certificate", "no certificate is chosen for outbound TLS")
	}
	c.ref("destinations.certificate", d.Certificate, "certificate profile", certs)
	c.tlsOut("destinations.default.tls", d.Default.TLS, false)
	seen := make(map[string]bool, len(d.Entries))
	for i, e := range d.Entries {
		if seen[e.Domain] {
			c.errf(itemPath("destinations.entries", e.Domain), "duplicate domain %q", e.Domain)
		}
		seen[e.Domain] = true
		if c.entryUnchanged(i, e) {
			continue
		}
		p := itemPath("destinations.entries", e.Domain)
		if r := CheckDomain(e.Domain); r != "" {
			c.errf(p, "%s", r)
		}
		c.tlsOut(p+".tls", e.TLS, true)
		if e.RecipientMinutes != 0 && (e.RecipientMinutes < 1 || e.RecipientMinutes > 60) {
			c.errf(p+".recipient_minutes", "The value must be between 1 and 60.")
		}
	}
}

// entryUnchanged reports whether destination entry i is the one base
// holds at i. Its own checks (not the ones across entries) passed when
// base was committed, so they need not run again: a commit that changes
// one entry of ten thousand checks one.
func (c *checker) entryUnchanged(i int, e DestControl) bool {
	return c.base != nil && i < len(c.base.Destinations.Entries) && c.base.Destinations.Entries[i] == e
}

func (c *checker) tlsOut(path string, t TLSOut, mayInherit bool) {
	switch t {
	case TLSOutNo, TLSOutPreferred, TLSOutRequired, TLSOutPreferredVerify, TLSOutRequiredVerify:
	case TLSOutDefault:
		if !mayInherit {
			c.errf(path, "The value must be one of off, on, require, on_verify, require_verify.")
		}
	default:
		c.errf(path, "The value must be one of off, on, require, on_verify, require_verify, not %q.", t)
	}
}

func (c *checker) routes(cfg *Config) {
	seen := map[string]bool{}
	for _, r := range cfg.Routes {
		p := itemPath("smtproutes", r.Domain)
		if seen[r.Domain] {
			c.errf(p, "The value %s is already in the routing table.", r.Domain)
		}
		seen[r.Domain] = true
		if r.Domain != "ALL" {
			if m := CheckDomain(r.Domain); m != "" {
				c.errf(p, "%s", m)
			}
		}
		if len(r.Hosts) == 0 {
			c.errf(p+".hosts", "You must enter at least one destination host.")
		}
		for _, h := range r.Hosts {
			if h.Host == "USEDNS" || h.Host == "/dev/null" {
				continue
			}
			if _, err := netip.ParseAddr(strings.Trim(h.Host, "[]")); err != nil {
				if m := CheckHostname(h.Host); m != "" && checkLabel(h.Host) != "" {
					c.errf(p+".hosts", "%q: %s", h.Host, m)
				}
			}
			if h.Port != 0 {
				c.port(p+".hosts", h.Port)
			}
		}
	}
}

// CheckEmail validates an e-mail address as alertconfig accepts it.
func CheckEmail(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	// Brackets would end the address early in its setting path
	// (alerts.recipients[a@example.com]).
	if !ok || local == "" || strings.ContainsAny(local, " <>[]") {
		return "An email address is a localname, an @ and a domain (for example admin@example.com)."
	}
	if r := CheckDomain(domain); r != "" {
		return "The email domain must be a valid domain name."
	}
	return ""
}

func (c *checker) alerts(cfg *Config) {
	seen := map[string]bool{}
	for _, r := range cfg.Alerts.Recipients {
		p := itemPath("alerts.recipients", r.Address)
		if seen[r.Address] {
			c.errf(p, "duplicate recipient %q", r.Address)
		}
		seen[r.Address] = true
		if m := CheckEmail(r.Address); m != "" {
			c.errf(p, "%s", m)
		}
	}
	if cfg.Alerts.From != "" {
		if m := CheckEmail(cfg.Alerts.From); m != "" {
			c.errf("alerts.from", "%s", m)
		}
	}
	if cfg.Alerts.MaxWait < cfg.Alerts.InitialWait {
		c.errf("alerts.max_wait", "The debounce interval cannot be less than the initial wait.")
	}
}

// services checks what other sections reference: the LDAP and web security
// certificates, the delivery and LDAP interfaces.
func (c *checker) services(cfg *Config, ifaces map[string]Interface, certs map[string]bool) {
	c.ref("ldap.certificate", cfg.LDAP.Certificate, "certificate profile", certs)
	c.ref("websecurity.client_certificate", cfg.WebSecurity.ClientCertificate, "certificate profile", certs)
	for _, r := range []struct{ path, name string }{
		{"delivery.default_interface", cfg.Delivery.Interface},
		{"ldap.interface", cfg.LDAP.Interface},
		{"alerts.interface", cfg.Alerts.Interface},
	} {
		if _, ok := ifaces[r.name]; r.name != "" && r.name != "Auto" && !ok {
			c.errf(r.path, "interface %q does not exist", r.name)
		}
	}
	keys := make([]string, len(cfg.LDAP.Servers))
	for i, s := range cfg.LDAP.Servers {
		keys[i] = s.Name
	}
	c.names("ldap.servers", keys, CheckName)
	for _, s := range cfg.LDAP.Servers {
		c.port(itemPath("ldap.servers", s.Name)+".port", s.Port)
	}
}

func (c *checker) users(cfg *Config) {
	keys := make([]string, len(cfg.Users))
	for i, u := range cfg.Users {
		keys[i] = u.Name
	}
	c.names("users", keys, CheckName)
	for _, u := range cfg.Users {
		switch u.Role {
		case RoleAdmin, RoleOperator, RoleReadOnly:
		default:
			c.errf(itemPath("users", u.Name)+".role", "The value must be admin, operator or readonly, not %q.", u.Role)
		}
	}
}

func (c *checker) certificates(cfg *Config) map[string]bool {
	keys := make([]string, len(cfg.Certificates))
	for i, ct := range cfg.Certificates {
		keys[i] = ct.Name
	}
	set := c.names("certificates", keys, CheckName)
	old := map[string]Certificate{}
	if c.base != nil {
		for _, ct := range c.base.Certificates {
			old[ct.Name] = ct
		}
	}
	for _, ct := range cfg.Certificates {
		o, ok := old[ct.Name]
		c.certificate(ct, ok && certEqual(o, ct))
	}
	cas := make([]string, len(cfg.CAs.Custom))
	for i, ca := range cfg.CAs.Custom {
		cas[i] = ca.Name
	}
	// Almost any name will do for a CA (AsyncOS takes the subject), but
	// two of one name would be stored as one, and a bracket would end the
	// name early in its setting path.
	c.names("certauthority.custom", cas, func(n string) string {
		switch {
		case n == "":
			return "The value must not be empty."
		case strings.ContainsAny(n, "[]"):
			return "The value must not contain '[' or ']'."
		}
		return ""
	})
	for _, ca := range cfg.CAs.Custom {
		if _, err := parseCerts(ca.PEM); err != nil {
			c.errf(itemPath("certauthority.custom", ca.Name), "%v", err)
		}
	}
	return set
}

func certEqual(a, b Certificate) bool {
	return a.CertPEM == b.CertPEM && a.KeyPEM == b.KeyPEM && strings.Join(a.Intermediates, "") == strings.Join(b.Intermediates, "")
}

func (c *checker) certificate(ct Certificate, unchanged bool) {
	p := itemPath("certificates", ct.Name)
	certs, err := parseCerts(ct.CertPEM)
	if err != nil {
		c.errf(p+".certificate", "%v", err)
		return
	}
	leaf := certs[0]
	expiry := c.errf
	if unchanged {
		expiry = c.warnf
	}
	switch {
	case c.now.After(leaf.NotAfter):
		expiry(p+".certificate", "certificate expired on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	case c.now.Before(leaf.NotBefore):
		expiry(p+".certificate", "certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.DateOnly))
	case leaf.NotAfter.Sub(c.now) < 30*24*time.Hour:
		c.warnf(p+".certificate", "certificate expires on %s", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if unchanged {
		return // key and chain were checked when this profile was committed
	}
	key, err := parseKey(ct.KeyPEM)
	if err != nil {
		c.errf(p+".private_key", "%v", err)
		return
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.PublicKey) {
		c.errf(p+".private_key", "key does not sign certificate: the private key does not match the certificate's public key")
	}
	for i, in := range ct.Intermediates {
		if _, err := parseCerts(in); err != nil {
			c.errf(fmt.Sprintf("%s.intermediates[%d]", p, i+1), "%v", err)
		}
	}
}

func parseCerts(s string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("invalid certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM certificate found")
	}
	return out, nil
}

func parseKey(s string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, fmt.Errorf("no PEM private key found")
	}
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid private key: %w", err)
	}
	s2, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("invalid private key: unsupported type %T", k)
	}
	return s2, nil
}
