package dig

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"

	"esash/config"
	"esash/resolver"
)

// render is dig's output for a reply (or the error of a question no
// server answered), in BIND dig's layout.
func render(res resolver.DigResult, err error, now time.Time) string {
	var b strings.Builder
	for _, f := range res.Failed {
		if f.Reply != nil {
			fmt.Fprintf(&b, ";; Got %s reply from %s, trying next server\n", dns.RcodeToString[f.Reply.Rcode], serverLabel(f.Addr, f.Server))
		} else {
			fmt.Fprintf(&b, ";; communications error to %s: %s\n", serverLabel(f.Addr, f.Server), escape(reason(f.Err)))
		}
	}
	if err != nil {
		if len(res.Failed) > 0 {
			b.WriteString(";; no servers could be reached\n")
		} else {
			fmt.Fprintf(&b, ";; %s\n", escape(err.Error()))
		}
		return b.String()
	}
	b.WriteString(";; Got answer:\n")
	message(&b, res.Reply)
	fmt.Fprintf(&b, "\n;; Query time: %d msec\n", res.Time.Milliseconds())
	fmt.Fprintf(&b, ";; SERVER: %s (%s)\n", serverLabel(res.Addr, res.Server), strings.ToUpper(res.Network))
	fmt.Fprintf(&b, ";; WHEN: %s\n", now.Format("Mon Jan 02 15:04:05 MST 2006"))
	// miekg/dns keeps no wire bytes: the size is the reply's packed with
	// name compression, as servers send it.
	res.Reply.Compress = true
	fmt.Fprintf(&b, ";; MSG SIZE  rcvd: %d\n\n", res.Reply.Len())
	return b.String()
}

// message writes m as miekg/dns's Msg.String does (dig's layout, with
// dig's marker on the header line), record by record, each escaped: the
// reply comes from whatever server the administrator named, and
// Msg.String passes some of its bytes through as sent (a NULL record's
// data, the NSID, extended-error, ESU and zone-version options), so a
// hostile server could clear the terminal, retitle its window or forge
// lines. Built in one builder, too: Msg.String concatenates a string per
// record, quadratic in a reply of thousands of records.
func message(b *strings.Builder, m *dns.Msg) {
	b.WriteString(strings.Replace(m.MsgHdr.String(), ";; opcode:", ";; ->>HEADER<<- opcode:", 1))
	fmt.Fprintf(b, " QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n", len(m.Question), len(m.Answer), len(m.Ns), len(m.Extra))
	opt := m.IsEdns0()
	if opt != nil {
		// The pseudo-section's first lines are numbers; each option's line
		// is its text after them, as Msg.String writes it.
		head := (&dns.OPT{Hdr: opt.Hdr}).String()
		b.WriteString(head)
		for _, o := range opt.Option {
			line := strings.TrimPrefix((&dns.OPT{Hdr: opt.Hdr, Option: []dns.EDNS0{o}}).String(), head)
			if line != "" {
				b.WriteString("\n" + escape(line[1:]))
			}
		}
		b.WriteString("\n")
	}
	if len(m.Question) > 0 {
		b.WriteString("\n;; QUESTION SECTION:\n")
		for _, q := range m.Question {
			b.WriteString(escape(q.String()) + "\n")
		}
	}
	section := func(title string, rrs []dns.RR, show bool) {
		if !show {
			return
		}
		b.WriteString("\n;; " + title + " SECTION:\n")
		for _, rr := range rrs {
			if rr != nil && (title != "ADDITIONAL" || rr.Header().Rrtype != dns.TypeOPT) {
				b.WriteString(escape(rr.String()) + "\n")
			}
		}
	}
	section("ANSWER", m.Answer, len(m.Answer) > 0)
	section("AUTHORITY", m.Ns, len(m.Ns) > 0)
	section("ADDITIONAL", m.Extra, len(m.Extra) > 0 && (opt == nil || len(m.Extra) > 1))
}

// escape writes every byte of s that is not printable ASCII (control
// bytes, newlines included, DEL, and every byte past ASCII, which a
// terminal may take for an 8-bit control such as CSI) as \DDD, as
// miekg/dns and dig write such bytes of a TXT string. TAB separates the
// fields of a record and stays.
func escape(s string) string {
	clean := func(c byte) bool { return c == '\t' || c >= 0x20 && c < 0x7f }
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; clean(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	return b.String()
}

// serverLabel is dig's name of a server: address#port(name), the name
// being the host name the server is known by, else its address.
func serverLabel(addr, name string) string {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return addr
	}
	host, _, _ := strings.Cut(name, " (") // an alternate: "ns.example.com (192.0.2.1)"
	if _, a, msg := config.ParseDNSAddress(host); msg == "" {
		host = a.Addr().String()
	}
	return fmt.Sprintf("%s#%d(%s)", ap.Addr(), ap.Port(), host)
}

// reason is why a server could not be reached, as dig says it
// ("connection refused", "timed out").
func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		err = sys.Err
	}
	return err.Error()
}
