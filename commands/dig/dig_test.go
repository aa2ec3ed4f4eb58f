package dig

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/resolver"
	"esash/resolver/dnstest"
	"esash/shell/shelltest"
)

// TestParseArgs: the batch forms, and every bad argument naming itself
// and what it accepts.
func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  string
		want  request
		field string // "" valid
		msg   string // substring of the message
	}{
		{name: "host alone asks A", args: "example.com", want: request{host: "example.com", qtype: "A"}},
		{name: "type and host, any case", args: "mx example.com", want: request{host: "example.com", qtype: "MX"}},
		{name: "-t is TCP, not the type", args: "-t mx example.com", want: request{host: "example.com", qtype: "MX", tcp: true}},
		{name: "-u is UDP", args: "-u txt _dmarc.example.com", want: request{host: "_dmarc.example.com", qtype: "TXT"}},
		{name: "every option", args: "-s 192.0.2.10 -t @192.0.2.53:5353 AAAA mail.example.com",
			want: request{host: "mail.example.com", qtype: "AAAA", source: "192.0.2.10", server: "192.0.2.53:5353", tcp: true}},
		{name: "server by name", args: "@dns.example.com NS example.com", want: request{host: "example.com", qtype: "NS", server: "dns.example.com"}},
		{name: "-x asks PTR of the address", args: "-x 192.0.2.1 -t @192.0.2.53", want: request{host: "192.0.2.1", qtype: "PTR", reverse: true, server: "192.0.2.53", tcp: true}},
		{name: "PTR of an address is reverse", args: "PTR 2001:db8::1", want: request{host: "2001:db8::1", qtype: "PTR", reverse: true}},
		{name: "PTR of a name is not", args: "PTR 1.0.0.127.in-addr.arpa", want: request{host: "1.0.0.127.in-addr.arpa", qtype: "PTR"}},

		{name: "the root", args: "NS .", want: request{host: ".", qtype: "NS"}},
		{name: "-x of an IPv4-mapped address", args: "-x ::ffff:192.0.2.1", want: request{host: "::ffff:192.0.2.1", qtype: "PTR", reverse: true}},

		{name: "-x of an address with a zone", args: "-x fe80::1%eth0", field: "-x", msg: `The value must be an IP address (192.0.2.1, 2001:db8::1), not "fe80::1%eth0".`},
		{name: "PTR of an address with a zone", args: "PTR fe80::1%eth0", field: "HOST", msg: `not "fe80::1%eth0"`},
		{name: "an address with a zone", args: "fe80::1%eth0", field: "HOST", msg: `not "fe80::1%eth0"`},
		{name: "a label over 63", args: strings.Repeat("a", 64) + ".test", field: "HOST", msg: "The value must be a host name"},
		{name: "a name over 253", args: strings.Repeat("abcdefghi.", 26) + "test", field: "HOST", msg: "The value must be a host name"},
		{name: "a control byte in a name", args: "a\x1bb.test", field: "HOST", msg: `not "a\x1bb.test"`},
		{name: "unicode in a name", args: "é.test", field: "HOST", msg: `not "é.test"`},
		{name: "a control byte in an option is quoted", args: "-\x1b[2J example.com", field: `"-\x1b[2J"`, msg: "unknown option"},
		{name: "server port out of range", args: "@192.0.2.53:70000 example.com", field: "@DNS_SERVER", msg: `not "192.0.2.53:70000"`},
		{name: "server with a zone", args: "@fe80::1%eth0 example.com", field: "@DNS_SERVER", msg: `not "fe80::1%eth0"`},
		{name: "no host", args: "-t", field: "HOST", msg: "You must enter a host or IP address to look up."},
		{name: "a type without host", args: "MX", field: "HOST", msg: "after the query type MX"},
		{name: "unknown type", args: "SPF example.com", field: "QTYPE", msg: `The value must be a query type (A, AAAA, CNAME, MX, NS, PTR, SOA, TXT), not "SPF".`},
		{name: "two words, the first not a type", args: "exa mple!", field: "QTYPE", msg: `not "exa"`},
		{name: "bad host name", args: "A host..example", field: "HOST", msg: `The value must be a host name, domain name or IP address (mail.example.com, _dmarc.example.com, 192.0.2.1), not "host..example".`},
		{name: "too many", args: "A b.example c.example", field: "dig", msg: "too many arguments: usage: dig [-s SOURCE_IP]"},
		{name: "-t with -u", args: "-t -u example.com", field: "-t", msg: "cannot be combined with -u"},
		{name: "-s without value", args: "example.com -s", field: "-s", msg: "needs a value: -s SOURCE_IP"},
		{name: "-s twice", args: "-s 1.2.3.4 -s 1.2.3.5 example.com", field: "-s", msg: "may be given once"},
		{name: "-x without value", args: "-x -t", field: "-x", msg: "needs a value: -x IP"},
		{name: "-x of a name", args: "-x example.com", field: "-x", msg: `The value must be an IP address (192.0.2.1, 2001:db8::1), not "example.com".`},
		{name: "-x with a host", args: "-x 192.0.2.1 example.com", field: "-x", msg: `takes no other host or query type ("example.com")`},
		{name: "empty server", args: "@ example.com", field: "@DNS_SERVER", msg: `The value must be the IP address of a DNS server, optionally followed by :port, or its host name`},
		{name: "bad server port", args: "@192.0.2.53:0 example.com", field: "@DNS_SERVER", msg: `not "192.0.2.53:0"`},
		{name: "server twice", args: "@192.0.2.53 @192.0.2.54 example.com", field: "@DNS_SERVER", msg: "may be given once"},
		{name: "BIND's options are unknown", args: "+short example.com", field: "+short", msg: "unknown option"},
		{name: "unknown dash option", args: "-p 53 example.com", field: "-p", msg: "unknown option; the options are -s SOURCE_IP, -t (TCP), -u (UDP), -x IP and @DNS_SERVER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, field, msg := parseArgs(strings.Fields(strings.ReplaceAll(tc.args, `\x1b`, "\x1b")))
			if tc.field == "" {
				if msg != "" || got != tc.want {
					t.Fatalf("parseArgs(%q) = %+v, %s: %s; want %+v", tc.args, got, field, msg, tc.want)
				}
				return
			}
			if field != tc.field || !strings.Contains(msg, tc.msg) {
				t.Fatalf("parseArgs(%q) = %s: %s; want %s: ...%s...", tc.args, field, msg, tc.field, tc.msg)
			}
		})
	}
}

