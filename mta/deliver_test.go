package mta

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
)

func tlsCert(t testing.TB, c config.Certificate) *tls.Certificate {
	x, err := loadCertificate(c)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestDeliverPolicies: each TLS setting against a go-smtp receiver with
// STARTTLS (certificate for the right name, chained to the custom CA) and
// one without.
func TestDeliverPolicies(t *testing.T) {
	p := newPKI(t)
	good := p.leaf(t, "sink", "sink.test")
	cases := []struct {
		mode      config.TLSOut
		offerTLS  bool
		delivered bool
		encrypted bool
	}{
		{config.TLSOutNo, true, true, false},
		{config.TLSOutPreferred, true, true, true},
		{config.TLSOutPreferred, false, true, false},
		{config.TLSOutRequired, true, true, true},
		{config.TLSOutRequired, false, false, false},
		{config.TLSOutPreferredVerify, true, true, true},
		{config.TLSOutPreferredVerify, false, true, false},
		{config.TLSOutRequiredVerify, true, true, true},
		{config.TLSOutRequiredVerify, false, false, false},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/tls=%v", c.mode, c.offerTLS), func(t *testing.T) {
			t.Parallel()
			var cert *config.Certificate
			if c.offerTLS {
				cert = &good
			}
			sink := startGoSink(t, cert)
			cfg := outCfg(t, p, c.mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "alice@example.com", "bob@sink.test")
			if c.delivered {
				waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
				m := sink.list()[0]
				if m.tls != c.encrypted {
					t.Errorf("encrypted = %v, want %v", m.tls, c.encrypted)
				}
				if !strings.Contains(m.data, "\r\n.leading dot\r\n") || !strings.Contains(m.data, "\r\nSubject: test") {
					t.Errorf("data = %q", m.data)
				}
				l := waitLog(t, dir, fmt.Sprintf("Message done DCID"))
				for _, want := range []string{"New SMTP DCID", fmt.Sprintf("Delivery start DCID"), fmt.Sprintf("MID %d to RID [0]", mid)} {
					if !strings.Contains(l, want) {
						t.Errorf("log lacks %q:\n%s", want, l)
					}
				}
				if c.encrypted && !strings.Contains(l, "TLS success protocol TLSv1.3 cipher TLS_") {
					t.Errorf("no TLS success line:\n%s", l)
				}
			} else {
				l := waitLog(t, dir, "TLS was required but could not be successfully negotiated")
				waitLog(t, dir, fmt.Sprintf("Delayed: DCID 1 MID %d to RID [0]", mid))
				if len(sink.list()) != 0 || !inQueue(s, mid) {
					t.Errorf("delivered in spite of required TLS:\n%s", l)
				}
			}
		})
	}
}

// TestDeliverVerify: a receiver whose certificate names another host, and
// one whose chain is not trusted.
func TestDeliverVerify(t *testing.T) {
	p := newPKI(t)
	wrong := p.leaf(t, "sink", "other.example")
	other := newPKI(t).leaf(t, "sink", "sink.test")
	for _, c := range []struct {
		name string
		cert config.Certificate
		why  string
	}{{"wrongname", wrong, "certificate name mismatch"}, {"untrusted", other, "certificate chain not verified"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Preferred - Verify delivers encrypted and logs the failure.
			sink := startGoSink(t, &c.cert)
			cfg := outCfg(t, p, config.TLSOutPreferredVerify, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "alice@example.com", "bob@sink.test")
			waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
			if !sink.list()[0].tls {
				t.Error("Preferred - Verify sent in clear")
			}
			waitLog(t, dir, "TLS failed: verify error: "+c.why)

			// Required - Verify defers.
			sink2 := startGoSink(t, &c.cert)
			cfg2 := outCfg(t, p, config.TLSOutRequiredVerify, map[string]string{"sink.test": hp(sink2.addr, sink2.port)})
			s2, dir2 := startOut(t, cfg2)
			mid2 := enqueue(t, s2, "alice@example.com", "bob@sink.test")
			waitLog(t, dir2, "TLS was required but could not be successfully negotiated")
			waitLog(t, dir2, "Delayed: DCID 1 MID")
			if len(sink2.list()) != 0 || !inQueue(s2, mid2) {
				t.Error("Required - Verify delivered to an unverified peer")
			}
		})
	}
}

