package mta

import (
	"regexp"
	"strings"
	"testing"

	"esash/config"
)

// The inbound mail_logs lines of a whole session, in AsyncOS's order:
// "queued for delivery" follows "ready" once the message is durable, and a
// client that says QUIT is not "lost".
func TestInboundLogSession(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatal(err)
	}
	l := waitLog(t, dir, "ICID 1 close")
	order := []string{
		"Info: ICID 1 ACCEPT SG ALL match ALL SBRS None",
		"Info: Start MID 1 ICID 1",
		"Info: MID 1 ready ",
		"Info: MID 1 queued for delivery",
		"Info: ICID 1 close",
	}
	at := 0
	for _, want := range order {
		i := strings.Index(l[at:], want)
		if i < 0 {
			t.Fatalf("mail_logs lacks %q after offset %d:\n%s", want, at, l)
		}
		at += i + len(want)
	}
	if strings.Contains(l, "ICID 1 lost") {
		t.Fatalf("a client that said QUIT logged as lost:\n%s", l)
	}
	if n, _ := s.Queue().Len(); n != 1 {
		t.Fatalf("%d queued", n)
	}
}

// A client that hangs up without QUIT is "lost", before "close", in clear
// and after a failed STARTTLS handshake (the seed's example).
func TestInboundLogLost(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	dir := t.TempDir()
	startMTA(t, dir, cfg)

	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO client.test")
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.c.Close()
	l := waitLog(t, dir, "ICID 1 close")
	if !regexp.MustCompile(`Info: ICID 1 lost\n[^\n]*Info: ICID 1 close`).MatchString(l) {
		t.Fatalf("vanished client:\n%s", l)
	}

	// A TLS handshake the client abandons: TLS failed, lost, close.
	raw = dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO client.test")
	if r := raw.cmd("STARTTLS"); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("STARTTLS: %q", r)
	}
	raw.c.Close()
	l = waitLog(t, dir, "ICID 2 close")
	if !regexp.MustCompile(`Info: ICID 2 TLS failed: [^\n]*\n[^\n]*Info: ICID 2 lost\n[^\n]*Info: ICID 2 close`).MatchString(l) {
		t.Fatalf("abandoned handshake:\n%s", l)
	}
}
