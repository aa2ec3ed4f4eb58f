package config

import (
	"strings"
	"testing"
)

// TestValidateOutbound: each mistake of the outbound sections alone gives
// exactly one problem at its path.
func TestValidateOutbound(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(c *Config)
		path    string
		msg     string
		warning bool
	}{
		{"required-verify without CAs", func(c *Config) {
			c.CAs.SystemEnabled, c.CAs.CustomEnabled = false, false
			c.Destinations.Entries = []DestControl{{Domain: "bank.example.com", TLS: TLSOutRequiredVerify}}
		}, "destinations.entries[bank.example.com].tls", "both disabled", false},
		{"default required-verify without CAs", func(c *Config) {
			c.CAs.SystemEnabled, c.CAs.CustomEnabled = false, false
			c.Destinations.Default.TLS = TLSOutRequiredVerify
		}, "destinations.default.tls", "Required - Verify cannot deliver", false},
		{"preferred-verify without CAs", func(c *Config) {
			c.CAs.SystemEnabled, c.CAs.CustomEnabled = false, false
			c.Destinations.Entries = []DestControl{{Domain: "x.example.com", TLS: TLSOutPreferredVerify}}
		}, "destinations.entries[x.example.com].tls", "never verifies", true},
		{"deleted outbound certificate", func(c *Config) {
			c.Certificates = nil
			c.Interfaces[0].HTTPS.Enabled = false
			c.Interfaces[0].HTTPSCert = ""
			c.Listeners = nil
		},
			"destinations.certificate", `certificate profile "Demo" does not exist`, false},
		{"default incomplete", func(c *Config) { c.Destinations.Default.LimitType = "" },
			"destinations.default.limit_type", "must be one of host, MXIP", false},
		{"entry concurrency", func(c *Config) {
			c.Destinations.Entries = []DestControl{{Domain: "x.example.com", MaxConcurrency: 20000}}
		}, "destinations.entries[x.example.com].max_host_concurrency", "from 1 to 10000", false},
		{"recipient limit out of range", func(c *Config) {
			c.Destinations.Entries = []DestControl{{Domain: "x.example.com", RecipientLimit: -1}}
		}, "destinations.entries[x.example.com].recipient_limit", "from 1 to", false},
		{"bad DANE", func(c *Config) { c.Destinations.Entries = []DestControl{{Domain: "x.example.com", DANE: "yes"}} },
			"destinations.entries[x.example.com].dane", "off, opportunistic, mandatory", false},
		{"bounce profile", func(c *Config) {
			c.Destinations.Entries = []DestControl{{Domain: "x.example.com", BounceProfile: "-x"}}
		}, "destinations.entries[x.example.com].bounce_profile", "bounce profile name must start with", false},
		{"certificate expiry warning too far", func(c *Config) { c.Alerts.CertExpiryDays = 400 },
			"alerts.cert_expiry_days", "from 1 to 365", false},
		{"certificate expiry warning negative", func(c *Config) { c.Alerts.CertExpiryDays = -1 },
			"alerts.cert_expiry_days", "from 1 to 365", false},
		{"route host invalid", func(c *Config) {
			c.Routes = []Route{{Domain: "example.net", Hosts: []RouteHost{{Host: "bad host"}}}}
		}, "smtproutes[example.net].hosts", `"bad host": A hostname`, false},
		{"route USEDNS with others", func(c *Config) {
			c.Routes = []Route{{Domain: "example.net", Hosts: []RouteHost{{Host: RouteUseDNS}, {Host: "mx.example.net"}}}}
		}, "smtproutes[example.net].hosts", "only destination", false},
		{"route host twice", func(c *Config) {
			c.Routes = []Route{{Domain: "example.net", Hosts: []RouteHost{{Host: "mx.example.net"}, {Host: "MX.example.net"}}}}
		}, "smtproutes[example.net].hosts", "listed twice", false},
		{"route priority", func(c *Config) {
			c.Routes = []Route{{Domain: "example.net", Hosts: []RouteHost{{Host: "mx.example.net", Priority: 70000}}}}
		}, "smtproutes[example.net].hosts", "priority", false},
		{"alert class", func(c *Config) {
			c.Alerts.Recipients = []AlertRecipient{{Address: "a@example.com", Classes: []string{"Weather"}}}
		}, "alerts.recipients[a@example.com].classes", `Unknown alert class "Weather"`, false},
		{"alert levels of an unsubscribed class", func(c *Config) {
			c.Alerts.Recipients = []AlertRecipient{{Address: "a@example.com", Classes: []string{AlertSystem},
				Levels: []AlertLevels{{Class: AlertHardware, Severities: []string{SeverityCritical}}}}}
		}, "alerts.recipients[a@example.com].levels", "not subscribed", false},
		{"TLS concurrency above the total", func(c *Config) { c.Delivery.MaxTLSConcurrency = 20000 },
			"delivery.max_tls_concurrency", "system wide maximum", false},
		{"delivery concurrency", func(c *Config) { c.Delivery.MaxConcurrency = 0; c.Delivery.MaxTLSConcurrency = 1 },
			"delivery.max_concurrency", "from 1 to 10000", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			tc.edit(c)
			ps := Validate(c, testNow)
			if len(ps) != 1 {
				t.Fatalf("Validate = %d problems, want one at %s:\n%v", len(ps), tc.path, ps)
			}
			if p := ps[0]; p.Path != tc.path || !strings.Contains(p.Msg, tc.msg) || p.Warning != tc.warning {
				t.Errorf("problem = %+v, want %s with %q (warning %v)", p, tc.path, tc.msg, tc.warning)
			}
		})
	}
}

func TestValidateOutboundAccepts(t *testing.T) {
	c := factory(t)
	c.CAs.SystemEnabled = false // custom list still on
	c.Destinations.Entries = []DestControl{{Domain: "bank.example.com", TLS: TLSOutRequiredVerify, DANE: DANEMandatory}}
	c.Routes = []Route{{Domain: RouteAll, Hosts: []RouteHost{{Host: "mx.example.net", ARecords: true, Port: 2525, Priority: 5}, {Host: "2001:db8::1"}}}}
	c.Alerts.Recipients = []AlertRecipient{NewAlertRecipient("ops@example.com", map[string][]string{AlertSystem: {SeverityWarning}}, true)}
	if ps := Validate(c, testNow); ps != nil {
		t.Errorf("Validate = %v", ps)
	}
}