// TestDeliverWildcardAndDomainName: the certificate matches the domain
// (not the route host) through a wildcard.
func TestDeliverWildcardAndDomainName(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "*.example.org")
	sink := startGoSink(t, &cert)
	cfg := outCfg(t, p, config.TLSOutRequiredVerify, map[string]string{"mail.example.org": hp(sink.addr, sink.port)})
	s, _ := startOut(t, cfg)
	mid := enqueue(t, s, "a@example.com", "b@mail.example.org")
	waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
}

// TestDeliverSTARTTLSRefused: 454 to STARTTLS; Preferred goes on in clear
// on the same connection, Required defers.
func TestDeliverSTARTTLSRefused(t *testing.T) {
	p := newPKI(t)
	for _, mode := range []config.TLSOut{config.TLSOutPreferred, config.TLSOutRequired} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			sink := startRawSink(t, func(r *rawSink) { r.offerTLS, r.starttlsResp = true, "454 4.7.0 TLS not available" })
			cfg := outCfg(t, p, mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "a@example.com", "b@sink.test")
			waitLog(t, dir, "details: 454-'4.7.0 TLS not available' interface: ")
			waitLog(t, dir, "DCID 1 TLS failed: STARTTLS unexpected response")
			if mode == config.TLSOutPreferred {
				waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
				return
			}
			waitLog(t, dir, "Delayed: DCID 1 MID")
			if sink.sawMailClear.Load() || !inQueue(s, mid) {
				t.Error("Required sent the envelope in clear")
			}
		})
	}
}

// TestDeliverStrippedSTARTTLS: TLS-4/5, a man in the middle removes
// STARTTLS from the EHLO reply: Required never sends MAIL or DATA.
func TestDeliverStrippedSTARTTLS(t *testing.T) {
	p := newPKI(t)
	for _, mode := range []config.TLSOut{config.TLSOutRequired, config.TLSOutRequiredVerify} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			sink := startRawSink(t, func(r *rawSink) {})
			cfg := outCfg(t, p, mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			cfg.Destinations.AlertOnTLSFail = true
			cfg.Alerts.Recipients = []config.AlertRecipient{{Address: "admin@alerts.test", Classes: []string{"All"}, Severities: []string{"All"}}}
			alerts := startGoSink(t, nil)
			cfg.Destinations.Entries = append(cfg.Destinations.Entries, config.DestControl{Domain: "alerts.test", TLS: config.TLSOutNo})
			cfg.Routes = append(cfg.Routes, config.Route{Domain: "alerts.test", Hosts: []config.RouteHost{{Host: alerts.addr, Port: alerts.port}}})
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "a@example.com", "b@sink.test")
			waitLog(t, dir, "TLS failed: STARTTLS not offered")
			waitLog(t, dir, `A System/Warning alert was sent to admin@alerts.test with subject "Warning <System>`)
			waitFor(t, "alert delivery", func() bool { return len(alerts.list()) == 1 })
			a := alerts.list()[0]
			if !strings.Contains(a.data, "sink.test") || !strings.Contains(a.data, "Subject: Warning <System>") {
				t.Errorf("alert = %q", a.data)
			}
			if sink.sawMailClear.Load() || sink.sawDataClear.Load() || !inQueue(s, mid) {
				t.Error("Required sent mail in clear")
			}
			// A second failure within the alert interval does not alert again.
			retryNow(t, s, mid)
			waitFor(t, "second attempt", func() bool {
				return strings.Count(logLines(t, dir), "TLS was required but could not be successfully negotiated") >= 2
			})
			time.Sleep(50 * time.Millisecond)
			if n := strings.Count(logLines(t, dir), "alert was sent"); n != 1 {
				t.Errorf("%d alerts, want 1", n)
			}
		})
	}
}

// TestDeliverInjectionAfter220: TLS-6, bytes after the 220 in the same
// packet are not taken as an answer; the attempt fails (no fallback).
func TestDeliverInjectionAfter220(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "sink.test")
	for _, mode := range []config.TLSOut{config.TLSOutPreferred, config.TLSOutRequired} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			sink := startRawSink(t, func(r *rawSink) {
				r.offerTLS, r.cert, r.inject = true, tlsCert(t, cert), "250-injected\r\n250 STARTTLS\r\n"
			})
			cfg := outCfg(t, p, mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "a@example.com", "b@sink.test")
			waitLog(t, dir, "TLS failed: unexpected data after the STARTTLS reply")
			waitLog(t, dir, "Delayed: DCID 1 MID")
			if sink.sawMailClear.Load() || len(sink.list()) != 0 || !inQueue(s, mid) {
				t.Error("delivered after an injected response")
			}
		})
	}
}

