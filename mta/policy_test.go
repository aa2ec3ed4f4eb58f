package mta

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

func smtpCode(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// withGroup puts the test client's address first in the HAT, bound to a
// policy with the given action and parameters.
func withGroup(cfg *config.Config, action config.Action, params config.HATParams) {
	l := &cfg.Listeners[0]
	l.Policies = append(l.Policies, config.MailFlowPolicy{Name: "TESTPOL", Action: action, Params: params})
	l.SenderGroups = append([]config.SenderGroup{{Name: "TESTERS", Policy: "TESTPOL", Hosts: []string{"127.0.0.0/8"}}}, l.SenderGroups...)
}

func TestRejectAndTCPRefuse(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	withGroup(cfg, config.Reject, config.HATParams{})
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	if g := raw.reply(); !strings.HasPrefix(g, "554 mx.test.local") {
		t.Fatalf("REJECT banner: %q", g)
	}
	if r := raw.cmd("EHLO x"); !strings.HasPrefix(r, "503 ") {
		t.Fatalf("after REJECT: %q", r)
	}
	if r := raw.cmd("QUIT"); !strings.HasPrefix(r, "221 ") {
		t.Fatalf("QUIT: %q", r)
	}
	waitLog(t, dir, "ICID 1 REJECT SG TESTERS match 127.0.0.0/8 SBRS None")
	waitLog(t, dir, "ICID 1 close")

	next := cfg.Clone()
	next.Listeners[0].Policies[len(next.Listeners[0].Policies)-1].Action = config.TCPRefuse
	apply(t, s, next)
	raw = dialRaw(t, addr(cfg))
	if b, err := raw.r.ReadByte(); err != io.EOF {
		t.Fatalf("TCPREFUSE: read %q %v", b, err)
	}
	waitLog(t, dir, "ICID 2 TCPREFUSE SG TESTERS")
}

func TestPolicyLimits(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	withGroup(cfg, config.Accept, config.HATParams{MaxMessageSize: 2000, MaxConcurrency: 2, MaxMsgsPerConn: 2,
		MaxRcptsPerMsg: 3, RateLimit: "on", MaxRcptsPerHour: 7})
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	a := addr(cfg)
	idle := func() { waitIdle(t, s) }

	// Size: advertised, and enforced on the data.
	raw := dialRaw(t, a)
	raw.reply()
	if r := raw.cmd("EHLO c.test"); !strings.Contains(r, "SIZE 2000") || !strings.Contains(r, "LIMITS RCPTMAX=3") {
		t.Fatalf("EHLO: %s", r)
	}
	if r := raw.cmd("MAIL FROM:<a@x.test> SIZE=5000"); !strings.HasPrefix(r, "552 5.3.4") {
		t.Fatalf("SIZE: %s", r)
	}
	raw.cmd("QUIT")
	idle()
	if err := send(t, a, nil, "a@x.test", []string{"b@y.test"}, strings.Repeat(strings.Repeat("x", 98)+"\r\n", 30)); smtpCode(err) != 552 {
		t.Fatalf("oversized message: %v", err)
	}
	idle()
	// Recipients per message.
	err := send(t, a, nil, "a@x.test", []string{"1@y.test", "2@y.test", "3@y.test", "4@y.test"}, "x\r\n")
	if smtpCode(err) != 452 {
		t.Fatalf("4th recipient: %v", err)
	}
	idle()
	// Concurrency per host: two open sessions, the third is turned away.
	h1, h2 := dialRaw(t, a), dialRaw(t, a)
	h1.reply()
	h2.reply()
	h3 := dialRaw(t, a)
	if g := h3.reply(); !strings.HasPrefix(g, "421 4.7.0 Too many concurrent SMTP connections from this IP") {
		t.Fatalf("third connection: %q", g)
	}
	h1.cmd("QUIT")
	h2.cmd("QUIT")
	waitLog(t, dir, "refused: 4.7.0")
	idle()

	// Messages per connection: the third MAIL closes the session.
	c, err := smtp.Dial(a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Hello("c.test")
	for i := 0; i < 2; i++ {
		if err := c.SendMail("a@x.test", []string{"r@y.test"}, strings.NewReader("x\r\n")); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := c.Mail("a@x.test", nil); smtpCode(err) != 421 {
		t.Fatalf("third message on the connection: %v", err)
	}
	idle()
	// Rate limit: 7 recipients an hour from this host; 1+3+2 were used
	// above, so one more passes.
	used := 6
	var last error
	for i := 0; i < 5 && last == nil; i++ {
		last = send(t, a, nil, "a@x.test", []string{fmt.Sprintf("r%d@y.test", i)}, "x\r\n")
		used++
		idle()
	}
	if smtpCode(last) != 452 || used != 8 {
		t.Fatalf("rate limit after %d: %v", used, last)
	}
	waitLog(t, dir, " To: <r1@y.test> Rejected by Receiving Control")
}

// The recipient access table, when configured, limits what ACCEPT takes;
// RELAY is not subject to it.
func TestRecipientAccess(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"example.com", ".sub.test", "postmaster@"}
	s := startMTA(t, t.TempDir(), cfg)
	for rcpt, ok := range map[string]bool{"a@example.com": true, "a@x.sub.test": true, "postmaster@any.test": true,
		"a@other.test": false, "a@sub.test": false} {
		err := send(t, addr(cfg), nil, "a@x.test", []string{rcpt}, "x\r\n")
		if (err == nil) != ok || !ok && smtpCode(err) != 550 {
			t.Errorf("%s: %v", rcpt, err)
		}
	}
	relay := cfg.Clone()
	withGroup(relay, config.Relay, config.HATParams{})
	apply(t, s, relay)
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"a@other.test"}, "x\r\n"); err != nil {
		t.Fatalf("relay: %v", err)
	}
	if l := s.Queue().List(); !l[len(l)-1].Relay {
		t.Fatal("relayed message not marked")
	}
}

