package config

import (
	"net/netip"
	"net/url"
	"reflect"
	"strings"
)

// EthernetPorts are the Ethernet ports interfaceconfig offers, as on an
// AsyncOS appliance. An IP interface with no port is on Management.
var EthernetPorts = []string{"Data 1", "Data 2", "Management"}

// Defaults of listenerconfig SETUP, used where ListenSetup holds zero.
const (
	DefaultMaxConcurrency    = 300
	DefaultMaxTLSConcurrency = 100
	DefaultMaxHeaderLines    = 1000
	DefaultCounterReset      = 3600
	DefaultIdleTimeout       = 300
	DefaultMaxConnTime       = 900
	DefaultMaxSubjectLog     = 255
	DefaultTCPQueue          = 50
)

// Effective is the SETUP settings with AsyncOS defaults for unset values.
func (g ListenSetup) Effective() ListenSetup {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&g.MaxConcurrency, DefaultMaxConcurrency)
	def(&g.MaxTLSConcurrency, DefaultMaxTLSConcurrency)
	def(&g.MaxHeaderLines, DefaultMaxHeaderLines)
	def(&g.CounterReset, DefaultCounterReset)
	def(&g.IdleTimeout, DefaultIdleTimeout)
	def(&g.MaxConnTime, DefaultMaxConnTime)
	def(&g.MaxSubjectLog, DefaultMaxSubjectLog)
	if g.SenderBaseCache == "" {
		g.SenderBaseCache = "auto"
	}
	if g.ReceivedHostname == "" {
		g.ReceivedHostname = "interface"
	}
	g.AddMessageID = g.AddMessageID.Or(Off)
	g.RejectAtRcpt = g.RejectAtRcpt.Or(Off)
	return g
}

// InterfaceServices lists an interface's services with their names, in the
// order interfaceconfig asks for them.
func InterfaceServices(in Interface) []NamedService {
	return []NamedService{
		{"FTP", "ftp", in.FTP}, {"Telnet", "telnet", in.Telnet}, {"SSH", "ssh", in.SSH},
		{"Cluster Communication Service", "ccs", in.Cluster}, {"HTTP", "http", in.HTTP},
		{"HTTPS", "https", in.HTTPS}, {"Spam Quarantine HTTP", "euq_http", in.SpamQuarantineHTTP},
		{"Spam Quarantine HTTPS", "euq_https", in.SpamQuarantineHTTPS},
		{"AsyncOS API HTTP", "api_http", in.APIHTTP}, {"AsyncOS API HTTPS", "api_https", in.APIHTTPS},
	}
}

// NamedService is a Service with its display name and field path key.
type NamedService struct {
	Name, Key string
	Service
}

// listenerDetails is the commit check of interfaceconfig and listenerconfig
// beyond the cross references ValidateChange's listeners and interfaces
// already check: ports clashing on one address, IPv6 addresses, the
// services esash stores, the host access table's parameters and senders,
// the recipient access table and the global listener settings.
func (c *checker) listenerDetails(cfg *Config, ifaces map[string]Interface, certs map[string]bool) {
	c.interfaceDetails(cfg, certs)
	for _, l := range cfg.Listeners {
		p := itemPath("listeners", l.Name)
		if l.Certificate == "" {
			c.errf(p+".certificate", "no certificate is chosen for the listener")
		}
		if l.MaxConnections < 1 || l.MaxConnections > 10000 {
			c.errf(p+".max_connections", "The value must be a number from 1 to 10000, not %d.", l.MaxConnections)
		}
		if l.TCPQueue < 0 || l.TCPQueue > 10000 {
			c.errf(p+".tcp_queue", "The value must be a number from 1 to 10000, not %d.", l.TCPQueue)
		}
		if s := l.SenderBaseFiltering; !s.Valid() {
			c.errf(p+".senderbase_filtering", "The value must be \"on\" or \"off\", not %q.", s)
		}
		if d := l.DefaultDomain; d != "" && CheckDomain(d) != "" {
			c.errf(p+".default_domain", "%s", CheckDomain(d))
		}
		if in, ok := ifaces[l.Interface]; ok {
			for _, s := range InterfaceServices(in) {
				if s.Enabled && s.Port == l.Port {
					c.errf(p+".port", "port %d on interface %s is already used by the %s service", l.Port, in.Name, s.Name)
				}
			}
		}
		seen := map[string]bool{}
		for _, a := range l.AcceptDomains {
			if r := CheckRecipientPattern(a); r != "" {
				c.errf(p+".rcpt_access", "%q: %s", a, r)
			}
			if seen[strings.ToLower(a)] {
				c.errf(p+".rcpt_access", "%q is listed twice", a)
			}
			seen[strings.ToLower(a)] = true
		}
		c.hatDetails(p, l)
		c.slowClients(p, l.SlowClients)
	}
	c.listenSetup(cfg.ListenSetup)
}

