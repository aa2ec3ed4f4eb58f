package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// LDAP authentication methods and server types, as ldapconfig stores them.
const (
	LDAPAuthAnonymous = "anonymous"
	LDAPAuthPassword  = "password"

	LDAPActiveDirectory = "active_directory"
	LDAPOpenLDAP        = "openldap"
	LDAPOtherServer     = "other"
)

// LDAP ports by convention: plain and SSL (LDAPS).
const (
	LDAPPort    = 389
	LDAPSSLPort = 636
)

const ldapHostMsg = "The LDAP Server Hostname should be the hostname or IP address of the LDAP server."

// CheckLDAPHost validates an LDAP server's host: an IP address or a host
// name (a single label such as "ldap" is allowed: it resolves through the
// search domain).
func CheckLDAPHost(h string) string {
	if h == "" {
		return ldapHostMsg
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.IsUnspecified() || a.Zone() != "" {
			return ldapHostMsg
		}
		return ""
	}
	name := strings.TrimSuffix(h, ".")
	if len(name) > 253 || looksNumeric(name) || strings.Contains(name, ":") {
		return ldapHostMsg
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if checkLabel(l) != "" {
			return ldapHostMsg
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return ldapHostMsg
	}
	return ""
}

// CheckLDAPPort validates an LDAP server's port.
func CheckLDAPPort(p int) string {
	if p < 1 || p > 65535 {
		return "The LDAP Server Port should be an integer from 1 to 65535."
	}
	return ""
}

// ldapAndWebSecurity checks the LDAP server profiles and the client
// certificates of LDAP and the web security service. Names, ports and
// that the certificates exist are checked in services.
func (c *checker) ldapAndWebSecurity(cfg *Config) {
	ssl := false
	for _, s := range cfg.LDAP.Servers {
		p := itemPath("ldap.servers", s.Name)
		if r := CheckLDAPHost(s.Host); r != "" {
			c.errf(p+".host", "%s (not %q)", strings.TrimSuffix(r, "."), s.Host)
		}
		switch s.AuthMethod {
		case LDAPAuthAnonymous:
		case LDAPAuthPassword:
			if s.BindDN == "" {
				c.errf(p+".bind_dn", "passphrase authentication needs a bind username")
			}
			if s.BindPassword == "" {
				c.errf(p+".bind_password", "passphrase authentication needs a bind passphrase")
			}
		default:
			c.errf(p+".auth_method", "The value must be %s or %s, not %q.", LDAPAuthAnonymous, LDAPAuthPassword, s.AuthMethod)
		}
		switch s.ServerType {
		case LDAPActiveDirectory, LDAPOpenLDAP, LDAPOtherServer:
		default:
			c.errf(p+".server_type", "The value must be %s, %s or %s, not %q.", LDAPActiveDirectory, LDAPOpenLDAP, LDAPOtherServer, s.ServerType)
		}
		ssl = ssl || s.SSL
	}
	if ssl && cfg.LDAP.ValidateCert && !cfg.CAs.SystemEnabled && !cfg.CAs.CustomEnabled {
		c.errf("ldap.validate_certificate", "LDAP server certificates cannot be validated: the system and the custom CA lists are both disabled")
	}
	c.clientCert(cfg, "ldap.certificate", cfg.LDAP.Certificate)
	c.clientCert(cfg, "websecurity.client_certificate", cfg.WebSecurity.ClientCertificate)
	if l := cfg.WebSecurity.AllowList; l != "" {
		if r := CheckName(l); r != "" {
			c.errf("websecurity.allow_list", "%s", r)
		}
	}
}

// clientCert checks that a certificate used to authenticate the appliance
// as a client has its private key (a profile with only a signing request
// pending cannot be used).
func (c *checker) clientCert(cfg *Config, path, name string) {
	if name == "" {
		return
	}
	for _, ct := range cfg.Certificates {
		if ct.Name == name && ct.KeyPEM == "" {
			c.errf(path, "%s", fmt.Sprintf("certificate profile %q has no private key and cannot authenticate the appliance", name))
		}
	}
}
