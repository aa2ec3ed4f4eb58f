package config

import (
	"strings"
	"testing"
)

// TestValidateMTASTSPolicy: mtastsconfig's policy must be well formed and
// every domain's mta-sts host name must be in the certificate of an HTTPS
// interface (the factory Demo profile is valid for mta-sts.example.com
// here).
func TestValidateMTASTSPolicy(t *testing.T) {
	good := MTASTSPolicy{Domains: []string{"example.com"}, Mode: "enforce", MX: []string{"mail.example.com", "*.example.com"}, MaxAge: 604800}
	tests := []struct {
		name string
		edit func(c *Config)
		path string // "" = accepted
		msg  string
	}{
		{name: "unset", edit: func(c *Config) { c.MTASTSPolicy = MTASTSPolicy{} }},
		{name: "published", edit: func(c *Config) {}},
		{name: "mode none without mx", edit: func(c *Config) { c.MTASTSPolicy.Mode, c.MTASTSPolicy.MX = "none", nil }},
		{name: "bad mode", edit: func(c *Config) { c.MTASTSPolicy.Mode = "strict" }, path: "mta_sts_policy.mode", msg: "enforce, testing or none"},
		{name: "no mx", edit: func(c *Config) { c.MTASTSPolicy.MX = nil }, path: "mta_sts_policy.mx", msg: "at least one mx"},
		{name: "bad mx", edit: func(c *Config) { c.MTASTSPolicy.MX = []string{"mail.*.example.com"} }, path: "mta_sts_policy.mx", msg: "*.domain"},
		{name: "upper-case mx", edit: func(c *Config) { c.MTASTSPolicy.MX = []string{"Mail.example.com"} }, path: "mta_sts_policy.mx", msg: "lower-case"},
		{name: "max_age too short", edit: func(c *Config) { c.MTASTSPolicy.MaxAge = 3600 }, path: "mta_sts_policy.max_age", msg: "from 86400 to 31557600"},
		{name: "max_age too long", edit: func(c *Config) { c.MTASTSPolicy.MaxAge = 31557601 }, path: "mta_sts_policy.max_age", msg: "from 86400 to 31557600"},
		{name: "domain twice", edit: func(c *Config) { c.MTASTSPolicy.Domains = []string{"example.com", "example.com"} }, path: "mta_sts_policy.domains", msg: "listed twice"},
		{name: "bad domain", edit: func(c *Config) { c.MTASTSPolicy.Domains = []string{"Example.com"} }, path: "mta_sts_policy.domains", msg: "lower-case domain"},
		{name: "name not in the certificate", edit: func(c *Config) { c.MTASTSPolicy.Domains = []string{"example.net"} },
			path: "mta_sts_policy.domains", msg: "the HTTPS certificate Demo (interface Management) is not valid for mta-sts.example.net"},
		{name: "no HTTPS", edit: func(c *Config) { c.Interfaces[0].HTTPS.Enabled = false },
			path: "mta_sts_policy.domains", msg: "no interface has HTTPS enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Factory(validCert(t, "mta-sts"))
			c.MTASTSPolicy = good
			c.MTASTSPolicy.MX = append([]string(nil), good.MX...)
			tc.edit(c)
			ps := Validate(c, testNow)
			if tc.path == "" {
				if ps != nil {
					t.Fatalf("Validate = %v", ps)
				}
				return
			}
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Msg, tc.msg) && !p.Warning {
					return
				}
			}
			t.Fatalf("Validate = %v, want %s with %q", ps, tc.path, tc.msg)
		})
	}
}

// TestMTASTSPolicyText: the file is RFC 8461 §3.2's, CRLF-ended, and the
// TXT record's id changes exactly when the file does.
func TestMTASTSPolicyText(t *testing.T) {
	p := MTASTSPolicy{Domains: []string{"example.com"}, Mode: "testing", MX: []string{"mail.example.com"}, MaxAge: 86400}
	if got, want := p.Text(), "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 86400\r\n"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	id := p.ID()
	if len(id) != 20 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Errorf("ID = %q, want 20 hex digits", id)
	}
	if got, want := p.TXTRecord("example.com"), `_mta-sts.example.com. IN TXT "v=STSv1; id=`+id+`"`; got != want {
		t.Errorf("TXTRecord = %q, want %q", got, want)
	}
	same := p
	same.Domains = []string{"example.com", "example.org"}
	if same.ID() != id {
		t.Error("the id changed with the domains, which are not in the file")
	}
	for name, edit := range map[string]func(*MTASTSPolicy){
		"mode":    func(q *MTASTSPolicy) { q.Mode = "enforce" },
		"mx":      func(q *MTASTSPolicy) { q.MX = []string{"mx2.example.com"} },
		"max_age": func(q *MTASTSPolicy) { q.MaxAge = 86401 },
	} {
		q := p
		edit(&q)
		if q.ID() == id {
			t.Errorf("%s changed, the id did not", name)
		}
	}
}

// TestMTASTSPolicyServes: the Host or SNI name matches case-insensitively,
// with or without the root's dot, only for mta-sts.<configured domain>.
func TestMTASTSPolicyServes(t *testing.T) {
	p := MTASTSPolicy{Domains: []string{"example.com"}}
	for host, want := range map[string]bool{
		"mta-sts.example.com": true, "MTA-STS.Example.COM": true, "mta-sts.example.com.": true,
		"example.com": false, "mta-sts.example.org": false, "www.mta-sts.example.com": false, "": false,
	} {
		if got := p.Serves(host); got != want {
			t.Errorf("Serves(%q) = %v, want %v", host, got, want)
		}
	}
}