// Storage trouble answers 451 4.3.0, never 250, and nothing is queued.
func TestStorageFailureIs451(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	var fail bool
	s := startMTA(t, t.TempDir(), cfg, func(o *Options) {
		o.QueueBeforeSync = func() error {
			if fail {
				return errors.New("EIO (injected)")
			}
			return nil
		}
	})
	fail = true
	err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) || strings.Contains(se.Message, "EIO") {
		t.Fatalf("storage failure: %v", err)
	}
	if n, _ := s.Queue().Len(); n != 0 {
		t.Fatal("failed message queued")
	}
	fail = false
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatal(err)
	}
}

// Handshake failures are logged with a reason (the connection then
// closes: TestFailedStartTLSEndsConnection).
func TestHandshakeFailureLogged(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO old.test")
	raw.cmd("STARTTLS")
	tc := tls.Client(raw.c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	waitLog(t, dir, "ICID 1 TLS failed: ")
	// A client that does not trust the certificate and hangs up.
	raw = dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO c.test")
	raw.cmd("STARTTLS")
	tc = tls.Client(raw.c, &tls.Config{ServerName: "mx.test.local", MaxVersion: tls.VersionTLS12})
	if err := tc.Handshake(); err == nil {
		t.Fatal("untrusted handshake succeeded")
	}
	raw.c.Close()
	l := waitLog(t, dir, "ICID 2 TLS failed: ")
	if !strings.Contains(l, "ICID 1 TLS failed: sent alert: protocol version not supported") ||
		!strings.Contains(l, "ICID 2 TLS failed: received alert: bad certificate") && !strings.Contains(l, "ICID 2 TLS failed: received alert: unknown certificate authority") {
		t.Fatalf("reasons:\n%s", l)
	}
}

// Verify client certificate: a client with a certificate from the trusted
// list gets TLS; one without none, and with Required no mail either.
func TestVerifyClientCertificate(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInRequired)
	cfg.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	ct := p.leaf(t, "client", "client.test")
	pair, err := tls.X509KeyPair([]byte(ct.CertPEM+p.InterPEM), []byte(ct.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	tc := clientTLS(p, "mx.test.local")
	tc.Certificates = []tls.Certificate{pair}
	if err := send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	if l := s.Queue().List(); len(l) != 1 || l[0].TLS.PeerCert != "CN=client.test" {
		t.Fatalf("queue: %+v", l[0].TLS)
	}
	if err := send(t, addr(cfg), clientTLS(p, "mx.test.local"), "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("without a client certificate: accepted")
	}
	waitLog(t, dir, "TLS failed: ")
	other := newPKI(t).leaf(t, "x", "stranger.test")
	pair, _ = tls.X509KeyPair([]byte(other.CertPEM), []byte(other.KeyPEM))
	tc.Certificates = []tls.Certificate{pair}
	if err := send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("untrusted client certificate accepted")
	}
	waitLog(t, dir, "TLS failed: client certificate not verified")
}

// IDs never repeat across restarts, clean or not.
func TestIDsNeverRepeat(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	dir := t.TempDir()
	seen := map[int64]bool{}
	for run := 0; run < 3; run++ {
		s, err := New(Options{DataDir: dir, Resolver: noDNS{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Boot(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
			t.Fatal(err)
		}
		if run == 1 {
			// An unclean stop: counters are not closed.
			s.mu.Lock()
			for _, sk := range s.sockets {
				sk.close()
			}
			s.sockets = map[string]*socket{}
			s.mu.Unlock()
			s.queue.Close()
			s.log.Close()
			continue
		}
		s.Close(t.Context())
	}
	s := startMTA(t, dir, nil)
	for _, m := range s.Queue().List() {
		if seen[m.MID] {
			t.Fatalf("MID %d twice", m.MID)
		}
		seen[m.MID] = true
	}
	if len(seen) != 3 {
		t.Fatalf("%d messages", len(seen))
	}
	_ = time.Second
}

// waitIdle waits until no connection is open on s.
func waitIdle(t testing.TB, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		s.mu.Lock()
		for _, sk := range s.sockets {
			sk.counts.mu.Lock()
			n += sk.counts.total
			sk.counts.mu.Unlock()
		}
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCustomBanner: a policy's custom SMTP response replaces go-smtp's
// fixed greeting, one or several lines, and the session goes on normally.
func TestCustomBanner(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	withGroup(cfg, config.Accept, config.HATParams{BannerText: "Welcome to the test relay\nUnauthorized use prohibited"})
	startMTA(t, t.TempDir(), cfg)
	raw := dialRaw(t, addr(cfg))
	if g := raw.reply(); g != "220-mx.test.local Welcome to the test relay\r\n220 Unauthorized use prohibited\r\n" {
		t.Fatalf("custom banner: %q", g)
	}
	if r := raw.cmd("EHLO client.test"); !strings.HasPrefix(r, "250") {
		t.Fatalf("EHLO after the custom banner: %q", r)
	}

	if got := customBanner(config.HATParams{BannerCode: 421, BannerText: "x"}, "h"); got != "220 h x\r\n" {
		t.Errorf("a banner code outside 2xx: %q", got)
	}
	if got := customBanner(config.HATParams{}, "h"); got != "" {
		t.Errorf("no custom text: %q", got)
	}
}