// TestDeliverBounceAndPartial: a 5xx recipient bounces at once with a DSN
// to the sender, a 4xx one stays queued, the accepted one is delivered.
func TestDeliverBounceAndPartial(t *testing.T) {
	p := newPKI(t)
	sink := startGoSink(t, nil)
	senders := startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{
		"sink.test": hp(sink.addr, sink.port), "example.com": hp(senders.addr, senders.port)})
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "alice@example.com", "ok@sink.test", "reject@sink.test", "later@sink.test")
	waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 })
	waitLog(t, dir, fmt.Sprintf("Bounced: DCID 1 MID %d to RID [1] - 5.1.1 - 550 no such user", mid))
	waitLog(t, dir, fmt.Sprintf("Delayed: DCID 1 MID %d to RID [2] - 4.2.0 - 450 try later", mid))
	waitLog(t, dir, fmt.Sprintf("Message done DCID 1 MID %d to RID [0]", mid))
	waitFor(t, "DSN", func() bool { return len(senders.list()) == 1 })
	d := senders.list()[0]
	if d.from != "" || !strings.Contains(d.data, "<reject@sink.test>: 5.1.1 550 no such user") {
		t.Errorf("DSN from %q: %q", d.from, d.data)
	}
	// The rewrite for the recipient still due follows the DSN.
	waitFor(t, "partial rewrite", func() bool { m, _ := s.queue.Get(mid); return len(m.To) == 1 })
	m, ok := s.queue.Get(mid)
	if !ok || len(m.To) != 1 || m.To[0] != "later@sink.test" || len(m.RIDs) != 1 || m.RIDs[0] != 2 {
		t.Errorf("queue after partial delivery: %v %v", m.To, ok)
	}
	// The rewrite keeps the Received header (the index leaves it out).
	if r, err := s.queue.Received(mid); err != nil || !strings.HasPrefix(r, "Received: from client.test") || strings.HasSuffix(r, "\r\n") {
		t.Errorf("Received after rewrite %q %v", r, err)
	}
}

// TestDeliverExpiry: a message older than the maximum time in queue
// bounces instead of being retried.
func TestDeliverExpiry(t *testing.T) {
	p := newPKI(t)
	senders := startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{
		"sink.test": "127.0.0.1:1", "example.com": hp(senders.addr, senders.port)})
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.MaxQueueTime = time.Nanosecond })
	mid := enqueue(t, s, "alice@example.com", "b@sink.test")
	waitLog(t, dir, "Connection Error: DCID")
	waitLog(t, dir, "Delivery expired")
	waitFor(t, "DSN", func() bool { return len(senders.list()) == 1 })
	waitFor(t, "removal", func() bool { return !inQueue(s, mid) })
}

// TestDeliverAcrossRestart: a message queued by one process is delivered
// by the next one, once.
func TestDeliverAcrossRestart(t *testing.T) {
	p := newPKI(t)
	sink := startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	dir := t.TempDir()
	s1, err := New(Options{DataDir: dir, Resolver: noDNS{}})
	if err != nil {
		t.Fatal(err)
	}
	mid := enqueue(t, s1, "a@example.com", "b@sink.test")
	s1.Close(context.Background())
	s2 := startMTA(t, dir, cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour, Timeout: 5 * time.Second}
	})
	waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s2, mid) })
	s2.Close(context.Background())
	s3 := startMTA(t, dir, cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour, Timeout: 5 * time.Second}
	})
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.list()); n != 1 || inQueue(s3, mid) {
		t.Errorf("after restart: %d deliveries", n)
	}
}

// TestDeliverInterface: sent from the delivery interface's address, EHLO
// with its host name; the client certificate of destconfig is offered.
func TestDeliverInterface(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "sink.test")
	sink := startGoSink(t, &cert)
	cfg := outCfg(t, p, config.TLSOutRequired, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	cfg.Delivery.Interface = cfg.Interfaces[0].Name
	s, dir := startOut(t, cfg)
	enqueue(t, s, "a@example.com", "b@sink.test")
	waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 })
	waitLog(t, dir, fmt.Sprintf("New SMTP DCID 1 interface %s address %s port %d", cfg.Interfaces[0].IPv4, sink.addr, sink.port))
}

