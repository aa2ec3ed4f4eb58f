package mta

import (
	"bufio"
	"net"
	"testing"
	"time"

	"esash/config"
	"esash/resolver/dnstest"
)

// useDNS makes addr (ip:port) cfg's only DNS server (dnsconfig's own
// servers).
func useDNS(cfg *config.Config, addr string) {
	cfg.DNS.Mode = config.DNSLocal
	cfg.DNS.Servers = []config.DNSServer{{Address: addr}}
}

// TestReverseDNSThroughDNSConfig: with no resolver given to the MTA, the
// reverse name of a connecting host (and its forward confirmation) comes
// from dnsconfig's servers: Unbound serving a reverse zone from NSD.
func TestReverseDNSThroughDNSConfig(t *testing.T) {
	const client = "127.4.253.9"
	srv := dnstest.Start(t,
		dnstest.Zone{Origin: "4.127.in-addr.arpa", Records: []string{"9.253 IN PTR client.rdns.test."}},
		dnstest.Zone{Origin: "rdns.test", Records: []string{"client IN A " + client}},
	)
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	useDNS(cfg, srv.Resolver)
	cfg.DNS.ReverseTimeout = 30
	dir := t.TempDir()
	s := startMTA(t, dir, cfg, func(o *Options) { o.Resolver = nil })
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("QUIT\r\n"))
	waitLog(t, dir, "address "+client+" reverse dns host client.rdns.test verified yes")

	// dnsflush empties both caches.
	res := resolverFor(cfg)
	if res.Len() == 0 || len(s.rdns.m) == 0 {
		t.Fatalf("nothing cached: resolver %d, reverse names %d", res.Len(), len(s.rdns.m))
	}
	s.FlushDNS()
	if res.Len() != 0 || len(s.rdns.m) != 0 {
		t.Errorf("after FlushDNS: resolver %d, reverse names %d", res.Len(), len(s.rdns.m))
	}
}
