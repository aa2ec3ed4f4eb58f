package config

import (
	"strings"
	"testing"
)

// TestValidateListenerChecks covers the commit check of interfaceconfig
// and listenerconfig: each edit of the factory configuration must be
// refused (or warned about) at the given path with the given message.
func TestValidateListenerChecks(t *testing.T) {
	withData1 := func(c *Config) {
		c.Interfaces = append(c.Interfaces, Interface{Name: "Data1", IPv4: "127.0.0.2", PrefixLen: 8,
			Hostname: "data1.example.com", Ethernet: "Data 1"})
	}
	for _, tc := range []struct {
		name    string
		edit    func(c *Config)
		path    string
		msg     string
		warning bool
	}{
		// The list.
		{"listener on a missing interface", func(c *Config) { c.Listeners[0].Interface = "Gone" },
			"listeners[IncomingMail].interface", `interface "Gone" does not exist`, false},
		{"listener with a missing certificate", func(c *Config) { c.Listeners[0].Certificate = "Gone" },
			"listeners[IncomingMail].certificate", `certificate profile "Gone" does not exist`, false},
		{"listener without certificate", func(c *Config) { c.Listeners[0].Certificate = "" },
			"listeners[IncomingMail].certificate", "no certificate is chosen", false},
		{"two listeners on one address and port", func(c *Config) {
			c.Listeners = append(c.Listeners, FactoryListener("Second", Private, "Management", 2525))
		}, "listeners[Second].port", "already used by listener IncomingMail", false},
		{"listener named as the appliance's own mail", func(c *Config) {
			c.Listeners = append(c.Listeners, FactoryListener("Internal", Private, "Management", 2526))
		}, "listeners[Internal]", "reserved for mail the appliance writes itself", false},
		{"sender group to a missing policy", func(c *Config) { c.Listeners[0].SenderGroups[0].Policy = "GONE" },
			"listeners[IncomingMail].sender_groups[ALLOWED_LIST].policy", `mail flow policy "GONE" does not exist`, false},
		{"sender group without policy", func(c *Config) { c.Listeners[0].SenderGroups[0].Policy = "" },
			"listeners[IncomingMail].sender_groups[ALLOWED_LIST].policy", "uses no mail flow policy", false},
		{"interface using a deleted certificate", func(c *Config) { c.Interfaces[0].HTTPSCert = "Deleted" },
			"interfaces[Management].https_certificate", `certificate profile "Deleted" does not exist`, false},
		{"API HTTPS using a deleted certificate", func(c *Config) {
			c.Interfaces[0].HTTPS.Enabled = false
			c.Interfaces[0].APIHTTPS = Service{Enabled: true, Port: 6443}
			c.Interfaces[0].HTTPSCert = "Deleted"
		}, "interfaces[Management].https_certificate", `certificate profile "Deleted" does not exist`, false},
		{"duplicated interface IPv4", func(c *Config) {
			withData1(c)
			c.Interfaces[1].IPv4 = c.Interfaces[0].IPv4
		}, "interfaces[Data1].ipv4", "is already configured on interface Management", false},
		{"duplicated interface IPv6", func(c *Config) {
			withData1(c)
			c.Interfaces[0].IPv6, c.Interfaces[0].IPv6Prefix = "::1", 128
			c.Interfaces[1].IPv6, c.Interfaces[1].IPv6Prefix = "::1", 128
		}, "interfaces[Data1].ipv6", `The IP address "::1" is already configured on interface Management.`, false},
		// Ports on one address.
		{"listener on a service port", func(c *Config) { c.Listeners[0].Port = 8443 },
			"listeners[IncomingMail].port", "already used by the HTTPS service", false},
		{"two services on one port", func(c *Config) { c.Interfaces[0].FTP = Service{Enabled: true, Port: 2222} },
			"interfaces[Management].ssh.port", "Port 2222 is currently assigned to FTP.", false},
		{"service port out of range", func(c *Config) { c.Interfaces[0].Telnet = Service{Enabled: true, Port: 70000} },
			"interfaces[Management].telnet.port", "between 1 and 65535", false},
		// Interfaces.
		{"unknown Ethernet port", func(c *Config) { c.Interfaces[0].Ethernet = "Data 9" },
			"interfaces[Management].ethernet", `not "Data 9"`, false},
		{"one subnet on two ports", func(c *Config) {
			c.Interfaces[0].IPv4, c.Interfaces[0].PrefixLen = "192.0.2.1", 24
			c.Interfaces = append(c.Interfaces, Interface{Name: "Data1", IPv4: "192.0.2.2", PrefixLen: 24,
				Hostname: "d.example.com", Ethernet: "Data 1"})
		}, "interfaces[Data1].ethernet", "IPs on the same subnet cannot be on different interfaces", false},
		{"bad SMTP HELO", func(c *Config) { c.Interfaces[0].SMTPHelo = "not valid.example.com" },
			"interfaces[Management].smtp_helo", "Invalid hostname format", false},
		{"bad quarantine URL", func(c *Config) { c.Interfaces[0].QuarantineURL = "ftp://x" },
			"interfaces[Management].euq_base_url", "An http/https URL must consist", false},
		{"bad IPv6 prefix", func(c *Config) { c.Interfaces[0].IPv6, c.Interfaces[0].IPv6Prefix = "2001:db8::1", 0 },
			"interfaces[Management].ipv6_prefixlen", "prefix length from 1 to 128", false},
		// Host access tables.
		{"default policy incomplete", func(c *Config) { c.Listeners[0].DefaultPolicy.MaxRcptsPerMsg = 0 },
			"listeners[IncomingMail].default_policy.max_rcpts_per_msg", "must set this value", false},
		{"policy parameter out of range", func(c *Config) { c.Listeners[0].Policies[0].Params.MaxConcurrency = 5000 },
			"listeners[IncomingMail].policies[ACCEPTED].params.max_concurrency", "from 1 to 1000", false},
		{"bad SMTP code", func(c *Config) { c.Listeners[0].DefaultPolicy.BannerCode = 999 },
			"listeners[IncomingMail].default_policy.smtp_banner_code", "SMTP code from 200 to 599", false},
		{"bad on/off", func(c *Config) { c.Listeners[0].Policies[1].Params.SpamCheck = "maybe" },
			"listeners[IncomingMail].policies[BLOCKED].params.spam_check", `"on" or "off"`, false},
		{"bad SMTP AUTH", func(c *Config) { c.Listeners[0].DefaultPolicy.SMTPAuth = "always" },
			"listeners[IncomingMail].default_policy.smtp_auth", `not "always"`, false},
		{"sender listed twice", func(c *Config) { c.Listeners[0].SenderGroups[0].Hosts = []string{"10.0.0.1", "10.0.0.1"} },
			"listeners[IncomingMail].sender_groups[ALLOWED_LIST].hosts", "listed twice", false},
		{"range CheckHostPattern lets through", func(c *Config) {
			c.Listeners[0].SenderGroups[0].Hosts = []string{"10.1.1.0-99999999999999999999"}
		}, "listeners[IncomingMail].sender_groups[ALLOWED_LIST].hosts", "Invalid IP or IP range.", false},
		{"group after ALL", func(c *Config) {
			l := &c.Listeners[0]
			l.SenderGroups = append(l.SenderGroups, SenderGroup{Name: "LATE", Policy: "ACCEPTED", Hosts: []string{"10.0.0.1"}})
		}, "listeners[IncomingMail].sender_groups[LATE]", "ALL above it matches ALL", true},
		{"TLS with the Demo certificate", func(c *Config) { c.Listeners[0].DefaultPolicy.TLS = TLSInPreferred },
			"listeners[IncomingMail].certificate", "Demo certificate", true},
		{"SMTP AUTH only over TLS, TLS off", func(c *Config) {
			c.Listeners[0].Policies[0].Params.SMTPAuth = "required"
			c.Listeners[0].Policies[0].Params.RequireTLSForAuth = "on"
		}, "listeners[IncomingMail].policies[ACCEPTED].params.smtp_auth_requires_tls", "no client can authenticate", true},
		// Listener settings.
		{"recipient access entry", func(c *Config) { c.Listeners[0].AcceptDomains = []string{"example.com", "bad domain"} },
			"listeners[IncomingMail].rcpt_access", `"bad domain"`, false},
		{"recipient access twice", func(c *Config) { c.Listeners[0].AcceptDomains = []string{"example.com", "Example.com"} },
			"listeners[IncomingMail].rcpt_access", "listed twice", false},
		{"max connections", func(c *Config) { c.Listeners[0].MaxConnections = 0 },
			"listeners[IncomingMail].max_connections", "from 1 to 10000", false},
		{"default domain", func(c *Config) { c.Listeners[0].DefaultDomain = "bad..example" },
			"listeners[IncomingMail].default_domain", "empty labels", false},
		{"global setting", func(c *Config) { c.ListenSetup.MaxTLSConcurrency = -4 },
			"listener_setup.max_tls_concurrency", "from 1 to 10000", false},
		{"global choice", func(c *Config) { c.ListenSetup.ReceivedHostname = "mine" },
			"listener_setup.received_hostname", `not "mine"`, false},
		{"custom cache time", func(c *Config) { c.ListenSetup.SenderBaseCache = "custom" },
			"listener_setup.senderbase_cache_time", "must be set", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			tc.edit(c)
			ps := Validate(c, testNow)
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Msg, tc.msg) {
					if p.Warning != tc.warning {
						t.Errorf("%s: warning = %v, want %v", p, p.Warning, tc.warning)
					}
					return
				}
			}
			t.Errorf("no problem at %s containing %q; got:\n%v", tc.path, tc.msg, ps)
		})
	}
}

