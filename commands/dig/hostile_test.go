package dig

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"esash/resolver"
	"esash/resolver/dnstest"
	"esash/shell/shelltest"
)

// controlBytes is what a hostile server puts in every text it can: an
// erase-screen sequence, a window-title change (OSC ... BEL), CR,
// backspace, NUL, DEL, the 8-bit CSI and a newline that would start a
// forged line.
const controlBytes = "\x1b[2J\x1b]0;owned\x07\r\b\x00\x7f\x9b31m\n;; FORGED"

// TestHostileServerControlBytes: whatever a server puts in its reply
// (TXT strings, names, a NULL record's raw data, EDNS options' text:
// NSID, extended error, ESU, zone version), dig prints no control byte
// and no byte past ASCII, and no server text starts a line of its own.
func TestHostileServerControlBytes(t *testing.T) {
	evil := "x" + controlBytes + ".evil.test."
	addr := dnstest.Hostile(t, func(q *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		hdr := func(name string, rrtype uint16) dns.RR_Header {
			return dns.RR_Header{Name: name, Rrtype: rrtype, Class: dns.ClassINET, Ttl: 60}
		}
		m.Answer = []dns.RR{
			&dns.TXT{Hdr: hdr(q.Question[0].Name, dns.TypeTXT), Txt: []string{controlBytes}},
			&dns.NULL{Hdr: hdr(q.Question[0].Name, dns.TypeNULL), Data: controlBytes},
			&dns.MX{Hdr: hdr(evil, dns.TypeMX), Preference: 10, Mx: evil},
		}
		m.Ns = []dns.RR{&dns.SOA{Hdr: hdr(evil, dns.TypeSOA), Ns: evil, Mbox: evil, Minttl: 60}}
		opt := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		opt.SetUDPSize(1232)
		opt.Option = []dns.EDNS0{
			&dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: "1b5b324a0a3b3b"},
			&dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeOther, ExtraText: controlBytes},
			&dns.EDNS0_ESU{Code: dns.EDNS0ESU, Uri: controlBytes},
			&dns.EDNS0_ZONEVERSION{Code: dns.EDNS0ZONEVERSION, Version: controlBytes},
		}
		m.Extra = []dns.RR{&dns.NULL{Hdr: hdr(evil, dns.TypeNULL), Data: controlBytes}, opt}
		return m
	})
	cmd := New().WithResolverOptions(resolver.Options{Timeout: 5 * time.Second})
	for _, tc := range []struct{ name, args string }{
		{"UDP", "dig @" + addr + " TXT evil.test"},
		{"TCP", "dig -t @" + addr + " TXT evil.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, _ := shelltest.RunSession(t, false, tc.args+"\n", cmd)
			if code != 0 || !strings.Contains(out, ";; ANSWER SECTION:") {
				t.Fatalf("exit %d, no reply shown:\n%s", code, out)
			}
			for i := 0; i < len(out); i++ {
				if c := out[i]; (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
					t.Fatalf("byte %#02x reached the terminal at %d: %q", c, i, out[max(0, i-40):min(len(out), i+40)])
				}
			}
			if strings.Contains(out, "\n;; FORGED") {
				t.Fatalf("the server's text starts a line of its own:\n%s", out)
			}
			for _, want := range []string{`\027[2J`, `\027]0;owned\007\013\008\000\127\15531m\010;; FORGED`} {
				if !strings.Contains(out, want) {
					t.Errorf("the output lacks the escaped %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestMessageIsMsgString: for a reply of printable text, dig's escaped
// rendering is miekg/dns's Msg.String, byte for byte (the layout the
// transcripts record).
func TestMessageIsMsgString(t *testing.T) {
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeMX)
	m.SetReply(m)
	m.AuthenticatedData = true
	for _, s := range []string{
		`example.test. 300 IN MX 10 mx.example.test.`,
		`example.test. 300 IN TXT "v=spf1 -all" "a\"b\\c"`,
		`example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 7200 900 1209600 300`,
		`mx.example.test. 300 IN A 192.0.2.1`,
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	m.Ns = m.Answer[2:3]
	m.Extra = m.Answer[3:]
	m.SetEdns0(1232, true)
	opt := m.IsEdns0()
	opt.Option = []dns.EDNS0{&dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: "6e7331"}, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0011223344556677"},
		&dns.EDNS0_EDE{InfoCode: dns.ExtendedErrorCodeDNSBogus, ExtraText: "signature expired"}}
	var b strings.Builder
	message(&b, m)
	if want := strings.Replace(m.String(), ";; opcode:", ";; ->>HEADER<<- opcode:", 1); b.String() != want {
		t.Fatalf("message:\n%s\nMsg.String:\n%s", b.String(), want)
	}
}

// trickleServer accepts TCP connections on addr's port and sends a DNS
// length prefix and then one byte every 50 ms, never a whole reply; a
// UDP question on the same port is answered truncated when truncate is
// set (so the question goes to TCP), else never.
func trickleServer(t *testing.T, truncate bool) string {
	t.Helper()
	addr := dnstest.Raw(t, func(b []byte) []byte {
		var q dns.Msg
		if !truncate || q.Unpack(b) != nil {
			return nil
		}
		m := new(dns.Msg)
		m.SetReply(&q)
		m.Truncated = true
		w, _ := m.Pack()
		return w
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for _, err := c.Write([]byte{0x10, 0x00}); err == nil; _, err = c.Write([]byte{0}) {
					time.Sleep(50 * time.Millisecond)
				}
			}()
		}
	}()
	return addr
}

// TestHostileServerNeverAnswers: a server that never answers, trickles
// its TCP reply a byte at a time, or truncates over UDP and then
// trickles over TCP, ends dig with a timeout (the resolver's per-server
// timeout bounds the whole exchange, not each read), and dig says so.
func TestHostileServerNeverAnswers(t *testing.T) {
	cmd := New().WithResolverOptions(resolver.Options{Timeout: time.Second})
	for _, tc := range []struct {
		name     string
		truncate bool
		flags    string
	}{
		{"UDP silent", false, ""},
		{"TCP trickle", false, "-t "},
		{"truncated UDP, then TCP trickle", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := trickleServer(t, tc.truncate)
			out, _, _ := shelltest.RunSession(t, false, "dig "+tc.flags+"@"+addr+" A example.test\n", cmd)
			want := ";; communications error to " + strings.Replace(addr, ":", "#", 1) + "(127.0.0.1): timed out\n;; no servers could be reached\n"
			if !strings.Contains(out, want) {
				t.Fatalf("want %q in:\n%s", want, out)
			}
		})
	}
}

// TestHostileServerHugeReply: a reply truncated over UDP and then as
// large as TCP allows (64 KiB, thousands of records) is read over TCP and
// printed whole.
func TestHostileServerHugeReply(t *testing.T) {
	addr := dnstest.Hostile(t, func(q *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Compress = true
		for i := 0; m.Len() < dns.MaxMsgSize-40; i++ {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.IPv4(10, byte(i>>16), byte(i>>8), byte(i))})
		}
		return m
	})
	cmd := New().WithResolverOptions(resolver.Options{Timeout: 10 * time.Second})
	out, code, _ := shelltest.RunSession(t, false, "dig @"+addr+" A big.test\n", cmd)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	n := strings.Count(out, "big.test.\t60\tIN\tA\t10.")
	if n < 3000 || !strings.Contains(out, fmt.Sprintf("ANSWER: %d,", n)) || !strings.Contains(out, "(TCP)\n") {
		t.Fatalf("%d records printed, over TCP?\n%s", n, out[:min(len(out), 2000)])
	}
}

