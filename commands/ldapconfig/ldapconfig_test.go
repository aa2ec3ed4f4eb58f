package ldapconfig

import (
	"testing"

	"esash/config"
)

func TestDefaults(t *testing.T) {
	for host, want := range map[string]string{
		"ldap.example.com":       "dc=example,dc=com",
		"dc1.corp.example.co.uk": "dc=corp,dc=example,dc=co,dc=uk",
		"example.com":            "dc=example,dc=com",
		"ldap":                   "",
		"10.1.2.3":               "",
		"ldap.example.com.":      "dc=example,dc=com",
		"2001:db8::1":            "",
	} {
		if got := defaultBase(host); got != want {
			t.Errorf("defaultBase(%q) = %q, want %q", host, got, want)
		}
	}
	for _, tc := range []struct {
		typ  string
		ssl  bool
		want int
	}{
		{config.LDAPOpenLDAP, false, 389}, {config.LDAPOpenLDAP, true, 636},
		{config.LDAPActiveDirectory, false, 3268}, {config.LDAPActiveDirectory, true, 3269},
		{config.LDAPOtherServer, true, 636},
	} {
		if got := defaultPort(tc.typ, tc.ssl); got != tc.want {
			t.Errorf("defaultPort(%s, %v) = %d, want %d", tc.typ, tc.ssl, got, tc.want)
		}
	}
	for base, ok := range map[string]bool{
		"dc=example,dc=com": true, "NONE": true, "none": true, "ou=People, dc=example": true,
		"dc": false, "dc=": false, "=x": false, "dc=a,,dc=b": false,
	} {
		if got := checkBase(base) == ""; got != ok {
			t.Errorf("checkBase(%q) accepts = %v, want %v", base, got, ok)
		}
	}
	for in, ok := range map[string]bool{"389": true, "65535": true, "0": false, "70000": false, "ldap": false} {
		if got := checkPort(in) == ""; got != ok {
			t.Errorf("checkPort(%q) accepts = %v, want %v", in, got, ok)
		}
	}
}