func TestValidateListenerAccepts(t *testing.T) {
	c := factory(t)
	c.Interfaces = append(c.Interfaces, Interface{Name: "Data1", IPv4: "127.0.0.2", PrefixLen: 8,
		IPv6: "::1", IPv6Prefix: 128, Hostname: "data1.example.com", Ethernet: "Data 1",
		SSH: Service{Enabled: true, Port: 22}, HTTPSCert: "Demo", SMTPHelo: "helo.example.com"})
	l := FactoryListener("Inbound2", Public, "Data1", 25)
	l.AcceptDomains = []string{"example.com", ".example.com", "postmaster@", "joe@[192.0.2.1]"}
	l.SenderGroups[0].Hosts = []string{"10.0.0.0/8", "10.1.1.1-50", ".example.net", "mx.example.org", "2001:db8::1"}
	c.Listeners = append(c.Listeners, l)
	c.ListenSetup = ListenSetup{MaxConcurrency: 500, SenderBaseCache: "custom", SenderBaseTTL: 600}
	if ps := Validate(c, testNow); len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	if e := (ListenSetup{}).Effective(); e.MaxConcurrency != 300 || e.ReceivedHostname != "interface" || e.IdleTimeout != 300 {
		t.Errorf("Effective = %+v", e)
	}
}