// TestHostileServerWrongReply: a reply that is not the answer to the
// question sent (another question, no question with NOERROR, the
// question echoed back without the QR bit, another message ID over TCP)
// is not shown as the answer: dig says what was wrong with that server,
// as BIND's dig refuses a question-section mismatch.
func TestHostileServerWrongReply(t *testing.T) {
	other := func(q *dns.Msg) *dns.Msg {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Question[0].Name = "other.test."
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "other.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 66)}}
		return m
	}
	for _, tc := range []struct {
		name  string
		flags string
		reply func(q *dns.Msg) *dns.Msg
		want  string
	}{
		{"another question", "", other, "the reply is to another question (other.test. IN A)"},
		{"another question over TCP", "-t ", other, "the reply is to another question (other.test. IN A)"},
		{"another type", "", func(q *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Question[0].Qtype = dns.TypeMX
			return m
		}, "the reply is to another question (example.test. IN MX)"},
		{"no question", "", func(q *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Question = nil
			return m
		}, "the reply is to another question (none)"},
		{"the question echoed", "", func(q *dns.Msg) *dns.Msg { return q.Copy() }, "not a reply: the QR bit is not set"},
		{"another ID over TCP", "-t ", func(q *dns.Msg) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Id++
			return m
		}, "dns: id mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := dnstest.Hostile(t, tc.reply)
			cmd := New().WithResolverOptions(resolver.Options{Timeout: 5 * time.Second})
			out, _, _ := shelltest.RunSession(t, false, "dig "+tc.flags+"@"+addr+" A Example.test\n", cmd)
			want := ";; communications error to " + strings.Replace(addr, ":", "#", 1) + "(127.0.0.1): " + tc.want + "\n;; no servers could be reached\n"
			if !strings.Contains(out, want) {
				t.Fatalf("want %q in:\n%s", want, out)
			}
		})
	}
}

