package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDNSAddress(t *testing.T) {
	for _, tc := range []struct {
		name, in, canon, addrPort string
		bad                       bool
	}{
		{"ipv4", "192.0.2.1", "192.0.2.1", "192.0.2.1:53", false},
		{"ipv4 port", "127.0.0.1:5353", "127.0.0.1:5353", "127.0.0.1:5353", false},
		{"ipv4 port 53 canonical", "192.0.2.1:53", "192.0.2.1", "192.0.2.1:53", false},
		{"ipv6", "2001:db8::1", "2001:db8::1", "[2001:db8::1]:53", false},
		{"ipv6 port", "[::1]:5300", "[::1]:5300", "[::1]:5300", false},
		{"name", "dns.example.com", "", "", true},
		{"leading zero", "010.0.0.1", "", "", true},
		{"unspecified", "0.0.0.0", "", "", true},
		{"broadcast", "255.255.255.255", "", "", true},
		{"broadcast mapped", "[::ffff:255.255.255.255]:53", "", "", true},
		{"multicast", "224.0.0.251", "", "", true},
		{"port zero", "192.0.2.1:0", "", "", true},
		{"empty", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			canon, ap, msg := ParseDNSAddress(tc.in)
			if tc.bad {
				if msg == "" || !strings.Contains(msg, "IP address") {
					t.Fatalf("ParseDNSAddress(%q) accepted (%q, %v), want a message naming an IP address", tc.in, canon, ap)
				}
				return
			}
			if msg != "" || canon != tc.canon || ap.String() != tc.addrPort {
				t.Errorf("ParseDNSAddress(%q) = %q, %v, %q; want %q, %s", tc.in, canon, ap, msg, tc.canon, tc.addrPort)
			}
		})
	}
}

// TestLegacyResolverImport: a file saved before dnsconfig existed carries
// the resolver as <delivery><resolver>; loadconfig maps it onto dnsconfig
// (own servers, priority 0); a bad value is refused with its line.
func TestLegacyResolverImport(t *testing.T) {
	data := string(export(t, factory(t), PlainSecrets, ""))
	old := strings.Replace(data, "<delivery>", "<delivery>\n    <resolver>127.0.0.1:5353</resolver>", 1)
	old = strings.Replace(old, "<mode>root</mode>", "", 1)
	got, err := load(t, []byte(old), "", nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want := factory(t).DNS
	want.Mode, want.Servers = DNSLocal, []DNSServer{{Address: "127.0.0.1:5353"}}
	if len(got.Config.DNS.Alternates) == 0 {
		want.Alternates = got.Config.DNS.Alternates // nil or empty
	}
	if !reflect.DeepEqual(got.Config.DNS, want) {
		t.Errorf("DNS = %+v, want %+v", got.Config.DNS, want)
	}
	if ps := Validate(got.Config, testNow); ps != nil {
		t.Errorf("the mapped configuration does not validate: %v", ps)
	}
	bad := strings.Replace(data, "<delivery>", "<delivery>\n    <resolver>dns.example.com</resolver>", 1)
	if _, err := load(t, []byte(bad), "", nil); err == nil || !strings.Contains(err.Error(), "delivery.resolver") || !strings.Contains(err.Error(), "line ") {
		t.Errorf("a bad legacy resolver: err = %v, want one naming delivery.resolver and its line", err)
	}
	i := strings.LastIndex(old, "<servers/>") // dnsconfig's, the last section
	if i < 0 {
		t.Fatal("the exported file has no empty <servers/> to fill")
	}
	both := old[:i] + "<servers><dns_server><address>192.0.2.1</address><priority>0</priority></dns_server></servers>" + old[i+len("<servers/>"):]
	if _, err := load(t, []byte(both), "", nil); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Errorf("legacy resolver and dns servers: err = %v, want a refusal", err)
	}
}
