package config

import (
	"strings"
	"testing"
)

func TestCheckers(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	long := strings.Repeat(label63+".", 4)[:250] + ".com" // 254 characters
	tests := []struct {
		name  string
		check func(string) string
		in    string
		ok    bool
	}{
		{"hostname", CheckHostname, "esa.example.com", true},
		{"hostname with trailing dot", CheckHostname, "esa.example.com.", true},
		{"hostname of 63-character labels", CheckHostname, label63 + ".example.com", true},
		{"hostname with a 64-character label", CheckHostname, label63 + "a.example.com", false},
		{"hostname of 254 characters", CheckHostname, long, false},
		{"hostname empty", CheckHostname, "", false},
		{"hostname single label", CheckHostname, "localhost", false},
		{"hostname single label with trailing dot", CheckHostname, "localhost.", false},
		{"hostname IPv4", CheckHostname, "192.0.2.1", false},
		{"hostname numeric TLD", CheckHostname, "host.123", false},
		{"hostname leading hyphen", CheckHostname, "-a.example.com", false},
		{"hostname trailing hyphen", CheckHostname, "a-.example.com", false},
		{"hostname underscore", CheckHostname, "a_b.example.com", false},
		{"hostname two dots", CheckHostname, "a..example.com", false},
		{"hostname only a dot", CheckHostname, ".", false},
		{"hostname non-ASCII", CheckHostname, "bücher.example", false},
		{"domain", CheckDomain, "example.com", true},
		{"domain with leading dot", CheckDomain, ".example.com", true},
		{"domain single label", CheckDomain, "localdomain", true},
		{"domain single label with trailing dot", CheckDomain, "localdomain.", true},
		{"domain numeric label with trailing dot", CheckDomain, "0.", false},
		{"domain empty", CheckDomain, "", false},
		{"domain dot only", CheckDomain, ".", false},
		{"host pattern ALL", CheckHostPattern, "ALL", true},
		{"host pattern IPv4", CheckHostPattern, "192.0.2.1", true},
		{"host pattern IPv6", CheckHostPattern, "2001:db8::1", true},
		{"host pattern IPv6 CIDR", CheckHostPattern, "2001:db8::/32", true},
		{"host pattern IPv6 range", CheckHostPattern, "2001:db8::1-2001:db8::ff", true},
		{"host pattern IPv6 range reversed", CheckHostPattern, "2001:db8::ff-2001:db8::1", false},
		{"host pattern short range", CheckHostPattern, "10.1.1.1-50", true},
		{"host pattern short range reversed", CheckHostPattern, "10.1.1.50-1", false},
		{"host pattern short range past 255", CheckHostPattern, "10.1.1.1-256", false},
		{"host pattern mixed range", CheckHostPattern, "10.1.1.1-2001:db8::1", false},
		{"host pattern bad CIDR", CheckHostPattern, "10.0.0.0/33", false},
		{"host pattern bad IP", CheckHostPattern, "10.0.0.256", false},
		{"host pattern colon junk", CheckHostPattern, "mail:example", false},
		{"host pattern domain", CheckHostPattern, ".example.com", true},
		{"email", CheckEmail, "admin@example.com", true},
		{"email without domain", CheckEmail, "admin@", false},
		{"email without at", CheckEmail, "admin", false},
		{"email with bracket", CheckEmail, "a[1]@example.com", false},
		{"email with space", CheckEmail, "a b@example.com", false},
		{"name", CheckName, "IncomingMail", true},
		{"name with digits and dots", CheckName, "Data-1_x.2", true},
		{"name starting with a digit", CheckName, "1st", false},
		{"name with a bracket", CheckName, "a]b", false},
		{"name of 65 characters", CheckName, strings.Repeat("a", 65), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.check(tc.in)
			if (r == "") != tc.ok {
				t.Errorf("check(%q) = %q, want ok %v", tc.in, r, tc.ok)
			}
		})
	}
}
