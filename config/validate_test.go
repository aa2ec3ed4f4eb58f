package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func expiredCert(t testing.TB, name string) Certificate {
	return newCert(t, name, testNow.Add(-730*day), testNow.Add(-365*day))
}

// mismatchedCert is a profile whose key belongs to another certificate.
func mismatchedCert(t testing.TB, name string) Certificate {
	c := validCert(t, name)
	c.KeyPEM = validCert(t, "other").KeyPEM
	return c
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T) *Config
	}{
		{"factory", func(t *testing.T) *Config { return factory(t) }},
		{"factory with ten thousand entries", func(t *testing.T) *Config { return withEntries(factory(t), 10000) }},
		{"three listeners on distinct ports", func(t *testing.T) *Config { return threeListeners(t) }},
		{"same port on two interfaces", func(t *testing.T) *Config {
			c := factory(t)
			c.Interfaces = append(c.Interfaces, Interface{Name: "Data1", IPv4: "192.0.2.10", PrefixLen: 24, Hostname: "mx.example.com"})
			c.Listeners = append(c.Listeners, FactoryListener("Outside", Public, "Data1", 2525))
			return c
		}},
		{"trailing dot and subdomain patterns", func(t *testing.T) *Config {
			c := factory(t)
			c.Hostname = "esa.example.com."
			c.Listeners[0].SenderGroups[0].Hosts = []string{"10.0.0.0/8", "10.1.1.1-50", ".example.net", "mx.example.org", "2001:db8::1"}
			c.Routes = []Route{{Domain: "ALL", Hosts: []RouteHost{{Host: "USEDNS"}}}, {Domain: "localdomain", Hosts: []RouteHost{{Host: "[192.0.2.1]", Port: 25}}}}
			c.Alerts.Recipients = []AlertRecipient{{Address: "postmaster@example.com"}}
			return c
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if ps := Validate(tc.make(t), testNow); ps != nil {
				t.Errorf("Validate = %v, want no problem", ps)
			}
		})
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, c *Config)
		path    string
		msg     string // a part of the message
		warning bool
	}{
		{"bad hostname", func(t *testing.T, c *Config) { c.Hostname = "-esa.example.com" },
			"hostname", "begin or end with a hyphen", false},
		{"hostname not qualified", func(t *testing.T, c *Config) { c.Hostname = "esa" },
			"hostname", "fully qualified", false},
		{"interface hostname", func(t *testing.T, c *Config) { c.Interfaces[0].Hostname = "a..b" },
			"interfaces[Management].hostname", "empty labels", false},
		{"interface address", func(t *testing.T, c *Config) { c.Interfaces[0].IPv4 = "300.1.1.1" },
			"interfaces[Management].ipv4", "4 numbers", false},
		{"HTTPS without certificate", func(t *testing.T, c *Config) { c.Interfaces[0].HTTPSCert = "" },
			"interfaces[Management].https_certificate", "no certificate", false},
		{"interface certificate missing", func(t *testing.T, c *Config) { c.Interfaces[0].HTTPSCert = "Gone" },
			"interfaces[Management].https_certificate", `"Gone" does not exist`, false},
		{"listener certificate missing", func(t *testing.T, c *Config) { c.Listeners[0].Certificate = "Gone" },
			"listeners[IncomingMail].certificate", `certificate profile "Gone" does not exist`, false},
		{"listener interface missing", func(t *testing.T, c *Config) { c.Listeners[0].Interface = "Data9" },
			"listeners[IncomingMail].interface", `"Data9" does not exist`, false},
		{"sender group policy missing", func(t *testing.T, c *Config) { c.Listeners[0].SenderGroups[4].Policy = "NOPOLICY" },
			"listeners[IncomingMail].sender_groups[ALL].policy", `mail flow policy "NOPOLICY" does not exist`, false},
		{"sender group host", func(t *testing.T, c *Config) { c.Listeners[0].SenderGroups[0].Hosts = []string{"10.0.0.0/33"} },
			"listeners[IncomingMail].sender_groups[ALLOWED_LIST].hosts", "CIDR", false},
		{"duplicate port on one interface", func(t *testing.T, c *Config) {
			c.Listeners = append(c.Listeners, FactoryListener("Second", Private, "Management", 2525))
		}, "listeners[Second].port", "port 2525 on interface Management is already used by listener IncomingMail", false},
		{"duplicate listener", func(t *testing.T, c *Config) {
			c.Listeners = append(c.Listeners, FactoryListener("IncomingMail", Public, "Management", 2600))
		}, "listeners[IncomingMail]", "duplicate name", false},
		{"key does not match certificate", func(t *testing.T, c *Config) {
			c.Certificates = append(c.Certificates, mismatchedCert(t, "Mismatch"))
		}, "certificates[Mismatch].private_key", "does not match", false},
		{"expired certificate", func(t *testing.T, c *Config) { c.Certificates = append(c.Certificates, expiredCert(t, "Old")) },
			"certificates[Old].certificate", "expired on 2025-03-01", false},
		{"certificate not yet valid", func(t *testing.T, c *Config) {
			c.Certificates = append(c.Certificates, newCert(t, "Future", testNow.Add(day), testNow.Add(400*day)))
		}, "certificates[Future].certificate", "not valid before", false},
		{"certificate expiring soon", func(t *testing.T, c *Config) {
			c.Certificates = append(c.Certificates, newCert(t, "Soon", testNow.Add(-day), testNow.Add(10*day)))
		}, "certificates[Soon].certificate", "expires on 2026-03-11", true},
		{"certificate not PEM", func(t *testing.T, c *Config) { c.Certificates[0].CertPEM = "junk" },
			"certificates[Demo].certificate", "no PEM certificate", false},
		{"key not PEM", func(t *testing.T, c *Config) { c.Certificates[0].KeyPEM = "junk" },
			"certificates[Demo].private_key", "no PEM private key", false},
		{"destination domain", func(t *testing.T, c *Config) {
			c.Destinations.Entries = []DestControl{{Domain: "bad_domain.example.com"}}
		}, "destinations.entries[bad_domain.example.com]", "valid characters", false},
		{"duplicate destination", func(t *testing.T, c *Config) {
			c.Destinations.Entries = []DestControl{{Domain: "example.com"}, {Domain: "example.com"}}
		}, "destinations.entries[example.com]", "duplicate domain", false},
		{"destination certificate missing", func(t *testing.T, c *Config) { c.Destinations.Certificate = "Gone" },
			"destinations.certificate", `"Gone" does not exist`, false},
		{"route without hosts", func(t *testing.T, c *Config) { c.Routes = []Route{{Domain: "example.net"}} },
			"smtproutes[example.net].hosts", "at least one", false},
		{"alert recipient", func(t *testing.T, c *Config) {
			c.Alerts.Recipients = []AlertRecipient{{Address: "nobody"}}
		}, "alerts.recipients[nobody]", "email address", false},
		{"alert recipient with a bracket", func(t *testing.T, c *Config) {
			c.Alerts.Recipients = []AlertRecipient{{Address: "a]b@example.com"}}
		}, "alerts.recipients[a]b@example.com]", "email address", false},
		{"alert waits", func(t *testing.T, c *Config) { c.Alerts.MaxWait = 1 },
			"alerts.max_wait", "initial wait", false},
		{"delivery interface missing", func(t *testing.T, c *Config) { c.Delivery.Interface = "Data9" },
			"delivery.default_interface", `"Data9" does not exist`, false},
		{"dns server not an address", func(t *testing.T, c *Config) {
			c.DNS.Mode, c.DNS.Servers = DNSLocal, []DNSServer{{Address: "dns.example.com"}}
		}, "dns.servers[dns.example.com]", "IP address", false},
		{"dns priority", func(t *testing.T, c *Config) {
			c.DNS.Mode, c.DNS.Servers = DNSLocal, []DNSServer{{Address: "192.0.2.1", Priority: 10001}}
		}, "dns.servers[192.0.2.1].priority", "from 0 to 10000", false},
		{"dns own servers empty", func(t *testing.T, c *Config) { c.DNS.Mode = DNSLocal },
			"dns.servers", "list is empty", false},
		{"dns servers ignored in root mode", func(t *testing.T, c *Config) {
			c.DNS.Servers = []DNSServer{{Address: "192.0.2.1"}}
		}, "dns.servers", "would be ignored", false},
		{"dns alternate twice", func(t *testing.T, c *Config) {
			c.DNS.Alternates = []DNSAlternate{{Domain: "a.example", Address: "192.0.2.1"}, {Domain: "A.example", Address: "192.0.2.2"}}
		}, "dns.alternates[A.example]", "already appears to be configured for domain", false},
		{"dns alternate address", func(t *testing.T, c *Config) {
			c.DNS.Alternates = []DNSAlternate{{Domain: "a.example", Address: "010.0.0.1"}}
		}, "dns.alternates[a.example].address", "IP address", false},
		{"dns interface", func(t *testing.T, c *Config) { c.DNS.Interface = "Data9" },
			"dns.interface", `"Data9" does not exist`, false},
		{"dns reverse timeout", func(t *testing.T, c *Config) { c.DNS.ReverseTimeout = 301 },
			"dns.reverse_timeout", "from 1 to 300", false},
		{"dns minimum ttl", func(t *testing.T, c *Config) { c.DNS.MinTTL = -1 },
			"dns.min_ttl", "from 0 to 86400", false},
		{"dns mode", func(t *testing.T, c *Config) { c.DNS.Mode = "own" },
			"dns.mode", "root or local", false},
		{"user role", func(t *testing.T, c *Config) { c.Users[0].Role = "root" },
			"users[admin].role", "admin, operator or readonly", false},
		{"duplicate CA", func(t *testing.T, c *Config) {
			pem := validCert(t, "ca").CertPEM
			c.CAs.Custom = []CA{{Name: "corp", PEM: pem}, {Name: "corp", PEM: pem}}
		}, "certauthority.custom[corp]", "duplicate name", false},
		{"CA not PEM", func(t *testing.T, c *Config) { c.CAs.Custom = []CA{{Name: "corp", PEM: "junk"}} },
			"certauthority.custom[corp]", "no PEM certificate", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			tc.edit(t, c)
			ps := Validate(c, testNow)
			if len(ps) != 1 {
				t.Fatalf("Validate = %d problems, want exactly one at %s:\n%v", len(ps), tc.path, ps)
			}
			p := ps[0]
			if p.Path != tc.path || !strings.Contains(p.Msg, tc.msg) || p.Warning != tc.warning {
				t.Errorf("problem = %+v, want path %s, message containing %q, warning %v", p, tc.path, tc.msg, tc.warning)
			}
			if len(ps.Errors()) > 0 == tc.warning {
				t.Errorf("Errors() = %v with warning %v", ps.Errors(), tc.warning)
			}
		})
	}
}

