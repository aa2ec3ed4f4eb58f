package config

import (
	"net/url"
	"strings"
)

// ACMEProfile is a certificate profile the appliance obtains from an ACME
// v2 certificate authority (RFC 8555) and renews itself (package acme).
// The zero value (no directory URL) is a profile the administrator
// manages by hand, as every profile was before.
//
// Until the first certificate is issued the profile holds a self-signed
// placeholder for its names, so a listener or interface can be assigned
// it at once; CertURL empty means pending. Each issuance or renewal
// replaces CertPEM, KeyPEM and Intermediates of the profile in a revision
// committed by the system user "acme".
type ACMEProfile struct {
	DirectoryURL string `json:"directory_url,omitempty"`
	Email        string `json:"email,omitempty"`
	// Names are the certificate's DNS names: the first is the common
	// name, every one is also a subjectAltName.
	Names     []string      `json:"names,omitempty"`
	KeyType   ACMEKeyType   `json:"key_type,omitempty"`
	Challenge ACMEChallenge `json:"challenge,omitempty"`
	// Trust selects the roots that verify the ACME server's HTTPS
	// certificate: the system list or certconfig's custom list.
	Trust ACMETrust `json:"trust,omitempty"`
	// AccountKeyPEM is the ACME account's private key (PKCS#8 PEM); like
	// every private key it is a secret of exports and never printed.
	AccountKeyPEM string `json:"account_key,omitempty" cfg:"secret"`
	// AccountURL is the account the CA registered for AccountKeyPEM, so a
	// renewal does not register again; CertURL the issued certificate's.
	AccountURL string `json:"account_url,omitempty"`
	CertURL    string `json:"cert_url,omitempty"`
}

// Enabled reports whether the profile is managed by ACME.
func (p ACMEProfile) Enabled() bool { return p.DirectoryURL != "" }

// Pending reports whether an ACME profile still holds its placeholder.
func (p ACMEProfile) Pending() bool { return p.Enabled() && p.CertURL == "" }

// ACMEKeyType is the key algorithm of an ACME profile's certificates.
type ACMEKeyType string

// ACME key types, ECDSA P-256 first: the default.
const (
	ACMEKeyECDSAP256 ACMEKeyType = "ECDSA P-256"
	ACMEKeyRSA2048   ACMEKeyType = "RSA 2048"
	ACMEKeyRSA3072   ACMEKeyType = "RSA 3072"
)

// ACMEKeyTypes lists the key types in the order certconfig offers them.
var ACMEKeyTypes = []ACMEKeyType{ACMEKeyECDSAP256, ACMEKeyRSA2048, ACMEKeyRSA3072}

// ACMEChallenge is how the CA validates control of the names.
type ACMEChallenge string

// ACME challenges: HTTP-01 on the interface's port 80 (or its HTTP port),
// TLS-ALPN-01 on its HTTPS port.
const (
	ACMEHTTP01    ACMEChallenge = "http-01"
	ACMETLSALPN01 ACMEChallenge = "tls-alpn-01"
)

// ACMETrust selects the roots for the ACME server.
type ACMETrust string

// ACME trust choices.
const (
	ACMETrustSystem ACMETrust = "system"
	ACMETrustCustom ACMETrust = "custom"
)

// acme checks every ACME profile: a usable directory URL, the names, the
// choices, and that the challenge has a service to answer on.
func (c *checker) acme(cfg *Config) {
	for _, ct := range cfg.Certificates {
		a := ct.ACME
		p := itemPath("certificates", ct.Name) + ".acme"
		if !a.Enabled() {
			if a.Email != "" || len(a.Names) > 0 || a.KeyType != "" || a.Challenge != "" || a.Trust != "" ||
				a.AccountKeyPEM != "" || a.AccountURL != "" || a.CertURL != "" {
				c.errf(p+".directory_url", "The value must be an https URL when other ACME settings are set.")
			}
			continue
		}
		c.acmeProfile(cfg, p, a)
	}
}

func (c *checker) acmeProfile(cfg *Config, p string, a ACMEProfile) {
	if msg := CheckACMEDirectory(a.DirectoryURL); msg != "" {
		c.errf(p+".directory_url", "%s", msg)
	}
	if a.Email != "" {
		if msg := CheckEmail(a.Email); msg != "" {
			c.errf(p+".email", "%s", msg)
		}
	}
	if len(a.Names) == 0 {
		c.errf(p+".names", "The value must list at least one DNS name.")
	}
	for _, n := range a.Names {
		if msg := CheckACMEName(n); msg != "" {
			c.errf(p+".names", "%s", msg)
		}
	}
	switch a.KeyType {
	case ACMEKeyECDSAP256, ACMEKeyRSA2048, ACMEKeyRSA3072:
	default:
		c.errf(p+".key_type", "The value must be ECDSA P-256, RSA 2048 or RSA 3072, not %q.", a.KeyType)
	}
	switch a.Challenge {
	case ACMEHTTP01, ACMETLSALPN01:
	default:
		c.errf(p+".challenge", "The value must be http-01 or tls-alpn-01, not %q.", a.Challenge)
	}
	switch a.Trust {
	case ACMETrustSystem:
	case ACMETrustCustom:
		if len(cfg.CAs.Custom) == 0 {
			c.errf(p+".trust", "The custom certificate authority list is empty: add the ACME server's root with certconfig CERTAUTHORITY, or trust the system list.")
		}
	default:
		c.errf(p+".trust", "The value must be system or custom, not %q.", a.Trust)
	}
	if a.AccountKeyPEM == "" {
		c.errf(p+".account_key", "The value must be a PEM private key.")
	}
	if a.Challenge == ACMETLSALPN01 && !anyHTTPS(cfg) {
		c.errf(p+".challenge", "tls-alpn-01 needs an interface with HTTPS enabled (interfaceconfig).")
	}
}

func anyHTTPS(cfg *Config) bool {
	for _, ifc := range cfg.Interfaces {
		if ifc.HTTPS.Enabled {
			return true
		}
	}
	return false
}

// CheckACMEDirectory accepts an absolute https URL, as RFC 8555 requires
// of a directory.
func CheckACMEDirectory(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return "The directory URL must be an https URL (for example https://acme-v02.api.letsencrypt.org/directory)."
	}
	return ""
}

// CheckACMEName accepts a fully qualified DNS name without a wildcard:
// HTTP-01 and TLS-ALPN-01 cannot validate wildcards.
func CheckACMEName(v string) string {
	if strings.HasPrefix(v, "*.") {
		return "Wildcard names need a DNS-01 challenge, which this appliance does not offer."
	}
	if CheckHostname(v) != "" || !strings.Contains(v, ".") {
		return "A hostname must be fully qualified (for example mail.example.com)."
	}
	return ""
}