func (c *checker) hatDetails(p string, l Listener) {
	d := l.DefaultPolicy
	for _, f := range []struct {
		key string
		v   int64
	}{
		{"max_message_size", d.MaxMessageSize}, {"max_concurrency", int64(d.MaxConcurrency)},
		{"max_msgs_per_connection", int64(d.MaxMsgsPerConn)}, {"max_rcpts_per_msg", int64(d.MaxRcptsPerMsg)},
	} {
		if f.v == 0 {
			c.errf(p+".default_policy."+f.key, "the default policy must set this value")
		}
	}
	c.params(p+".default_policy", d)
	for _, mp := range l.Policies {
		c.params(itemPath(p+".policies", mp.Name)+".params", mp.Params)
	}
	usesTLS := d.TLS == TLSInPreferred || d.TLS == TLSInRequired
	allAt := ""
	for _, g := range l.SenderGroups {
		gp := itemPath(p+".sender_groups", g.Name)
		if g.Policy == "" {
			c.errf(gp+".policy", "the sender group uses no mail flow policy")
		}
		if allAt != "" {
			c.warnf(gp, "no host can reach this sender group: %s above it matches ALL", allAt)
		}
		seen := map[string]bool{}
		for _, h := range g.Hosts {
			if CheckHostPattern(h) == "" {
				if _, err := ParseHostPattern(h); err != nil {
					c.errf(gp+".hosts", "%q: %v", h, err)
				}
			}
			if seen[h] {
				c.errf(gp+".hosts", "%q is listed twice", h)
			}
			seen[h] = true
			if h == "ALL" && allAt == "" {
				allAt = g.Name
			}
		}
		for _, mp := range l.Policies {
			if mp.Name != g.Policy {
				continue
			}
			e := EffectiveParams(mp.Params, d)
			if e.TLS == TLSInPreferred || e.TLS == TLSInRequired {
				usesTLS = true
			}
			if e.SMTPAuth != "" && e.SMTPAuth != "off" && e.RequireTLSForAuth.EqualBool(true) && e.TLS == TLSInOff {
				c.warnf(itemPath(p+".policies", mp.Name)+".params.smtp_auth_requires_tls",
					"SMTP authentication is offered only over TLS, but TLS is off: no client can authenticate")
			}
		}
	}
	if usesTLS && l.Certificate == "Demo" {
		c.warnf(p+".certificate", "TLS uses the Demo certificate: it tests TLS but no peer can verify it")
	}
}

func (c *checker) params(path string, hp HATParams) {
	for _, pr := range CheckParams(hp) {
		if pr.Key == "tls" {
			continue // ValidateChange's hat check reports it
		}
		c.errf(path+"."+jsonKey(pr.Key), "%s", pr.Msg)
	}
}

