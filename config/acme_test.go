package config

import (
	"strings"
	"testing"
)

// acmeCert is a valid ACME profile over a valid placeholder.
func acmeCert(t *testing.T) Certificate {
	c := validCert(t, "Mail")
	c.ACME = ACMEProfile{DirectoryURL: "https://acme.example.net/dir", Email: "postmaster@example.com",
		Names: []string{"mail.example.com", "mx.example.com"}, KeyType: ACMEKeyECDSAP256, Challenge: ACMEHTTP01,
		Trust: ACMETrustSystem, AccountKeyPEM: validCert(t, "acct").KeyPEM}
	return c
}

func TestValidateACME(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config, a *ACMEProfile)
		path string // "" accepted
		msg  string
	}{
		{"valid", func(*Config, *ACMEProfile) {}, "", ""},
		{"tls-alpn-01 with HTTPS", func(_ *Config, a *ACMEProfile) { a.Challenge = ACMETLSALPN01 }, "", ""},
		{"custom trust with a custom CA", func(c *Config, a *ACMEProfile) {
			a.Trust = ACMETrustCustom
			c.CAs.Custom = []CA{{Name: "Root", PEM: c.Certificates[0].CertPEM}}
		}, "", ""},
		{"plain http directory", func(_ *Config, a *ACMEProfile) { a.DirectoryURL = "http://acme.example.net/dir" },
			"certificates[Mail].acme.directory_url", "https URL"},
		{"bad email", func(_ *Config, a *ACMEProfile) { a.Email = "nobody" }, "certificates[Mail].acme.email", ""},
		{"no names", func(_ *Config, a *ACMEProfile) { a.Names = nil }, "certificates[Mail].acme.names", "at least one"},
		{"wildcard", func(_ *Config, a *ACMEProfile) { a.Names = []string{"*.example.com"} }, "certificates[Mail].acme.names", "DNS-01"},
		{"bare name", func(_ *Config, a *ACMEProfile) { a.Names = []string{"mail"} }, "certificates[Mail].acme.names", "fully qualified"},
		{"key type", func(_ *Config, a *ACMEProfile) { a.KeyType = "RSA 4096" }, "certificates[Mail].acme.key_type", "ECDSA P-256, RSA 2048 or RSA 3072"},
		{"challenge", func(_ *Config, a *ACMEProfile) { a.Challenge = "dns-01" }, "certificates[Mail].acme.challenge", "http-01 or tls-alpn-01"},
		{"tls-alpn-01 without HTTPS", func(c *Config, a *ACMEProfile) {
			a.Challenge = ACMETLSALPN01
			c.Interfaces[0].HTTPS.Enabled = false
		}, "certificates[Mail].acme.challenge", "HTTPS enabled"},
		{"custom trust, empty list", func(c *Config, a *ACMEProfile) { a.Trust = ACMETrustCustom; c.CAs.Custom = nil },
			"certificates[Mail].acme.trust", "empty"},
		{"no account key", func(_ *Config, a *ACMEProfile) { a.AccountKeyPEM = "" }, "certificates[Mail].acme.account_key", "PEM private key"},
		{"settings without a directory", func(_ *Config, a *ACMEProfile) { a.DirectoryURL = "" },
			"certificates[Mail].acme.directory_url", "other ACME settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			ct := acmeCert(t)
			tc.edit(c, &ct.ACME)
			c.Certificates = append([]Certificate{ct}, c.Certificates...)
			var found *Problem
			for _, p := range Validate(c, testNow) {
				if strings.Contains(p.Path, ".acme") && !p.Warning {
					p := p
					if tc.path == "" {
						t.Fatalf("unexpected problem %s: %s", p.Path, p.Msg)
					}
					if p.Path == tc.path && strings.Contains(p.Msg, tc.msg) {
						found = &p
					}
				}
			}
			if tc.path != "" && found == nil {
				t.Errorf("no problem at %s containing %q: %v", tc.path, tc.msg, Validate(c, testNow))
			}
		})
	}
}

// TestExportACMEAccountKey: the ACME account key is a secret of exports
// like every private key: masked, or encrypted and restored with the
// passphrase; never written in clear unless asked.
func TestExportACMEAccountKey(t *testing.T) {
	c := factory(t)
	ct := acmeCert(t)
	c.Certificates = append(c.Certificates, ct)
	keyBody := strings.Split(ct.ACME.AccountKeyPEM, "\n")[1]
	for _, mode := range []SecretMode{MaskSecrets, EncryptSecrets} {
		data := string(export(t, c, mode, "correct horse"))
		if strings.Contains(data, keyBody) {
			t.Fatalf("%s export holds the account key in clear", mode)
		}
		if !strings.Contains(data, "<account_key ") {
			t.Fatalf("%s export has no account_key element:\n%s", mode, data)
		}
	}
	data := export(t, c, EncryptSecrets, "correct horse")
	got, err := load(t, data, "correct horse", factory(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got.Config.Certificates {
		if p.Name == "Mail" && p.ACME.AccountKeyPEM != ct.ACME.AccountKeyPEM {
			t.Error("the account key did not survive an encrypted export")
		}
	}
}
