package dig

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"esash/config"
	"esash/resolver"
)

// request is one dig question as the administrator gave it.
type request struct {
	host    string // a name or an IP address
	qtype   string // a mnemonic of resolver.DigTypes, upper case
	reverse bool   // -x: ask the reverse name of host
	server  string // "" the configured servers
	source  string // -s: an interface's address or name; "" as dnsconfig sends
	iface   string // the interactive choice: an interface name; "" Auto
	tcp     bool
}

// usage is the batch forms (reference asyncos-cli-2 §4.5 [S IAF]).
const usage = "dig [-s SOURCE_IP] [-t | -u] [@DNS_SERVER] [QTYPE] HOST\n" +
	"dig -x IP [-s SOURCE_IP] [-t | -u] [@DNS_SERVER]"

// parseArgs reads the batch form. It returns the request, or the field
// at fault and the message naming what it accepts.
func parseArgs(args []string) (request, string, string) {
	var req request
	var positional []string
	var tcp, udp bool
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-s" || a == "-x":
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") || strings.HasPrefix(args[i+1], "@") {
				return req, a, "needs a value: " + map[string]string{"-s": "-s SOURCE_IP", "-x": "-x IP"}[a]
			}
			i++
			if a == "-s" {
				if req.source != "" {
					return req, a, "may be given once"
				}
				req.source = args[i]
			} else {
				if req.reverse {
					return req, a, "may be given once"
				}
				req.reverse, req.host = true, args[i]
			}
		case a == "-t":
			tcp = true
		case a == "-u":
			udp = true
		case strings.HasPrefix(a, "@"):
			if req.server != "" {
				return req, "@DNS_SERVER", "may be given once"
			}
			req.server = a[1:]
			if msg := checkServer(req.server); msg != "" || req.server == "" {
				return req, "@DNS_SERVER", serverMessage(req.server)
			}
		case strings.HasPrefix(a, "-"), strings.HasPrefix(a, "+"): // +short and the like are BIND's
			if strings.ContainsFunc(a, func(r rune) bool { return !unicode.IsPrint(r) }) {
				a = strconv.Quote(a) // named, not sent to the terminal as typed
			}
			return req, a, "unknown option; the options are -s SOURCE_IP, -t (TCP), -u (UDP), -x IP and @DNS_SERVER"
		default:
			positional = append(positional, a)
		}
	}
	if tcp && udp {
		return req, "-t", "cannot be combined with -u: the query goes over TCP (-t) or UDP (-u)"
	}
	req.tcp = tcp
	return positionals(req, positional)
}

// positionals reads [QTYPE] HOST, or nothing after -x IP.
func positionals(req request, p []string) (request, string, string) {
	if req.reverse {
		if len(p) > 0 {
			return req, "-x", fmt.Sprintf("takes no other host or query type (%q): usage: %s", p[0], strings.ReplaceAll(usage, "\n", " | "))
		}
		req.qtype = "PTR"
		if !isIP(req.host) {
			return req, "-x", fmt.Sprintf("The value must be an IP address (192.0.2.1, 2001:db8::1), not %q.", req.host)
		}
		return req, "", ""
	}
	switch len(p) {
	case 0:
		return req, "HOST", "You must enter a host or IP address to look up."
	case 1:
		req.qtype, req.host = "A", p[0]
		if isType(p[0]) {
			return req, "HOST", fmt.Sprintf("You must enter a host or IP address to look up after the query type %s.", strings.ToUpper(p[0]))
		}
	case 2:
		if !isType(p[0]) {
			return req, "QTYPE", typeMessage(p[0])
		}
		req.qtype, req.host = strings.ToUpper(p[0]), p[1]
	default:
		return req, "dig", "too many arguments: usage: " + strings.ReplaceAll(usage, "\n", " | ")
	}
	if msg := checkHost(req.host); msg != "" {
		return req, "HOST", msg
	}
	req.reverse = req.qtype == "PTR" && isIP(req.host)
	return req, "", ""
}

func isType(s string) bool { return slices.Contains(resolver.DigTypes, strings.ToUpper(s)) }

func typeMessage(s string) string {
	return fmt.Sprintf("The value must be a query type (%s), not %q.", strings.Join(resolver.DigTypes, ", "), s)
}

// isIP: an IP address, without a zone (fe80::1%eth0 names an interface
// of this host, which means nothing in a reverse name or to a server).
func isIP(s string) bool { a, err := netip.ParseAddr(s); return err == nil && a.Zone() == "" }

// checkHost accepts an IP address or a domain name. Unlike a host name a
// domain name may have labels with "_" (_dmarc.example.com, the TXT
// records administrators look up most); "." is the root (dig NS .).
func checkHost(h string) string {
	if isIP(h) || isDomain(h) || h == "." {
		return ""
	}
	return fmt.Sprintf("The value must be a host name, domain name or IP address (mail.example.com, _dmarc.example.com, 192.0.2.1), not %q.", h)
}

func isDomain(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkServer accepts the DNS server question's answer: blank (the
// configured servers), an IP address with an optional port (as dnsconfig
// takes its servers) or a host name.
func checkServer(a string) string {
	if a == "" {
		return ""
	}
	if _, _, msg := config.ParseDNSAddress(a); msg == "" {
		return ""
	}
	if !isIP(a) && !strings.ContainsAny(a, ":_") && isDomain(a) { // a host name
		return ""
	}
	return serverMessage(a)
}

func serverMessage(a string) string {
	return fmt.Sprintf("The value must be the IP address of a DNS server, optionally followed by :port, or its host name (192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353, dns.example.com), not %q.", a)
}

// sourceAddr is the address -s names: an interface's IPv4 or IPv6
// address, or (beyond AsyncOS) its name for its IPv4 address.
func sourceAddr(cfg *config.Config, source string) (netip.Addr, string) {
	var offered []string
	for _, in := range cfg.Interfaces {
		if strings.EqualFold(in.Name, source) {
			return ifaceAddr(in), ""
		}
		for _, a := range []string{in.IPv4, in.IPv6} {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				continue
			}
			if s, err := netip.ParseAddr(source); err == nil && s.Unmap() == ip.Unmap() {
				return ip.Unmap(), ""
			}
			offered = append(offered, a)
		}
	}
	return netip.Addr{}, fmt.Sprintf("The value must be the IP address of an interface (%s), not %q.", strings.Join(offered, ", "), source)
}

// ifaceAddr is the address an interface sends dig's question from: its
// IPv4 address, as dnsconfig's interface setting sends the resolver's.
func ifaceAddr(in config.Interface) netip.Addr {
	if a, err := netip.ParseAddr(in.IPv4); err == nil {
		return a.Unmap()
	}
	a, _ := netip.ParseAddr(in.IPv6)
	return a
}