// TestValidateReportsEverything makes several independent mistakes at once:
// the commit check must list every one, each at its path.
func TestValidateReportsEverything(t *testing.T) {
	c := factory(t)
	c.Hostname = "bad_host.example.com"
	c.Listeners[0].Certificate = "Gone"
	c.Listeners[0].SenderGroups[4].Policy = "NOPOLICY"
	c.Listeners = append(c.Listeners, FactoryListener("Second", Private, "Management", 2525))
	c.Certificates = append(c.Certificates, mismatchedCert(t, "Mismatch"), expiredCert(t, "Old"))
	c.Certificates = append(c.Certificates, newCert(t, "Soon", testNow.Add(-day), testNow.Add(5*day)))
	c.Interfaces[0].SSH.Port = 0
	c.Interfaces[0].HTTPS.Port = 70000
	c.Delivery.Interface, c.LDAP.Interface, c.Alerts.Interface = "Data1", "Data2", "Data3"

	ps := Validate(c, testNow)
	want := []string{
		"alerts.interface",
		"certificates[Mismatch].private_key",
		"certificates[Old].certificate",
		"delivery.default_interface",
		"hostname",
		"interfaces[Management].https.port",
		"interfaces[Management].ssh.port",
		"ldap.interface",
		"listeners[IncomingMail].certificate",
		"listeners[IncomingMail].sender_groups[ALL].policy",
		"listeners[Second].port",
	}
	var got []string
	for _, p := range ps.Errors() {
		got = append(got, p.Path)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("error paths = %q\nwant %q\nall problems:\n%v", got, want, ps)
	}
	if w := ps.Warnings(); len(w) != 1 || w[0].Path != "certificates[Soon].certificate" {
		t.Errorf("warnings = %v, want one for certificates[Soon]", w)
	}
	for _, p := range want {
		if !strings.Contains(ps.Error(), p+": ") {
			t.Errorf("Error() does not name %s:\n%s", p, ps.Error())
		}
	}
	// The report is the same every time: no map order leaks into it.
	for range 20 {
		if again := Validate(c, testNow); again.Error() != ps.Error() {
			t.Fatalf("Validate is not deterministic:\n%v\n---\n%v", ps, again)
		}
	}
}