// TestTLSVerify: the tlsverify steps against a good and a bad receiver.
func TestTLSVerify(t *testing.T) {
	p := newPKI(t)
	good := p.leaf(t, "sink", "sink.test")
	bad := p.leaf(t, "sink", "other.example")
	g := startGoSink(t, &good)
	b := startGoSink(t, &bad)
	cfg := outCfg(t, p, config.TLSOutPreferred, nil)
	s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Enabled = false })
	var out []string
	ok := s.TLSVerify(context.Background(), "sink.test", hp(g.addr, g.port), func(l string) { out = append(out, l) })
	text := strings.Join(out, "\n")
	if !ok || !strings.Contains(text, "TLS verification completed.") || !strings.Contains(text, "TLS certificate match sink.test") ||
		!strings.Contains(text, "Subject: CN=sink.test") || !strings.Contains(text, "Issuer:  CN=esash test intermediate") {
		t.Errorf("good: %v\n%s", ok, text)
	}
	out = nil
	ok = s.TLSVerify(context.Background(), "sink.test", hp(b.addr, b.port), func(l string) { out = append(out, l) })
	text = strings.Join(out, "\n")
	if ok || !strings.Contains(text, "TLS certificate does not match sink.test") || !strings.Contains(text, "TLS verification failed.") {
		t.Errorf("bad: %v\n%s", ok, text)
	}
}

// TestDeliverReuse: messages to one destination share a TLS connection
// up to the destination's messages-per-connection limit.
func TestDeliverReuse(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "sink.test")
	for _, limit := range []int{3, 1} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			sink := startGoSink(t, &cert)
			cfg := outCfg(t, p, config.TLSOutRequired, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			cfg.Destinations.Default.MaxMsgsPerConn = limit
			s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.Workers = 1 })
			for i := 0; i < 4; i++ {
				mid := enqueue(t, s, "a@example.com", "b@sink.test")
				waitFor(t, "delivery", func() bool { return !inQueue(s, mid) })
			}
			l := logLines(t, dir)
			want := map[int]int{3: 2, 1: 4}[limit]
			if n := strings.Count(l, "TLS success"); n != want {
				t.Errorf("%d handshakes for 4 messages, want %d:\n%s", n, want, l)
			}
			if limit == 3 && !strings.Contains(l, "DCID 1 close") {
				t.Errorf("the connection was not closed at its limit:\n%s", l)
			}
		})
	}
}

// TestRetryScheduleSurvivesRestart: a deferred message keeps its attempts
// and next try across a restart (not retried at once by the new process),
// and the back-off doubles from where it was.
func TestRetryScheduleSurvivesRestart(t *testing.T) {
	p := newPKI(t)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"sink.test": "127.0.0.1:1"})
	var mu sync.Mutex
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	withClock := func(o *Options) {
		o.Now = clock
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour,
			RetryMax: 8 * time.Hour, Timeout: 5 * time.Second}
	}
	dir := t.TempDir()
	s1 := startMTA(t, dir, cfg, withClock)
	mid := enqueue(t, s1, "a@example.com", "b@sink.test")
	waitFor(t, "first attempt", func() bool { m, _ := s1.queue.Get(mid); return m.Attempts == 1 })
	if m, _ := s1.queue.Get(mid); !m.NextTry.Equal(now.Add(time.Hour)) {
		t.Fatalf("next try %v, want %v", m.NextTry, now.Add(time.Hour))
	}
	s1.Close(context.Background())
	attempts := func() int { return strings.Count(logLines(t, dir), "Connection Error: DCID") }
	if n := attempts(); n != 1 {
		t.Fatalf("%d attempts before restart", n)
	}

	s2 := startMTA(t, dir, cfg, withClock)
	s2.KickDelivery()
	time.Sleep(200 * time.Millisecond) // ten polls
	if n := attempts(); n != 1 {
		t.Fatalf("restart retried at once: %d attempts", n)
	}
	if m, _ := s2.queue.Get(mid); m.Attempts != 1 {
		t.Fatalf("attempts after restart %d", m.Attempts)
	}
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	s2.KickDelivery()
	waitFor(t, "second attempt", func() bool { m, _ := s2.queue.Get(mid); return m.Attempts == 2 })
	if m, _ := s2.queue.Get(mid); !m.NextTry.Equal(clock().Add(2 * time.Hour)) {
		t.Fatalf("second back-off: next try %v, want %v", m.NextTry, clock().Add(2*time.Hour))
	}
}

