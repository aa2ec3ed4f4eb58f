package mta

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// SETUP's global limit of concurrent connections holds across listeners.
func TestGlobalConnectionLimit(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	second := config.FactoryListener("Second", config.Public, "Management", cfg.Listeners[0].Port+1)
	cfg.Listeners = append(cfg.Listeners, second)
	cfg.ListenSetup.MaxConcurrency = 2
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	a1 := addr(cfg)
	a2 := net.JoinHostPort(cfg.Interfaces[0].IPv4, strconv.Itoa(second.Port))
	c1, c2 := dialRaw(t, a1), dialRaw(t, a2)
	for _, c := range []*rawConn{c1, c2} {
		if r := c.reply(); !strings.HasPrefix(r, "220") {
			t.Fatalf("within the limit: %q", r)
		}
	}
	for _, a := range []string{a1, a2} {
		if r := dialRaw(t, a).reply(); !strings.HasPrefix(r, "421 4.4.5") {
			t.Fatalf("third connection, on %s: %q", a, r)
		}
	}
	c1.cmd("QUIT")
	waitUntil(t, "a free slot after QUIT", 10*time.Second, func() bool {
		r := dialRaw(t, a2).reply()
		return strings.HasPrefix(r, "220")
	})
}

// SETUP's global limit of TLS connections: STARTTLS over it gets 454
// until a TLS connection ends.
func TestGlobalTLSLimit(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	cfg.ListenSetup.MaxTLSConcurrency = 1
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	a := addr(cfg)
	first := dialRaw(t, a)
	first.reply()
	first.cmd("EHLO c.test")
	if r := first.cmd("STARTTLS"); !strings.HasPrefix(r, "220") {
		t.Fatalf("first STARTTLS: %q", r)
	}
	tc := tls.Client(first.c, clientTLS(p, "mx.test.local"))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	second := dialRaw(t, a)
	second.reply()
	second.cmd("EHLO c.test")
	if r := second.cmd("STARTTLS"); r != "454 4.7.0 TLS not available due to temporary reason\r\n" {
		t.Fatalf("STARTTLS over the limit: %q", r)
	}
	waitLog(t, dir, "STARTTLS refused: the global limit of 1 concurrent TLS connections is reached")
	tr := &rawConn{t: t, c: tc, r: bufio.NewReader(tc)}
	tr.cmd("QUIT")
	waitUntil(t, "the TLS slot to be free", 10*time.Second, func() bool {
		return strings.HasPrefix(second.cmd("STARTTLS"), "220")
	})
}

// SETUP's "rate at which injection control counters are reset" is the
// window of rate limiting per host.
func TestCounterResetPeriod(t *testing.T) {
	cfg := config.Factory(config.Certificate{})
	cc := newConnCounts()
	cc.global = &globalLimits{}
	ip := netip.MustParseAddr("192.0.2.7")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, x := range []struct {
		reset int // seconds; 0 = default (1 h)
		at    time.Duration
		want  bool
	}{
		{0, 0, true}, {0, time.Minute, true}, {0, 2 * time.Minute, false}, // 2 an hour
		{0, 59 * time.Minute, false}, {0, 61 * time.Minute, true},
		{120, 62 * time.Minute, true}, {120, 62*time.Minute + 30*time.Second, false}, // every 2 minutes now
		{120, 63 * time.Minute, true}, {120, 63*time.Minute + 59*time.Second, true},
		{120, 64 * time.Minute, false},
	} {
		cfg.ListenSetup.CounterReset = x.reset
		cc.global.set(cfg)
		if got := cc.allowRcpt(ip, 2, t0.Add(x.at)); got != x.want {
			t.Fatalf("reset %ds, at %v: allowed %v, want %v", x.reset, x.at, got, x.want)
		}
	}
}

// SETUP's maximum number of message header lines: one more is refused
// with 552, and the session goes on.
func TestMaxHeaderLines(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"}
	cfg.ListenSetup.MaxHeaderLines = 3
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO c.test")
	for _, x := range []struct{ msg, want string }{
		{"A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody\r\nwith: many\r\nlines: here\r\n.", "250 "},
		{"A: 1\r\nB: 2\r\n folded\r\nC: 3\r\n\r\nbody\r\n.", "552 5.3.4 Message header has more than 3 lines"},
		{"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n.", "552 5.3.4"},
		{"A: 1\r\n\r\n" + strings.Repeat("body\r\n", 10) + ".", "250 "},
	} {
		raw.cmd("MAIL FROM:<a@x.test>")
		raw.cmd("RCPT TO:<b@y.test>")
		raw.cmd("DATA")
		if r := raw.cmd(x.msg); !strings.HasPrefix(r, x.want) {
			t.Fatalf("%q: %q, want %q", x.msg, r, x.want)
		}
	}
	if n, _ := s.Queue().Len(); n != 2 {
		t.Fatalf("queued %d, want 2", n)
	}
}