// TestValidateChangeUnchangedProfile: a certificate that expired in service
// is a warning while its profile is unchanged, and an error as soon as a
// commit (re)introduces it.
func TestValidateChangeUnchangedProfile(t *testing.T) {
	old := expiredCert(t, "Old")
	base := factory(t)
	base.Certificates = append(base.Certificates, old)
	tests := []struct {
		name      string
		base      *Config
		edit      func(c *Config)
		wantError bool
	}{
		{"unchanged, unrelated commit", base, func(c *Config) { c.Hostname = "other.example.com" }, false},
		{"unchanged, whole check without base", nil, func(c *Config) {}, true},
		{"replaced by another expired certificate", base, func(c *Config) {
			c.Certificates[1] = expiredCert(t, "Old")
		}, true},
		{"same certificate, new intermediates", base, func(c *Config) {
			c.Certificates[1].Intermediates = []string{validCert(t, "int").CertPEM}
		}, true},
		{"same certificate under a new name", base, func(c *Config) {
			c.Certificates[1].Name = "Renamed"
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := jsonCopy(t, base)
			tc.edit(c)
			ps := ValidateChange(tc.base, c, testNow)
			var expiry *Problem
			for i, p := range ps {
				if strings.Contains(p.Msg, "expired on") {
					expiry = &ps[i]
				}
			}
			if expiry == nil {
				t.Fatalf("no expiry problem in %v", ps)
			}
			if expiry.Warning == tc.wantError {
				t.Errorf("expiry problem %+v: warning = %v, want %v", *expiry, expiry.Warning, !tc.wantError)
			}
			if got := len(ps.Errors()) > 0; got != tc.wantError {
				t.Errorf("blocking errors = %v, want blocking %v", ps.Errors(), tc.wantError)
			}
		})
	}
}

