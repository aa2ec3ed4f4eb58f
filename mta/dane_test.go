package mta

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/resolver"
	"esash/resolver/dnstest"
)

// certOf parses the first certificate of a PEM text.
func certOf(t testing.TB, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// daneZone is a zone whose MX host is the sink, with one TLSA record.
func daneZone(origin string, signed bool, ip string, port int, tlsa string) dnstest.Zone {
	return dnstest.Zone{Origin: origin, Signed: signed, Records: []string{
		"@ IN MX 10 mx",
		"mx IN A " + ip,
		fmt.Sprintf("_%d._tcp.mx IN TLSA %s", port, tlsa),
	}}
}

// TestDANE: a zone NSD serves signed, validated by Unbound, the resolver
// the MTA asks; the mail exchanger is a TLS SMTP sink on loopback. A
// matching TLSA record (DANE-EE 3 1 1, DANE-TA 2 0 1) delivers even under
// TLS Preferred with a certificate no CA list vouches for; a record that
// does not match defers (Opportunistic and Mandatory); an unsigned zone
// falls back to the TLS setting (RFC 7672 §2.2) under Opportunistic and is
// refused without a connection under Mandatory.
func TestDANE(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "mx.ee.test", "mx.ta.test", "mx.wrong.test", "mx.plain.test")
	sink := startGoSink(t, &cert)
	leaf, inter := certOf(t, cert.CertPEM), certOf(t, p.InterPEM)
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	interHash := sha256.Sum256(inter.Raw)
	wrong := strings.Repeat("ab", 32)
	srv := dnstest.Start(t,
		daneZone("ee.test", true, sink.addr, sink.port, fmt.Sprintf("3 1 1 %x", spki)),
		daneZone("ta.test", true, sink.addr, sink.port, fmt.Sprintf("2 0 1 %x", interHash)),
		daneZone("wrong.test", true, sink.addr, sink.port, "3 1 1 "+wrong),
		daneZone("plain.test", false, sink.addr, sink.port, "3 1 1 "+wrong),
	)
	start := func(setting string) (*Server, string) {
		cfg := outCfg(t, p, config.TLSOutPreferred, nil)
		cfg.CAs = config.TrustedCAs{CustomEnabled: true} // no CA vouches for the sink
		cfg.Destinations.Default.DANE = setting
		useDNS(cfg, srv.Resolver)
		if probs := config.Validate(cfg, time.Now()); len(probs.Errors()) > 0 {
			t.Fatalf("configuration invalid: %v", probs.Errors())
		}
		return startOut(t, cfg, func(o *Options) { o.Delivery.MXPort = sink.port })
	}
	delivered := func(rcpt string) bool {
		for _, r := range sink.list() {
			if len(r.to) == 1 && r.to[0] == rcpt && r.tls {
				return true
			}
		}
		return false
	}
	opp, oppDir := start(config.DANEOpportunistic)
	man, manDir := start(config.DANEMandatory)

	t.Run("DANE-EE match delivers", func(t *testing.T) {
		mid := enqueue(t, man, "a@example.com", "ee@ee.test")
		waitFor(t, "delivery to ee.test", func() bool { return delivered("ee@ee.test") && !inQueue(man, mid) })
		waitLog(t, manDir, "DANE SUCCESS for ee.test MX mx.ee.test")
	})
	t.Run("DANE-TA match delivers", func(t *testing.T) {
		mid := enqueue(t, opp, "a@example.com", "ta@ta.test")
		waitFor(t, "delivery to ta.test", func() bool { return delivered("ta@ta.test") && !inQueue(opp, mid) })
		waitLog(t, oppDir, "DANE SUCCESS for ta.test MX mx.ta.test")
	})
	for _, tc := range []struct {
		name string
		s    *Server
		dir  string
	}{{"mismatch defers (Opportunistic)", opp, oppDir}, {"mismatch defers (Mandatory)", man, manDir}} {
		t.Run(tc.name, func(t *testing.T) {
			mid := enqueue(t, tc.s, "a@example.com", "w@wrong.test")
			waitLog(t, tc.dir, "DANE FAILED for wrong.test MX mx.wrong.test: the certificate matches no TLSA record")
			l := waitLog(t, tc.dir, fmt.Sprintf("MID %d to RID [0] - 4.7.5 - TLS verification failed: DANE", mid))
			if !strings.Contains(l, "TLS was required but could not be successfully negotiated") {
				t.Errorf("mail_logs lacks the required-TLS line:\n%s", l)
			}
			if !inQueue(tc.s, mid) || delivered("w@wrong.test") {
				t.Error("a message whose MX fails DANE left the queue or was delivered")
			}
		})
	}
	t.Run("unsigned zone falls back (Opportunistic)", func(t *testing.T) {
		mid := enqueue(t, opp, "a@example.com", "p@plain.test")
		waitFor(t, "delivery to plain.test", func() bool { return delivered("p@plain.test") && !inQueue(opp, mid) })
		if l := logLines(t, oppDir); strings.Contains(l, "for plain.test MX") {
			t.Errorf("DANE was applied to an unsigned zone:\n%s", l)
		}
	})
	t.Run("unsigned zone refused (Mandatory)", func(t *testing.T) {
		mid := enqueue(t, man, "a@example.com", "q@plain.test")
		waitLog(t, manDir, fmt.Sprintf("Delayed: DCID 0 MID %d to RID [0] - 4.7.5 - DANE is mandatory but the MX or address records of mx.plain.test are not DNSSEC-authenticated", mid))
		if !inQueue(man, mid) || delivered("q@plain.test") {
			t.Error("Mandatory DANE delivered to an unsigned zone")
		}
	})
}

