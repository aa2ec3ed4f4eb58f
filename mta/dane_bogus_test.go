package mta

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/resolver/dnstest"
)

// TestDANEBogusAddress: the MX host's A record validates but its AAAA
// RRset is forged (bogus; the validating resolver answers SERVFAIL). That
// is a failed look-up, not an insecure one (RFC 7672 §2.2): under DANE
// Opportunistic the message must wait, not go over plain TLS Preferred to
// the valid address with the TLSA record (which would not match) ignored.
func TestDANEBogusAddress(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "mx.bogus.test")
	sink := startGoSink(t, &cert)
	z := daneZone("bogus.test", true, sink.addr, sink.port, "3 1 1 "+strings.Repeat("ab", 32))
	z.Records = append(z.Records, "mx IN AAAA 2001:db8::25")
	z.Forged = map[string]string{"2001:db8::25": "2001:db8::26"}
	srv := dnstest.Start(t, z)
	cfg := outCfg(t, p, config.TLSOutPreferred, nil)
	cfg.Destinations.Default.DANE = config.DANEOpportunistic
	useDNS(cfg, srv.Resolver)
	if probs := config.Validate(cfg, time.Now()); len(probs.Errors()) > 0 {
		t.Fatalf("configuration invalid: %v", probs.Errors())
	}
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.MXPort = sink.port })
	mid := enqueue(t, s, "a@example.com", "b@bogus.test")
	waitLog(t, dir, fmt.Sprintf("Delayed: DCID 0 MID %d to RID [0] - 4.4.3 - DNS lookup failed for bogus.test", mid))
	for _, r := range sink.list() {
		if len(r.to) == 1 && r.to[0] == "b@bogus.test" {
			t.Fatal("a message whose MX has a bogus address record was delivered")
		}
	}
	if !inQueue(s, mid) {
		t.Error("the message left the queue")
	}
}
