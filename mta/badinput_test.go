package mta

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

// Bad input from the network gets the right reply or a timeout, never a
// crash, and the server keeps serving.
func TestBadNetworkInput(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	cfg.Listeners[0].DefaultPolicy.MaxMessageSize = 100000
	s := startMTA(t, t.TempDir(), cfg, func(o *Options) { o.ReadTimeout = 500 * time.Millisecond })
	a := addr(cfg)

	// A command line over the limit.
	raw := dialRaw(t, a)
	raw.reply()
	if r := raw.cmd("EHLO " + strings.Repeat("a", 5000)); !strings.HasPrefix(r, "500 5.4.0") {
		t.Fatalf("long line: %q", r)
	}
	// Garbage commands: errors, then the connection is closed.
	raw = dialRaw(t, a)
	raw.reply()
	var last string
	for i := 0; i < 6; i++ {
		raw.c.Write([]byte("\x01\x02garbage \xff\r\n"))
		last = raw.reply()
	}
	if !strings.HasPrefix(last, "500") && last != "" {
		t.Fatalf("garbage: %q", last)
	}
	// A TLS ClientHello sent without STARTTLS.
	raw = dialRaw(t, a)
	raw.reply()
	tc := tls.Client(raw.c, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(3 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS without STARTTLS succeeded")
	}
	// A line over the limit inside DATA.
	raw = dialRaw(t, a)
	raw.reply()
	raw.cmd("EHLO c.test")
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.cmd("RCPT TO:<b@y.test>")
	raw.cmd("DATA")
	if r := raw.cmd(strings.Repeat("b", 4000) + "\r\n."); !strings.HasPrefix(r, "500 5.4.0") {
		t.Fatalf("long data line: %q", r)
	}
	// An oversized message.
	err := send(t, a, nil, "a@x.test", []string{"b@y.test"}, strings.Repeat(strings.Repeat("c", 998)+"\r\n", 200))
	if smtpCode(err) != 552 {
		t.Fatalf("oversized: %v", err)
	}
	// A client that stalls: the idle timeout answers 421 and closes.
	raw = dialRaw(t, a)
	raw.reply()
	start := time.Now()
	if r := raw.reply(); !strings.HasPrefix(r, "421 4.4.2") || time.Since(start) > 5*time.Second {
		t.Fatalf("stall: %q after %v", r, time.Since(start))
	}
	// A client that stalls in the middle of STARTTLS.
	raw = dialRaw(t, a)
	raw.reply()
	raw.cmd("EHLO c.test")
	raw.cmd("STARTTLS")
	raw.c.Write([]byte{0x16, 0x03, 0x01}) // the start of a record, then nothing
	buf := make([]byte, 100)
	raw.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := raw.c.Read(buf); err == nil && !bytes.HasPrefix(buf, []byte("550")) {
		t.Fatalf("stalled handshake: %q", buf)
	}
	// Still serving.
	if err := send(t, a, &tls.Config{RootCAs: p.pool(), ServerName: "mx.test.local"}, "a@x.test", []string{"b@y.test"}, "ok\r\n"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
}

// FuzzSession drives the server with arbitrary command streams from
// go-smtp's client and raw writes: whatever arrives, the server answers or
// times out and keeps serving. The MTA runs once per fuzzing process.
func FuzzSession(f *testing.F) {
	p := newPKI(f)
	cfg := baseConfig(f, p, config.TLSInPreferred)
	cfg.Listeners[0].DefaultPolicy.MaxMessageSize = 50000
	cfg.Listeners[0].DefaultPolicy.MaxConcurrency = 1000
	s := startMTA(f, f.TempDir(), cfg, func(o *Options) { o.ReadTimeout = 300 * time.Millisecond })
	a := addr(cfg)
	for _, seed := range []string{
		"EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\nBDAT 5 LAST\r\nhello",
		"EHLO a\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\n",
		"EHLO a\r\nBDAT 99999999\r\n",
		"MAIL FROM:<a@b> SIZE=99999999999\r\n",
		"EHLO a\r\nMAIL FROM:<a@b> BODY=BINARYMIME SMTPUTF8\r\nRCPT TO:<\xff@\x00> NOTIFY=NEVER\r\nDATA\r\n.\r\n",
		"AUTH PLAIN AAAA\r\nVRFY x\r\nEXPN y\r\nHELP\r\nNOOP\r\nRSET\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, useClient bool) {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if useClient {
			// go-smtp's client speaks, with fuzzed arguments.
			cl := smtp.NewClient(c)
			parts := strings.SplitN(string(data), "\n", 4)
			for len(parts) < 4 {
				parts = append(parts, "")
			}
			cl.Hello(strings.TrimSpace(parts[0]) + "x")
			if err := cl.Mail(parts[1], nil); err == nil {
				cl.Rcpt(parts[2], nil)
				if w, err := cl.Data(); err == nil {
					w.Write([]byte(parts[3]))
					w.Close()
				}
			}
			cl.Quit()
			return
		}
		c.Write(data)
		c.(*net.TCPConn).CloseWrite() // the server sees the end at once
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
	})
	_ = s
}
