package mta

import (
	"bufio"
	"net"
	"testing"
	"time"

	"esash/config"
	"esash/resolver/dnstest"
)

// TestDNSStatusSurvivesChanges: the DNS counters are the process's, not
// a resolver's: a dnsconfig change (a new resolver) keeps them, and
// dnsflush empties both caches (the gauges) but keeps them too. Each
// connecting host costs three requests of the resolver (PTR, then A and
// AAAA to confirm the name) and three network requests.
func TestDNSStatusSurvivesChanges(t *testing.T) {
	const client1, client2 = "127.4.253.11", "127.4.253.12"
	srv := dnstest.Start(t,
		dnstest.Zone{Origin: "4.127.in-addr.arpa", Records: []string{
			"11.253 IN PTR one.rdns.test.", "12.253 IN PTR two.rdns.test."}},
		dnstest.Zone{Origin: "rdns.test", Records: []string{"one IN A " + client1, "two IN A " + client2}},
	)
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	useDNS(cfg, srv.Resolver)
	cfg.DNS.ReverseTimeout = 30
	dir := t.TempDir()
	s := startMTA(t, dir, cfg, func(o *Options) { o.Resolver = nil })
	connect := func(client, name string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", addr(cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("QUIT\r\n"))
		waitLog(t, dir, "address "+client+" reverse dns host "+name+" verified yes")
	}
	base := s.DNSStatus().Counts

	connect(client1, "one.rdns.test")
	st := s.DNSStatus()
	if got := st.Counts.Requests - base.Requests; got != 3 || st.Counts.NetworkRequests-base.NetworkRequests != 3 {
		t.Fatalf("after one host: %d requests, %d network requests; want 3 and 3", got, st.Counts.NetworkRequests-base.NetworkRequests)
	}
	if st.CacheEntries != 3 || st.ReverseNames != 1 {
		t.Fatalf("after one host: %d answers and %d reverse names cached, want 3 and 1", st.CacheEntries, st.ReverseNames)
	}

	// A dnsconfig change: a new resolver, with an empty cache, the same counters.
	changed := *cfg
	changed.DNS.MinTTL = cfg.DNS.MinTTL + 60
	apply(t, s, &changed)
	if st = s.DNSStatus(); st.Counts.Requests-base.Requests != 3 || st.CacheEntries != 0 {
		t.Fatalf("after a dnsconfig change: %d requests, %d answers cached; want 3 (kept) and 0 (a new resolver)",
			st.Counts.Requests-base.Requests, st.CacheEntries)
	}
	connect(client2, "two.rdns.test")
	if st = s.DNSStatus(); st.Counts.Requests-base.Requests != 6 || st.CacheEntries != 3 || st.ReverseNames != 2 {
		t.Fatalf("after a second host: %d requests, %d answers, %d reverse names; want 6, 3, 2",
			st.Counts.Requests-base.Requests, st.CacheEntries, st.ReverseNames)
	}

	// dnsflush empties the caches and keeps the counters.
	before := s.DNSStatus().Counts
	s.FlushDNS()
	if st = s.DNSStatus(); st.Counts != before || st.CacheEntries != 0 || st.ReverseNames != 0 {
		t.Fatalf("after dnsflush: %+v, %d answers, %d reverse names; want the counters kept and empty caches\nbefore %+v",
			st.Counts, st.CacheEntries, st.ReverseNames, before)
	}
}