// TestSourceAddr: -s takes an interface's address or its name, nothing
// else, and says which addresses it takes.
func TestSourceAddr(t *testing.T) {
	cfg := &config.Config{Interfaces: []config.Interface{
		{Name: "Management", IPv4: "192.0.2.10"},
		{Name: "Data1", IPv4: "198.51.100.10", IPv6: "2001:db8::10"},
	}}
	for _, tc := range []struct{ name, source, want, msg string }{
		{"IPv4 of an interface", "198.51.100.10", "198.51.100.10", ""},
		{"IPv6 of an interface", "2001:db8:0::10", "2001:db8::10", ""},
		{"interface name", "data1", "198.51.100.10", ""},
		{"another address", "192.0.2.11", "", `The value must be the IP address of an interface (192.0.2.10, 198.51.100.10, 2001:db8::10), not "192.0.2.11".`},
		{"not an address", "eth0", "", `not "eth0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, msg := sourceAddr(cfg, tc.source)
			if tc.msg != "" {
				if !strings.Contains(msg, tc.msg) {
					t.Fatalf("sourceAddr(%q) = %v, %q; want ...%s", tc.source, a, msg, tc.msg)
				}
				return
			}
			if msg != "" || a.String() != tc.want {
				t.Fatalf("sourceAddr(%q) = %v, %q; want %s", tc.source, a, msg, tc.want)
			}
		})
	}
}

const dead = "127.4.250.250:9" // nothing listens there

// TestDialogAsksAgain: on a terminal a bad host, type, interface or
// server is refused with what is accepted and asked again; a blank host
// returns to the main prompt.
func TestDialogAsksAgain(t *testing.T) {
	cmd := New().WithResolverOptions(resolver.Options{Timeout: 2 * time.Second})
	in := strings.Join([]string{"dig", "no such host!", "example.test", "SPF", "mx", "9", "1", "ns_1", dead, "maybe", "n", "dig", ""}, "\n") + "\n"
	out, _, _ := shelltest.RunSession(t, true, in, cmd)
	for _, want := range []string{
		`The value must be a host name, domain name or IP address (mail.example.com, _dmarc.example.com, 192.0.2.1), not "no such host!".`,
		"The value must be a number from 1 to 8 or one of the names listed.",
		"The value must be a number from 1 to 2 or one of the names listed.",
		`The value must be the IP address of a DNS server, optionally followed by :port, or its host name (192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353, dns.example.com), not "ns_1".`,
		"Please answer Y or N.",
		";; communications error to 127.4.250.250#9(127.4.250.250): connection refused\n;; no servers could be reached\n",
		"Enter the host or IP address to look up.\n[]> \n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the session lacks %q:\n%s", want, out)
		}
	}
}

// TestDigThroughTheConfiguredResolver: with no server named, dig asks
// dnsconfig's servers (past a dead one to the validating Unbound), from
// the interface chosen, and shows the ad flag for the signed zone only.
// A script without an MTA runs it: the command needs none.
func TestDigThroughTheConfiguredResolver(t *testing.T) {
	srv := dnstest.Start(t,
		dnstest.Zone{Origin: "signed.test", Signed: true, Records: []string{"@ IN MX 10 mx", "mx IN A 127.0.0.9"}},
		dnstest.Zone{Origin: "plain.test", Records: []string{"@ IN MX 10 mx", "mx IN A 127.0.0.10"}})
	a := shelltest.NewAppliance(t, shelltest.Options{Factory: func(c *config.Config) {
		c.Interfaces[0].IPv4 = "127.4.252.1"
		c.DNS = config.DNS{Mode: config.DNSLocal, Servers: []config.DNSServer{
			{Address: dead, Priority: 0}, {Address: srv.Resolver, Priority: 1}}}
	}}, New().WithResolverOptions(resolver.Options{Timeout: 5 * time.Second}))
	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"signed, dialog from Management", "dig\nsigned.test\nMX\n2\n\nn\n", []string{
			`(?m)^;; communications error to 127\.4\.250\.250#9\(127\.4\.250\.250\): connection refused$`,
			`(?m)^;; flags: qr rd ra ad; QUERY: 1, ANSWER: 2, `,
			`(?m)^signed\.test\.\t300\tIN\tMX\t10 mx\.signed\.test\.$`,
			`(?m)^;; SERVER: ` + regexp.QuoteMeta(strings.Replace(srv.Resolver, ":", "#", 1)) + `\(127\.[0-9.]+\) \(UDP\)$`,
		}},
		{"unsigned, batch over TCP", "dig -t -s Management MX plain.test\n", []string{
			`(?m)^;; flags: qr rd ra; QUERY: 1, ANSWER: 1, `,
			`(?m)^plain\.test\.\t300\tIN\tMX\t10 mx\.plain\.test\.$`,
			`(?m)\(TCP\)$`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, _ := a.Run(false, tc.input)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("output does not match %s:\n%s", w, out)
				}
			}
		})
	}
}
