package dnsconfig

import (
	"strings"
	"testing"

	"esash/shell/shelltest"
)

// TestInteractive: on a terminal a bad answer is asked again; deleting
// the last own server is refused and the menu comes back; what is staged
// is what the answers said.
func TestInteractive(t *testing.T) {
	a := shelltest.NewAppliance(t, shelltest.Options{}, New())
	got, _, _ := a.Run(true, strings.Join([]string{
		"dnsconfig", "setup", "2", "1",
		"dns.example.com", "192.0.2.53", // a name is refused, then an address
		"99999", "7", // priority out of range, then 7
		"0", "301", "300", // timeout 0 and 301 refused
		"-1", "60", // TTL
		"delete", "1", "9", "1", // number out of range, then the only server
		"new", "2", "bad_domain", "lab.example.com", "192.0.2.9:0", "[2001:db8::9]:5353",
		"", "showchanges",
	}, "\n")+"\n")
	for _, want := range []string{
		"[]> dns.example.com\nThe value must be an IP address, optionally followed by :port",
		"[0]> 99999\nThe value must be an integer from 0 to 10000.\n",
		"[20]> 0\nThe value must be an integer from 1 to 300.\n",
		"[20]> 301\nThe value must be an integer from 1 to 300.\n",
		"[1800]> -1\nThe value must be an integer from 0 to 86400.\n",
		"[]> 9\nThe value must be a number from 1 to 1 or the address or domain of a server listed.\n",
		"The last local DNS cache server cannot be deleted: choose SETUP to use the Internet root DNS servers instead.\n",
		"[]> bad_domain\nThe value must be a domain name (example.com), not \"bad_domain\".\n",
		"[]> 192.0.2.9:0\nThe value must be an IP address",
		"Currently using the local DNS cache servers:\n1. Priority: 7 192.0.2.53\n\nAlternate domain servers:\n1. lab.example.com: [2001:db8::9]:5353\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	changes := got[strings.LastIndex(got, "> showchanges\n"):]
	wantChanges := `  dns.mode: "root" -> "local"
+ dns.servers[192.0.2.53]
    address = "192.0.2.53"
    priority = 7
+ dns.alternates[lab.example.com]
    address = "[2001:db8::9]:5353"
    domain = "lab.example.com"
  dns.reverse_timeout: 20 -> 300
  dns.min_ttl: 1800 -> 60
`
	if !strings.Contains(changes, wantChanges) {
		t.Errorf("staged changes:\n%s\nwant:\n%s", changes, wantChanges)
	}
}
