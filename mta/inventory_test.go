package mta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

// Tests named by the settings inventory (config/inventory.go) for settings
// no other test proved.

// TestBlackholeDiscards: a Blackhole listener accepts a message and
// discards it: nothing is queued (listeners[*].type).
func TestBlackholeDiscards(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].Type = config.Blackhole
	cfg.Listeners[0].AcceptDomains = []string{"y.test"}
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "Subject: hi\r\n\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	waitLog(t, dir, "discarded by blackhole listener IncomingMail")
	if l := s.Queue().List(); len(l) != 0 {
		t.Fatalf("a Blackhole listener queued %+v", l)
	}
}

// TestDeliverOffersClientCertificate: the destconfig certificate is the
// client certificate of outbound TLS (destinations.certificate).
func TestDeliverOffersClientCertificate(t *testing.T) {
	p := newPKI(t)
	sinkCert := p.leaf(t, "sink", "sink.test")
	c, err := loadCertificate(sinkCert)
	if err != nil {
		t.Fatal(err)
	}
	ip := sinkIP()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []*x509.Certificate, 1)
	srv := smtp.NewServer(clientCertBackend{got})
	srv.Domain = "sink.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*c}, ClientAuth: tls.RequireAnyClientCert}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	cfg := outCfg(t, p, config.TLSOutRequired, map[string]string{"sink.test": hp(ip, ln.Addr().(*net.TCPAddr).Port)})
	if cfg.Destinations.Certificate != "Demo" {
		t.Fatalf("destconfig certificate %q, want the factory's Demo", cfg.Destinations.Certificate)
	}
	s, _ := startOut(t, cfg)
	enqueue(t, s, "a@example.com", "b@sink.test")
	select {
	case chain := <-got:
		if len(chain) == 0 || chain[0].Subject.CommonName != "mx.test.local" {
			t.Fatalf("client certificate %v, want the Demo profile's (CN mx.test.local)", chain)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("no TLS delivery")
	}
}

type clientCertBackend struct{ got chan []*x509.Certificate }

func (b clientCertBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &clientCertSession{b: b, c: c}, nil
}

type clientCertSession struct {
	b clientCertBackend
	c *smtp.Conn
}

func (x *clientCertSession) Reset()        {}
func (x *clientCertSession) Logout() error { return nil }
func (x *clientCertSession) Mail(string, *smtp.MailOptions) error {
	if st, ok := x.c.TLSConnectionState(); ok {
		select {
		case x.b.got <- st.PeerCertificates:
		default:
		}
	}
	return nil
}
func (x *clientCertSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *clientCertSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// TestListenerProtocolSMTPOnly: a listener protocol other than SMTP (QMQP)
// is refused when the commit is applied, and the running listener stays
// (listeners[*].protocol).
func TestListenerProtocolSMTPOnly(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := startMTA(t, t.TempDir(), cfg)
	qmqp := cfg.Clone()
	qmqp.Listeners[0].Protocol = "QMQP"
	if _, _, err := s.Prepare(context.Background(), qmqp); err == nil || !strings.Contains(err.Error(), "protocol QMQP is not supported") {
		t.Fatalf("QMQP: %v", err)
	}
	raw := dialRaw(t, addr(cfg))
	if g := raw.reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("the SMTP listener after the refused change: %q", g)
	}
}