// TestValidateChangeUnchangedEntries: with a base, the checks of one
// destination entry run only for entries the candidate changed; the
// checks across entries (duplicates) and those that depend on other
// settings (the CA lists) still see all of them.
func TestValidateChangeUnchangedEntries(t *testing.T) {
	base := withEntries(factory(t), 100)
	// An entry the current rules refuse, committed by an older version.
	base.Destinations.Entries[10].MaxConcurrency = 20000
	tests := []struct {
		name    string
		edit    func(c *Config)
		base    *Config
		want    []string // paths of errors
		warning string   // path of a warning, if one is expected
	}{
		{"unchanged entry not checked again", func(c *Config) { c.Hostname = "x.example.com" }, base, nil, ""},
		{"whole check sees it", func(c *Config) {}, nil, []string{"destinations.entries[d00010.example.com].max_host_concurrency"}, ""},
		{"changed entry checked", func(c *Config) { c.Destinations.Entries[20].RecipientLimit = 5 }, base,
			[]string{"destinations.entries[d00020.example.com].recipient_minutes", "destinations.entries[d00020.example.com].recipient_limit"}, ""},
		{"moved entry checked", func(c *Config) { c.Destinations.Entries = c.Destinations.Entries[1:] }, base,
			[]string{"destinations.entries[d00010.example.com].max_host_concurrency"}, ""},
		{"duplicate of an unchanged entry", func(c *Config) { c.Destinations.Entries[50].Domain = "d00040.example.com" }, base,
			[]string{"destinations.entries[d00040.example.com]"}, ""},
		{"CA lists switched off", func(c *Config) {
			c.CAs.SystemEnabled, c.CAs.CustomEnabled = false, false
		}, func() *Config {
			b := jsonCopy(t, base)
			b.Destinations.Entries[10].MaxConcurrency = 50
			b.Destinations.Entries[30].TLS = TLSOutPreferredVerify
			return b
		}(), nil, "destinations.entries[d00030.example.com].tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base
			if tc.base != nil {
				b = tc.base
			}
			c := jsonCopy(t, b)
			tc.edit(c)
			ps := ValidateChange(tc.base, c, testNow)
			var got []string
			for _, p := range ps.Errors() {
				got = append(got, p.Path)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("errors = %q, want %q\n%v", got, want, ps)
			}
			w := ps.Warnings()
			if tc.warning != "" && (len(w) != 1 || w[0].Path != tc.warning) {
				t.Errorf("warnings = %v, want one at %s", w, tc.warning)
			}
		})
	}
}
