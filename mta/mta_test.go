package mta

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

func clientTLS(p *testPKI, name string) *tls.Config {
	return &tls.Config{RootCAs: p.pool(), ServerName: name}
}

// Preferred: STARTTLS is offered; the client that verifies the chain to
// the root gets leaf + intermediate (never the root), with or without SNI;
// the message is queued with the session's TLS facts and a Received header.
func TestPreferredDeliversOverTLS(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	if err := send(t, addr(cfg), clientTLS(p, "mx.test.local"), "a@x.test", []string{"b@y.test"}, "Subject: hi\r\n\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	msgs := s.Queue().List()
	if len(msgs) != 1 {
		t.Fatalf("queue: %+v", msgs)
	}
	m := msgs[0]
	if m.TLS == nil || m.TLS.Version != "TLSv1.3" || m.TLS.Cipher == "" || m.From != "a@x.test" || m.To[0] != "b@y.test" || m.HELO != "client.test" || m.ICID == 0 || m.MID == 0 {
		t.Fatalf("meta: %+v %+v", m, m.TLS)
	}
	body, _ := s.Queue().Read(m.MID)
	if !strings.HasPrefix(string(body), "Received: from client.test (unknown [") || !strings.Contains(string(body), "with ESMTPS (TLSv1.3:TLS_") || !strings.HasSuffix(string(body), "\r\nSubject: hi\r\n\r\nhello\r\n") {
		t.Fatalf("stored message:\n%s", body)
	}
	// The chain served, with SNI and without.
	for _, sni := range []string{"mx.test.local", ""} {
		raw := dialRaw(t, addr(cfg))
		raw.reply()
		if r := raw.cmd("EHLO c.test"); !strings.Contains(r, "STARTTLS") {
			t.Fatalf("EHLO: %s", r)
		}
		if r := raw.cmd("STARTTLS"); !strings.HasPrefix(r, "220 ") {
			t.Fatalf("STARTTLS: %s", r)
		}
		tc := tls.Client(raw.c, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		chain := tc.ConnectionState().PeerCertificates
		if len(chain) != 2 || chain[0].Subject.CommonName != "mx.test.local" || chain[1].Subject.CommonName != "esash test intermediate" {
			t.Fatalf("sni %q: chain %v", sni, chain)
		}
		if _, err := chain[0].Verify(x509Opts(p, "mx.test.local", chain)); err != nil {
			t.Fatal(err)
		}
		if st := tc.ConnectionState(); st.DidResume {
			t.Fatal("resumed")
		}
	}
	l := waitLog(t, dir, "ready")
	for _, want := range []string{
		"Info: New SMTP ICID 1 interface Management (" + cfg.Interfaces[0].IPv4 + ") address ",
		" reverse dns host unknown verified no",
		"Info: ICID 1 ACCEPT SG ALL match ALL SBRS None",
		"Info: ICID 1 TLS success protocol TLSv1.3 cipher TLS_",
		"Info: Start MID 1 ICID 1",
		"Info: MID 1 ICID 1 From: <a@x.test>",
		"Info: MID 1 ICID 1 RID 0 To: <b@y.test>",
		"Info: MID 1 ready ",
		"Info: ICID 1 close",
	} {
		if !strings.Contains(waitLog(t, dir, "ICID 1 close"), want) {
			t.Errorf("mail_logs lacks %q:\n%s", want, l)
		}
	}
}

// Required: MAIL before STARTTLS gets 530 and the log says why.
func TestRequiredRefusesPlainMail(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInRequired)
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 530 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 0}) || se.Message != "Must issue a STARTTLS command first" {
		t.Fatalf("plain MAIL on a Required listener: %v", err)
	}
	waitLog(t, dir, "TLS was required but remote host did not initiate it")
	if err := send(t, addr(cfg), clientTLS(p, "mx.test.local"), "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatalf("TLS MAIL on a Required listener: %v", err)
	}
}

// Off: STARTTLS is not even offered, and refused if tried.
func TestOffDoesNotOfferSTARTTLS(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	startMTA(t, t.TempDir(), cfg)
	raw := dialRaw(t, addr(cfg))
	if g := raw.reply(); !strings.HasPrefix(g, "220 mx.test.local ESMTP") {
		t.Fatalf("banner %q", g)
	}
	if r := raw.cmd("EHLO c.test"); strings.Contains(r, "STARTTLS") {
		t.Fatalf("EHLO offers STARTTLS: %s", r)
	}
	if r := raw.cmd("STARTTLS"); !strings.HasPrefix(r, "502 ") {
		t.Fatalf("STARTTLS: %s", r)
	}
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatal(err)
	}
}

func x509Opts(p *testPKI, name string, chain []*x509.Certificate) x509.VerifyOptions {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	return x509.VerifyOptions{Roots: p.pool(), Intermediates: inter, DNSName: name}
}