// TestDeliverConcurrencyLimits: deliveryconfig's system-wide maximum and
// destconfig's per-domain concurrency bound the connections open at once;
// messages beyond them wait (no attempt is counted, nothing is logged as
// delayed) and all are delivered. Without a limit the same load opens
// several connections, so the test can tell.
func TestDeliverConcurrencyLimits(t *testing.T) {
	cases := []struct {
		name    string
		limit   func(*config.Config)
		wantMax int32 // 0: more than one
	}{
		{"no limit", func(*config.Config) {}, 0},
		{"system-wide", func(c *config.Config) { c.Delivery.MaxConcurrency = 1 }, 1},
		{"per domain", func(c *config.Config) {
			c.Destinations.Entries = append(c.Destinations.Entries, config.DestControl{Domain: "sink.test", MaxConcurrency: 2, TLS: config.TLSOutPreferred})
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t)
			sink := startGoSink(t, nil, func(g *goSink) { g.hold = 100 * time.Millisecond })
			cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			tc.limit(cfg)
			s, dir := startOut(t, cfg)
			var mids []int64
			for i := 0; i < 8; i++ {
				mids = append(mids, enqueue(t, s, "a@example.com", fmt.Sprintf("r%d@sink.test", i)))
			}
			waitFor(t, "all delivered", func() bool { return len(sink.list()) == len(mids) })
			for _, mid := range mids {
				waitFor(t, "removal", func() bool { return !inQueue(s, mid) })
			}
			got := sink.maxActive.Load()
			if tc.wantMax == 0 && got < 2 || tc.wantMax > 0 && got > tc.wantMax {
				t.Fatalf("at most %d connections at once, want %d (0: more than one)", got, tc.wantMax)
			}
			if strings.Contains(logLines(t, dir), "Delayed:") {
				t.Error("waiting for a connection slot was logged as a delay")
			}
		})
	}
}

// TestDeliverTLSConcurrency: when the system-wide TLS concurrency is used
// up, a Preferred destination is delivered in clear if fallback is on, and
// waits for a TLS slot if it is off; a Required destination always waits.
func TestDeliverTLSConcurrency(t *testing.T) {
	cases := []struct {
		name      string
		tls       config.TLSOut
		fallback  bool
		wantClear bool // some messages went in clear
	}{
		{"preferred with fallback", config.TLSOutPreferred, true, true},
		{"preferred without fallback", config.TLSOutPreferred, false, false},
		{"required with fallback", config.TLSOutRequired, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPKI(t)
			cert := p.leaf(t, "sink", "sink.test")
			sink := startGoSink(t, &cert, func(g *goSink) { g.hold = 100 * time.Millisecond })
			cfg := outCfg(t, p, tc.tls, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			cfg.Delivery.MaxTLSConcurrency = 1
			cfg.Delivery.FallbackNoTLS = tc.fallback
			s, dir := startOut(t, cfg)
			for i := 0; i < 6; i++ {
				enqueue(t, s, "a@example.com", fmt.Sprintf("r%d@sink.test", i))
			}
			waitFor(t, "all delivered", func() bool { return len(sink.list()) == 6 })
			var clear int
			for _, m := range sink.list() {
				if !m.tls {
					clear++
				}
			}
			if (clear > 0) != tc.wantClear {
				t.Fatalf("%d of 6 in clear; want some in clear: %v", clear, tc.wantClear)
			}
			if got := sink.maxTLS.Load(); got > 1 {
				t.Fatalf("%d TLS connections at once, limit 1", got)
			}
			if tc.wantClear && !strings.Contains(logLines(t, dir), "TLS concurrency limit reached; delivering without TLS") {
				t.Error("fallback to clear not logged")
			}
			// Waiting for a TLS slot does not connect: at most one
			// connection per message (fewer with reuse).
			if n := strings.Count(logLines(t, dir), "New SMTP DCID"); n > 6 {
				t.Errorf("%d connections for 6 messages", n)
			}
		})
	}
}