// TestDigRoot: the root is a name dig asks (dig NS .).
func TestDigRoot(t *testing.T) {
	addr := dnstest.Hostile(t, func(q *dns.Msg) *dns.Msg { m := new(dns.Msg); m.SetReply(q); return m })
	cmd := New().WithResolverOptions(resolver.Options{Timeout: 5 * time.Second})
	out, code, _ := shelltest.RunSession(t, false, "dig @"+addr+" NS .\n", cmd)
	if code != 0 || !strings.Contains(out, ";; QUESTION SECTION:\n;.\tIN\t NS\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// randomRdata is n bytes, a third of them the low control bytes.
func randomRdata(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		if b[i] = byte(rng.IntN(256)); rng.IntN(3) == 0 {
			b[i] = byte(rng.IntN(8))
		}
	}
	return b
}

// TestRenderAnyRecord: replies holding one record of every type miekg/dns
// knows, or one EDNS option of every code up to 21, with random data
// (seeded: the same every run; some 23,000 that unpack), render without
// a panic and without a byte that is not printable ASCII.
func TestRenderAnyRecord(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(what string, wire []byte) {
		var m dns.Msg
		if m.Unpack(wire) != nil {
			return
		}
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("%s: panic %v on %x", what, r, wire)
			}
		}()
		out := render(resolver.DigResult{Reply: &m, Addr: "127.0.0.1:53", Server: "127.0.0.1", Network: "udp"}, nil, time.Now())
		for i := 0; i < len(out); i++ {
			if c := out[i]; (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
				t.Fatalf("%s: byte %#02x printed from %x", what, c, wire)
			}
		}
	}
	head := func(an, ar uint16) []byte {
		q := new(dns.Msg)
		q.SetQuestion("a.", dns.TypeA)
		q.Response = true
		w, _ := q.Pack()
		binary.BigEndian.PutUint16(w[6:], an)
		binary.BigEndian.PutUint16(w[10:], ar)
		return w
	}
	for typ := range dns.TypeToRR {
		for range 500 {
			rd := randomRdata(rng, rng.IntN(100))
			rr := binary.BigEndian.AppendUint16([]byte{0}, typ) // root owner, the type
			rr = append(rr, 0, 1, 0, 0, 0, 60)
			rr = binary.BigEndian.AppendUint16(rr, uint16(len(rd)))
			check(dns.TypeToString[typ], append(append(head(1, 0), rr...), rd...))
		}
	}
	for range 15000 {
		code, data := uint16(rng.IntN(22)), randomRdata(rng, rng.IntN(40))
		opt := []byte{0, 0, 41, 4, 208, 0, 0, 0, 0} // OPT: root, udp 1232, no flags
		opt = binary.BigEndian.AppendUint16(opt, uint16(len(data)+4))
		opt = binary.BigEndian.AppendUint16(opt, code)
		opt = binary.BigEndian.AppendUint16(opt, uint16(len(data)))
		check(fmt.Sprintf("EDNS option %d", code), append(append(head(0, 1), opt...), data...))
	}
}