// TestDANEMatch covers the matching rules without DNS: selectors,
// matching types, unusable records, DANE-TA name and chain checks.
func TestDANEMatch(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "x", "mx.example.test")
	leaf, inter := certOf(t, cert.CertPEM), certOf(t, p.InterPEM)
	other := certOf(t, p.leaf(t, "y", "other.example.test").CertPEM)
	sum := func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	now := time.Now()
	for _, tc := range []struct {
		name  string
		rec   resolver.TLSA
		chain []*x509.Certificate
		host  string
		ok    bool
	}{
		{"3 1 1", resolver.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: sum(leaf.RawSubjectPublicKeyInfo)}, []*x509.Certificate{leaf, inter}, "any.name", true},
		{"3 0 1", resolver.TLSA{Usage: 3, Selector: 0, MatchingType: 1, Data: sum(leaf.Raw)}, []*x509.Certificate{leaf}, "", true},
		{"3 0 0", resolver.TLSA{Usage: 3, Selector: 0, MatchingType: 0, Data: leaf.Raw}, []*x509.Certificate{leaf}, "", true},
		{"3 1 1 other key", resolver.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: sum(other.RawSubjectPublicKeyInfo)}, []*x509.Certificate{leaf}, "", false},
		{"2 0 1 intermediate", resolver.TLSA{Usage: 2, Selector: 0, MatchingType: 1, Data: sum(inter.Raw)}, []*x509.Certificate{leaf, inter}, "mx.example.test", true},
		{"2 0 1 wrong name", resolver.TLSA{Usage: 2, Selector: 0, MatchingType: 1, Data: sum(inter.Raw)}, []*x509.Certificate{leaf, inter}, "mx.elsewhere.test", false},
		{"2 1 1 intermediate not issuer", resolver.TLSA{Usage: 2, Selector: 1, MatchingType: 1, Data: sum(inter.RawSubjectPublicKeyInfo)}, []*x509.Certificate{other, inter}, "other.example.test", true},
		{"2 0 1 not in chain", resolver.TLSA{Usage: 2, Selector: 0, MatchingType: 1, Data: sum(inter.Raw)}, []*x509.Certificate{leaf}, "mx.example.test", false},
		{"no certificate", resolver.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: sum(leaf.RawSubjectPublicKeyInfo)}, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := daneMatch([]resolver.TLSA{tc.rec}, tc.chain, tc.host, now)
			if (err == nil) != tc.ok {
				t.Errorf("daneMatch = %v, want ok %v", err, tc.ok)
			}
		})
	}
	for _, tc := range []struct {
		rec resolver.TLSA
		ok  bool
	}{
		{resolver.TLSA{Usage: 0, Selector: 0, MatchingType: 1}, false},
		{resolver.TLSA{Usage: 1, Selector: 1, MatchingType: 1}, false},
		{resolver.TLSA{Usage: 3, Selector: 2, MatchingType: 1}, false},
		{resolver.TLSA{Usage: 3, Selector: 1, MatchingType: 3}, false},
		{resolver.TLSA{Usage: 2, Selector: 1, MatchingType: 2}, true},
	} {
		if usable(tc.rec) != tc.ok {
			t.Errorf("usable(%+v) = %v, want %v", tc.rec, !tc.ok, tc.ok)
		}
	}
}

// TestDANEStripTLS: a mail exchanger with authenticated TLSA records that
// does not offer STARTTLS (an attacker stripping it) gets no message in
// clear, although the TLS setting alone (Preferred) would send one: the
// TLSA records make TLS mandatory (RFC 7672 §2.2).
func TestDANEStripTLS(t *testing.T) {
	raw := startRawSink(t, func(r *rawSink) {})
	srv := dnstest.Start(t, daneZone("strip.test", true, raw.addr, raw.port, "3 1 1 "+strings.Repeat("cd", 32)))
	p := newPKI(t)
	cfg := outCfg(t, p, config.TLSOutPreferred, nil)
	cfg.Destinations.Default.DANE = config.DANEOpportunistic
	useDNS(cfg, srv.Resolver)
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.MXPort = raw.port })
	mid := enqueue(t, s, "a@example.com", "s@strip.test")
	waitLog(t, dir, "TLS failed: STARTTLS not offered")
	waitLog(t, dir, "TLS was required but could not be successfully negotiated")
	waitLog(t, dir, fmt.Sprintf("MID %d to RID [0] - 4.7.0", mid))
	if raw.sawMailClear.Load() || len(raw.list()) != 0 || !inQueue(s, mid) {
		t.Error("a message went in clear to a mail exchanger with TLSA records")
	}
}