// TestDeliverEvictsIdleForLimit: a connection kept idle for reuse does not
// hold the last slot against another domain: it is closed to make room,
// well before its idle timeout.
func TestDeliverEvictsIdleForLimit(t *testing.T) {
	p := newPKI(t)
	a, b := startGoSink(t, nil), startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"a.test": hp(a.addr, a.port), "b.test": hp(b.addr, b.port)})
	cfg.Delivery.MaxConcurrency = 1
	s, _ := startOut(t, cfg)
	enqueue(t, s, "x@example.com", "r@a.test")
	waitFor(t, "delivery to a.test", func() bool { return len(a.list()) == 1 })
	if total, _, _ := s.dlv.limits.counts("a.test"); total != 1 {
		t.Fatalf("%d connections open after the first delivery, want the kept one", total)
	}
	start := time.Now()
	enqueue(t, s, "x@example.com", "r@b.test")
	waitFor(t, "delivery to b.test", func() bool { return len(b.list()) == 1 })
	if d := time.Since(start); d >= poolIdle {
		t.Fatalf("b.test waited %v, as long as the idle timeout", d)
	}
}

// TestDeliverNow: delivernow makes a message waiting for its retry due at
// once, for its recipient domain or for all; the attempts so far are kept,
// so the back-off continues if it defers again.
func TestDeliverNow(t *testing.T) {
	p := newPKI(t)
	sink := startGoSink(t, nil)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "a@example.com", "later@sink.test") // the sink answers 450
	waitFor(t, "first attempt", func() bool { m, _ := s.queue.Get(mid); return m.Attempts == 1 })
	delayed := func() int { return strings.Count(logLines(t, dir), "Delayed: DCID") }
	if n := s.DeliverNow("other.test"); n != 0 {
		t.Fatalf("another domain rescheduled %d", n)
	}
	time.Sleep(100 * time.Millisecond)
	if d := delayed(); d != 1 {
		t.Fatalf("%d attempts after delivernow for another domain", d)
	}
	if n := s.DeliverNow("sink.test"); n != 1 {
		t.Fatalf("rescheduled %d, want 1", n)
	}
	waitFor(t, "second attempt", func() bool { m, _ := s.queue.Get(mid); return m.Attempts == 2 })
	if m, _ := s.queue.Get(mid); m.NextTry.Sub(time.Now()) < 30*time.Minute {
		t.Fatalf("no back-off after the rescheduled attempt: next try in %v", m.NextTry.Sub(time.Now()))
	}
	if n := s.DeliverNow(""); n != 1 {
		t.Fatalf("delivernow ALL rescheduled %d, want 1", n)
	}
	waitFor(t, "third attempt", func() bool { m, _ := s.queue.Get(mid); return m.Attempts == 3 })
	waitLog(t, dir, "delivernow: 1 messages rescheduled for immediate delivery")
}

// TestDeliverEvictsIdleTLSForLimit: the same for the TLS limit: an idle
// kept TLS connection gives its slot to a destination that requires TLS.
func TestDeliverEvictsIdleTLSForLimit(t *testing.T) {
	p := newPKI(t)
	ca, cb := p.leaf(t, "a", "a.test"), p.leaf(t, "b", "b.test")
	a, b := startGoSink(t, &ca), startGoSink(t, &cb)
	cfg := outCfg(t, p, config.TLSOutRequired, map[string]string{"a.test": hp(a.addr, a.port), "b.test": hp(b.addr, b.port)})
	cfg.Delivery.MaxTLSConcurrency = 1
	s, _ := startOut(t, cfg)
	enqueue(t, s, "x@example.com", "r@a.test")
	waitFor(t, "delivery to a.test", func() bool { return len(a.list()) == 1 })
	if _, tlsOpen, _ := s.dlv.limits.counts("a.test"); tlsOpen != 1 {
		t.Fatalf("%d TLS connections open after the first delivery, want the kept one", tlsOpen)
	}
	start := time.Now()
	enqueue(t, s, "x@example.com", "r@b.test")
	waitFor(t, "delivery to b.test", func() bool { return len(b.list()) == 1 })
	if d := time.Since(start); d >= poolIdle {
		t.Fatalf("b.test waited %v, as long as the idle timeout", d)
	}
	if !b.list()[0].tls {
		t.Fatal("Required TLS delivered in clear")
	}
}