// TLS-1: commands pipelined behind STARTTLS in the same packet are never
// executed, inside TLS or out. TLS-2: the state before STARTTLS is gone:
// MAIL without a new EHLO is refused, and the new EHLO name is the one
// the message carries.
func TestSTARTTLSInjectionAndReset(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO evil.test")
	if _, err := raw.c.Write([]byte("STARTTLS\r\nMAIL FROM:<inject@x.test>\r\nRCPT TO:<b@y.test>\r\n")); err != nil {
		t.Fatal(err)
	}
	if r := raw.reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("STARTTLS: %s", r)
	}
	tc := tls.Client(raw.c, clientTLS(p, "mx.test.local"))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tr := &rawConn{t: t, c: tc, r: bufio.NewReader(tc)}
	// Nothing answers the injected commands.
	tc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := tr.r.ReadByte(); err == nil {
		t.Fatalf("server answered injected commands: %q", b)
	}
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if r := tr.cmd("MAIL FROM:<a@x.test>"); !strings.HasPrefix(r, "502 5.5.1") {
		t.Fatalf("MAIL without EHLO after STARTTLS: %s", r)
	}
	tr.cmd("EHLO good.test")
	for _, c := range []string{"MAIL FROM:<a@x.test>", "RCPT TO:<b@y.test>", "DATA"} {
		if r := tr.cmd(c); r[0] != '2' && r[0] != '3' {
			t.Fatalf("%s: %s", c, r)
		}
	}
	if r := tr.cmd("hi\r\n."); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %s", r)
	}
	l := s.Queue().List()
	if len(l) != 1 || l[0].HELO != "good.test" || l[0].From != "a@x.test" {
		t.Fatalf("queue: %+v", l)
	}
	if strings.Contains(logLines(t, dir), "inject@") {
		t.Fatal("injected MAIL reached the log")
	}
}

// A commit swaps the certificate: the next handshake serves the new one;
// the listening socket stays the same.
func TestReloadSwapsCertificate(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	s := startMTA(t, t.TempDir(), cfg)
	before := s.Listening()
	for i, cn := range []string{"b.test.local", "c.test.local", "mx.test.local"} {
		next := cfg.Clone()
		next.Certificates[0] = p.leaf(t, "Demo", cn)
		apply(t, s, next)
		got := peerCN(t, addr(cfg), p, cn)
		if got != cn {
			t.Fatalf("reload %d: served %q, want %q", i, got, cn)
		}
	}
	if after := s.Listening(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("sockets %v -> %v", before, after)
	}
}

func peerCN(t testing.TB, a string, p *testPKI, name string) string {
	t.Helper()
	c, err := smtp.DialStartTLS(a, clientTLS(p, name))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("c.test"); err != nil {
		t.Fatal(err)
	}
	st, ok := c.TLSConnectionState()
	if !ok {
		t.Fatal("no TLS")
	}
	return st.PeerCertificates[0].Subject.CommonName
}

// A commit the MTA cannot apply is refused with the reason, and nothing
// changes: the old listener keeps serving its old certificate.
func TestPrepareFailuresLeaveOldRuntime(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	s := startMTA(t, t.TempDir(), cfg)

	busy, err := net.Listen("tcp4", cfg.Interfaces[0].IPv4+":2626")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	moved := cfg.Clone()
	moved.Listeners[0].Port = 2626
	moved.Certificates[0] = p.leaf(t, "Demo", "new.test.local")
	if _, _, err := s.Prepare(context.Background(), moved); err == nil || !strings.Contains(err.Error(), "port 2626 on "+cfg.Interfaces[0].IPv4+" is already in use") {
		t.Fatalf("port in use: %v", err)
	}
	gone := cfg.Clone()
	gone.Interfaces[0].IPv4 = "192.0.2.77"
	if _, _, err := s.Prepare(context.Background(), gone); err == nil || !strings.Contains(err.Error(), "address 192.0.2.77 (interface Management) is not configured on this host") {
		t.Fatalf("address missing: %v", err)
	}
	bad := cfg.Clone()
	bad.Certificates[0].KeyPEM = keyPEM(t, newKey(t))
	if _, _, err := s.Prepare(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "certificate profile Demo") {
		t.Fatalf("bad key: %v", err)
	}
	if cn := peerCN(t, addr(cfg), p, "mx.test.local"); cn != "mx.test.local" {
		t.Fatalf("old runtime: %q", cn)
	}
	// abort releases what was prepared: the port bound for it is free.
	other := cfg.Clone()
	other.Listeners[0].Port = 2727
	_, abort, err := s.Prepare(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	abort()
	ln, err := net.Listen("tcp4", cfg.Interfaces[0].IPv4+":2727")
	if err != nil {
		t.Fatalf("aborted prepare kept its socket: %v", err)
	}
	ln.Close()
	// Moving the listener: the new port serves, the old one is closed.
	apply(t, s, other)
	if _, err := net.DialTimeout("tcp", addr(cfg), time.Second); err == nil {
		t.Fatal("old port still open after the move")
	}
	if cn := peerCN(t, cfg.Interfaces[0].IPv4+":2727", p, "mx.test.local"); cn != "mx.test.local" {
		t.Fatal(cn)
	}
	// Removing every listener closes the port.
	none := other.Clone()
	none.Listeners = nil
	apply(t, s, none)
	if len(s.Listening()) != 0 {
		t.Fatal(s.Listening())
	}
}
