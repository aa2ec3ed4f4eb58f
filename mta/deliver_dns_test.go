package mta

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// miniDNS is a tiny authoritative DNS server over UDP on loopback: MX and
// A records, NXDOMAIN for names it does not know. It stands in for the
// dnsmasq the issue mentions (not installed here).
type miniDNS struct {
	mx map[string][]string // domain -> exchangers (preference by order)
	a  map[string]string   // name -> IPv4
}

func startDNS(t testing.TB, d miniDNS) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", sinkIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := d.answer(buf[:n]); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func encodeName(n string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(n, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func (d miniDNS) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels, type, class.
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	i++
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))
	var answers [][]byte
	rr := func(typ uint16, rdata []byte) {
		b := []byte{0xc0, 12}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, 60)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		answers = append(answers, append(b, rdata...))
	}
	_, known := d.a[name]
	if _, ok := d.mx[name]; ok {
		known = true
	}
	switch qtype {
	case 15: // MX
		for pref, h := range d.mx[name] {
			rr(15, append(binary.BigEndian.AppendUint16(nil, uint16(10*(pref+1))), encodeName(h)...))
		}
	case 1: // A
		if ip := net.ParseIP(d.a[name]).To4(); ip != nil {
			rr(1, ip)
		}
	}
	resp := make([]byte, 12, 512)
	copy(resp, q[:2])
	flags := uint16(0x8180) // response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	binary.BigEndian.PutUint16(resp[2:], flags)
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(answers)))
	resp = append(resp, question...)
	for _, a := range answers {
		resp = append(resp, a...)
	}
	return resp
}

// TestDeliverMX: no route: the MX of the domain through the configured
// resolver; a domain without MX falls back to its A record; an unknown
// domain stays queued.
func TestDeliverMX(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "mx1.mx.test")
	sink := startGoSink(t, &cert)
	dns := startDNS(t, miniDNS{
		mx: map[string][]string{"mx.test": {"mx1.mx.test"}},
		a:  map[string]string{"mx1.mx.test": sink.addr, "bare.test": sink.addr},
	})
	cfg := outCfg(t, p, config.TLSOutRequiredVerify, nil)
	useDNS(cfg, dns)
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.MXPort = sink.port })
	mid := enqueue(t, s, "a@example.com", "b@mx.test")
	waitFor(t, "MX delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
	waitLog(t, dir, "TLS success protocol")

	// bare.test has no MX: its A record; the certificate names the MX
	// host of another domain, so only Preferred delivers.
	cfg2 := outCfg(t, p, config.TLSOutPreferred, nil)
	useDNS(cfg2, dns)
	s2, dir2 := startOut(t, cfg2, func(o *Options) { o.Delivery.MXPort = sink.port })
	mid2 := enqueue(t, s2, "a@example.com", "b@bare.test")
	waitFor(t, "A fallback delivery", func() bool { return len(sink.list()) == 2 && !inQueue(s2, mid2) })

	// A domain DNS does not know bounces at once (no retry can help).
	mid3 := enqueue(t, s2, "a@example.com", "b@nowhere.test")
	waitLog(t, dir2, "Bounced: DCID 0 MID")
	waitLog(t, dir2, "5.1.2 - domain nowhere.test has no MX or address records")
	waitFor(t, "the bounced message to leave the queue", func() bool { return !inQueue(s2, mid3) })

	// A DNS server that does not answer is temporary: the message waits.
	cfg3 := outCfg(t, p, config.TLSOutPreferred, nil)
	useDNS(cfg3, sinkIP()+":9") // nothing listens there
	s3, dir3 := startOut(t, cfg3, func(o *Options) { o.Delivery.Timeout = 300 * time.Millisecond })
	mid4 := enqueue(t, s3, "a@example.com", "b@mx.test")
	waitLog(t, dir3, "Delayed: DCID 0 MID")
	time.Sleep(20 * time.Millisecond)
	if !inQueue(s3, mid4) {
		t.Error("a message left the queue when DNS did not answer")
	}
}