// jsonKey maps a HAT text key to the field's JSON name, the name field
// paths use.
func jsonKey(textKey string) string {
	sp := paramByKey[textKey]
	if sp == nil {
		return textKey
	}
	f, _ := hatParamsType.FieldByName(sp.field)
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

func (c *checker) listenSetup(g ListenSetup) {
	const p = "listener_setup"
	for _, f := range []struct {
		key      string
		v, lo, h int
	}{
		{"max_concurrency", g.MaxConcurrency, 1, 10000},
		{"max_tls_concurrency", g.MaxTLSConcurrency, 1, 10000},
		{"max_header_lines", g.MaxHeaderLines, 1, 100000},
		{"senderbase_cache_time", g.SenderBaseTTL, 1, 86400},
		{"injection_counter_reset", g.CounterReset, 60, 86400},
		{"unsuccessful_timeout", g.IdleTimeout, 1, 86400},
		{"max_connection_time", g.MaxConnTime, 1, 86400},
		{"max_subject_size", g.MaxSubjectLog, 1, 10000},
	} {
		if f.v != 0 && (f.v < f.lo || f.v > f.h) {
			c.errf(p+"."+f.key, "The value must be a number from %d to %d, not %d.", f.lo, f.h, f.v)
		}
	}
	for _, f := range []struct {
		key, v string
		ok     []string
	}{
		{"senderbase_cache", g.SenderBaseCache, []string{"auto", "off", "custom"}},
		{"received_hostname", g.ReceivedHostname, []string{"interface", "vgateway"}},
		{"add_message_id", string(g.AddMessageID), []string{"on", "off"}},
		{"reject_at_rcpt", string(g.RejectAtRcpt), []string{"on", "off"}},
	} {
		if f.v != "" && !contains(f.ok, f.v) {
			c.errf(p+"."+f.key, "The value must be one of %s, not %q.", quoteList(f.ok), f.v)
		}
	}
	if g.SenderBaseCache == "custom" && g.SenderBaseTTL == 0 {
		c.errf(p+".senderbase_cache_time", "a custom SenderBase cache time must be set")
	}
}

func (c *checker) interfaceDetails(cfg *Config, certs map[string]bool) {
	v6 := map[netip.Addr]string{}
	type net struct {
		name, port string
		prefix     netip.Prefix
	}
	var nets []net
	for _, in := range cfg.Interfaces {
		p := itemPath("interfaces", in.Name)
		port := in.Ethernet
		if port == "" {
			port = "Management"
		}
		if in.Ethernet != "" && !contains(EthernetPorts, in.Ethernet) {
			c.errf(p+".ethernet", "The value must be one of %s, not %q.", quoteList(EthernetPorts), in.Ethernet)
		}
		if a, err := netip.ParseAddr(in.IPv4); err == nil && a.Is4() && in.PrefixLen >= 0 && in.PrefixLen <= 32 {
			nets = append(nets, net{in.Name, port, netip.PrefixFrom(a, in.PrefixLen).Masked()})
		}
		if in.IPv6 != "" {
			if a, err := netip.ParseAddr(in.IPv6); err == nil && a.Is6() {
				if other, dup := v6[a]; dup {
					c.errf(p+".ipv6", "The IP address %q is already configured on interface %s.", in.IPv6, other)
				}
				v6[a] = in.Name
				if in.IPv6Prefix < 1 || in.IPv6Prefix > 128 {
					c.errf(p+".ipv6_prefixlen", "The value must be a prefix length from 1 to 128.")
				} else {
					nets = append(nets, net{in.Name, port, netip.PrefixFrom(a, in.IPv6Prefix).Masked()})
				}
			}
		}
		used := map[int]string{}
		https := false
		for _, s := range InterfaceServices(in) {
			if !s.Enabled {
				continue
			}
			c.port(p+"."+s.Key+".port", s.Port)
			if other, dup := used[s.Port]; dup {
				c.errf(p+"."+s.Key+".port", "Port %d is currently assigned to %s.", s.Port, other)
			}
			used[s.Port] = s.Name
			if s.Key == "euq_https" || s.Key == "api_https" {
				https = true
			}
		}
		if https && !in.HTTPS.Enabled {
			// ValidateChange checks the certificate when HTTPS is on.
			if in.HTTPSCert == "" {
				c.errf(p+".https_certificate", "an HTTPS service is enabled but no certificate is chosen")
			}
			c.ref(p+".https_certificate", in.HTTPSCert, "certificate profile", certs)
		}
		if in.SMTPHelo != "" {
			if r := CheckHostname(in.SMTPHelo); r != "" {
				c.errf(p+".smtp_helo", "%s", r)
			}
		}
		if in.QuarantineURL != "" {
			if r := CheckBaseURL(in.QuarantineURL); r != "" {
				c.errf(p+".euq_base_url", "%s", r)
			}
		}
	}
	// AsyncOS keeps one subnet on one Ethernet port. Loopback addresses
	// (tests, single-host setups) all share the lo device and are exempt.
	for i, a := range nets {
		for _, b := range nets[i+1:] {
			if a.prefix.Addr().IsLoopback() || b.prefix.Addr().IsLoopback() || a.port == b.port || a.name == b.name {
				continue
			}
			if a.prefix.Overlaps(b.prefix) {
				c.errf(itemPath("interfaces", b.name)+".ethernet",
					"IPs on the same subnet cannot be on different interfaces: %s (%s) and %s (%s) share %s.", a.name, a.port, b.name, b.port, a.prefix)
			}
		}
	}
}

// CheckBaseURL validates an http or https base URL.
func CheckBaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "An http/https URL must consist of http:// or https://, a host name and optionally a port and path."
	}
	return ""
}

var hatParamsType = reflect.TypeOf(HATParams{})
