package dnstest

import (
	"net"
	"testing"

	"github.com/miekg/dns"
)

// Hostile is a DNS server on loopback (UDP and TCP on one port) that
// answers every question with reply(question), truncated (TC) to 1232
// bytes over UDP as servers do. It plays the misbehaving peer that no
// real program plays: a reply to another question, control bytes in
// records, a huge answer. It returns its ip:port.
func Hostile(t testing.TB, reply func(q *dns.Msg) *dns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := reply(q)
		if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
			m.Truncate(1232)
		}
		w.WriteMsg(m)
	})
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return pc.LocalAddr().String()
}

// Raw is a UDP DNS server on loopback answering each question with
// reply(question's bytes), any bytes at all (nil: no answer): malformed
// replies, or none. It returns its ip:port.
func Raw(t testing.TB, reply func(q []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				pc.WriteTo(r, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}
