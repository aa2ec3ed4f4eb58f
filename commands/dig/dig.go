// Package dig is the dig command: it asks one DNS question as the
// appliance asks its own (the servers dnsconfig configures, from the
// address its questions leave from, with RD and EDNS0's DO bit) and prints
// the whole reply, so an administrator sees why a domain's mail waits or
// whether DNSSEC validates (the ad flag).
//
// Dialog (reference asyncos-cli-2 §4.5, order [I-seq] from IAF's dig
// driver, which answers five questions in turn):
//
//  1. "Enter the host or IP address to look up." IAF's own error text for
//     a missing host is this sentence [I]; the prompt is taken to be it.
//     A blank answer returns to the main prompt.
//  2. "Choose the query type:" and a numbered list, default 1. IAF picks
//     the item by its exact text ("A", "MX"), so items are the bare type
//     names. IAF-KW names A, PTR, CNAME, MX, SOA, NS, TXT and AAAA; their
//     order is [U]: esash lists A, AAAA, CNAME, MX, NS, PTR, SOA, TXT (A
//     first, as item 1 is IAF's default; the rest alphabetical, as BIND's
//     host(1) documentation lists them). PTR of an IP address asks its
//     reverse name (in-addr.arpa, ip6.arpa); any other type asks the text
//     as a name, as BIND's dig does.
//  3. "Choose the IP interface to send the query from:" and a numbered
//     list, default 1. IAF selects "Management" by its text. The list is
//     dnsconfig's: "Auto" then each interface as "Name (IPv4/prefix:
//     hostname)". Auto (esash's decision, [U]) sends as the appliance's
//     resolver does: from dnsconfig's interface when one is set, else
//     where the system chooses; an interface sends from its IPv4 address.
//  4. "Enter the host or IP address of the DNS server to query. Leave it
//     blank to use the default DNS servers." (IAF-KW's description of the
//     answer, [V]; the wording of the prompt is ours). Blank asks the
//     servers dnsconfig configures: own servers by priority, an alternate
//     server for names in its domain, or in the Internet-root mode the
//     resolvers of /etc/resolv.conf (esash/resolver), the first that
//     answers as the resolver tries them. Beyond AsyncOS, as dnsconfig
//     does, an address may carry a port (192.0.2.53:5353).
//  5. "Do you want to make the query over TCP? [N]>" (IAF-KW: "Make query
//     over TCP. YES or NO"; default taken, N as dig's).
//
// Then the reply, and the main prompt.
//
// Batch [S IAF]: `dig [-s SOURCE_IP] [-t] [-u] [@DNS_SERVER] [QTYPE] HOST`
// and `dig -x IP [-t] [-u] [@DNS_SERVER]`. -t is TCP, -u UDP (so CARD's
// `dig -t mx example.com` is a TCP MX question); they cannot be combined.
// -s takes the address of one of the appliance's interfaces (beyond
// AsyncOS: or its name); -x asks the reverse name of an IP address.
// Every bad argument names itself and what it accepts.
//
// Output: AsyncOS runs BIND's dig, so esash prints a dig-like reply: the
// header (opcode, status, id, flags with ad when the resolver
// authenticated the answer), the EDNS pseudo-section, the QUESTION,
// ANSWER, AUTHORITY and ADDITIONAL sections (miekg/dns's text form of a
// message, which follows dig's, with every byte of the server's that is
// not printable ASCII written \DDD, as dig writes them in TXT strings: the
// server may be anyone's, and its bytes must not drive the terminal),
// then ";; Query time", ";; SERVER" (with
// the transport: a truncated UDP reply is asked again over TCP, as dig
// does), ";; WHEN" and ";; MSG SIZE". A server that could not be reached
// is reported as dig does (";; communications error to ..."), as is one
// whose message is no reply to the question (another question, or the
// question sent back: resolver's checkReply); one that
// answered SERVFAIL or REFUSED with ";; Got SERVFAIL reply from ..., trying
// next server"; when none answers, ";; no servers could be reached".
//
// The question is always sent: dig never answers from the appliance's
// DNS cache and never adds to it (resolver.Dig uses a resolver of its
// own, built from the running configuration; dnsflush is unaffected).
// It needs no MTA, so it works in a script (`esash -c 'dig MX
// example.com'`) without starting one. It reads the running (committed)
// configuration, not the session's draft: dig shows what the appliance
// asks now. Like tlsverify it sends traffic from the appliance's
// interfaces, so it is for operators and administrators (it declares no
// access level of its own).
package dig

import (
	"context"
	"fmt"
	"time"

	"esash/config"
	"esash/resolver"
	"esash/shell"
)

// Command is dig.
type Command struct{ opts resolver.Options }

// New returns the dig command.
func New() Command { return Command{} }

// WithResolverOptions is dig asking with o (tests: a short timeout).
func (c Command) WithResolverOptions(o resolver.Options) Command { c.opts = o; return c }

// Name implements shell.Command.
func (Command) Name() string { return "dig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Look up a record on a DNS server." }

// BatchUsage implements shell.BatchUsage.
func (Command) BatchUsage() string { return usage }

// Timeout bounds one dig, every server tried.
const Timeout = 30 * time.Second

// Run asks the question (batch or dialog), sends it and prints the reply.
func (c Command) Run(s *shell.Session, args []string) error {
	cfg := s.Head().Config
	var req request
	if len(args) > 0 {
		var field, msg string
		if req, field, msg = parseArgs(args); msg != "" {
			return shell.Invalid(s, field, msg)
		}
	} else {
		var err error
		if req, err = ask(s, cfg); err != nil {
			return err
		}
	}
	q := resolver.DigQuery{Name: req.host, Reverse: req.reverse, Type: req.qtype, Server: req.server, TCP: req.tcp}
	switch {
	case req.source != "":
		var msg string
		if q.Source, msg = sourceAddr(cfg, req.source); msg != "" {
			return shell.Invalid(s, "-s", msg)
		}
	case req.iface != "":
		for _, in := range cfg.Interfaces {
			if in.Name == req.iface {
				q.Source = ifaceAddr(in)
			}
		}
	}
	o := c.opts
	o.Now = s.Now
	ctx, cancel := context.WithTimeout(s.Ctx, Timeout)
	defer cancel()
	res, err := resolver.Dig(ctx, cfg, o, q)
	return s.Page(render(res, err, s.Now()))
}

// ask is the dialog's five questions.
func ask(s *shell.Session, cfg *config.Config) (request, error) {
	var req request
	var err error
	if req.host, err = s.Ask("Enter the host or IP address to look up.", "", checkHost); err != nil {
		return req, err
	}
	t, err := s.Choose("Choose the query type:", resolver.DigTypes, 1, true)
	if err != nil {
		return req, err
	}
	req.qtype = resolver.DigTypes[t]
	req.reverse = req.qtype == "PTR" && isIP(req.host)
	items, names := []string{"Auto"}, []string{""}
	for _, in := range cfg.Interfaces {
		items = append(items, fmt.Sprintf("%s (%s/%d: %s)", in.Name, in.IPv4, in.PrefixLen, in.Hostname))
		names = append(names, in.Name)
	}
	i, err := s.Choose("Choose the IP interface to send the query from:", items, 1, true)
	if err != nil {
		return req, err
	}
	req.iface = names[i]
	if req.server, err = s.AskOptional("Enter the host or IP address of the DNS server to query. Leave it blank to use the default DNS servers.",
		"", checkServer); err != nil {
		return req, err
	}
	req.tcp, err = s.YesNo("Do you want to make the query over TCP?", false)
	return req, err
}
