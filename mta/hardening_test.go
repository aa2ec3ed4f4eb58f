package mta

import (
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// closedAfter reads what the server still sends and fails unless it then
// closes the connection.
func (r *rawConn) closedAfter() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(15 * time.Second))
	b, err := io.ReadAll(r.r)
	if err != nil {
		r.t.Fatalf("the server kept the connection open: %v (read %q)", err, b)
	}
	return string(b)
}

// Issue 12 #1: a body that stalls past the timeout and then goes on with a
// second transaction: 421, the connection closes, nothing is queued.
func TestDataTimeoutEndsConnection(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"} // the RAT accepts the test's recipients
	dir := t.TempDir()
	s := startMTA(t, dir, cfg, func(o *Options) { o.ReadTimeout = 400 * time.Millisecond })
	for _, bdat := range []bool{false, true} {
		raw := dialRaw(t, addr(cfg))
		raw.reply()
		raw.cmd("EHLO c.test")
		raw.cmd("MAIL FROM:<a@x.test>")
		raw.cmd("RCPT TO:<b@y.test>")
		if bdat {
			raw.c.Write([]byte("BDAT 300 LAST\r\nSubject: stalled\r\n"))
		} else {
			raw.cmd("DATA")
			raw.c.Write([]byte("Subject: stalled\r\n\r\nhalf a li"))
		}
		time.Sleep(1200 * time.Millisecond) // past the 400 ms configured
		raw.c.Write([]byte(strings.Repeat("x", 300) + "\r\n.\r\nMAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\nforged\r\n.\r\n"))
		if got := raw.closedAfter(); !strings.HasPrefix(got, "421 4.4.2 ") || strings.Count(got, "\n") != 1 {
			t.Fatalf("bdat=%v: after the stall the server sent %q, want one 421 4.4.2 line and the end", bdat, got)
		}
	}
	if n, _ := s.Queue().Len(); n != 0 || strings.Contains(logLines(t, dir), "ceo@bank.example") {
		t.Fatalf("the stalled body ran as commands: %d queued\n%s", n, logLines(t, dir))
	}
}

// Issue 12 #3: STARTTLS followed by something that is not TLS: 550, the
// failure is logged, the connection closes and nothing runs in plaintext.
func TestFailedStartTLSEndsConnection(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO c.test")
	if r := raw.cmd("STARTTLS"); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("STARTTLS: %q", r)
	}
	raw.c.Write([]byte("EHLO c.test\r\nMAIL FROM:<plain@x.test>\r\nRCPT TO:<b@y.test>\r\n"))
	got := raw.closedAfter()
	if !strings.Contains(got, "550 5.0.0 Handshake error") || strings.Contains(got, "250") {
		t.Fatalf("after a failed handshake: %q", got)
	}
	waitLog(t, dir, "TLS failed")
	if strings.Contains(logLines(t, dir), "plain@x.test") {
		t.Fatal("a command ran in plaintext after the failed handshake")
	}
}

// Issue 12 #4: NUL and bare CR in commands are refused; another control
// byte in an envelope address is refused as bad address syntax (it never
// reaches mail_logs or the next hop; maillog's FormatLine escapes control
// bytes in any line, TestFormatLine); a bare CR in the body is stored as
// CR LF (no "\r.\r" relayed).
func TestUnsafeBytes(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"} // the RAT accepts the test's recipients
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO c.test")
	for _, bad := range []string{"MAIL FROM:<a\x00b@x.test>", "MAIL FROM:<a@x.test>\rRCPT TO:<c@y.test>"} {
		if r := raw.cmd(bad); !strings.HasPrefix(r, "501 5.5.2 Syntax error: NUL or bare CR") {
			t.Fatalf("%q: %q", bad, r)
		}
	}
	if r := raw.cmd("MAIL FROM:<a\x01b@x.test>"); !strings.HasPrefix(r, "501 5.1.7 ") {
		t.Fatalf("control byte in the sender: %q", r)
	}
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.cmd("RCPT TO:<b@y.test>")
	raw.cmd("DATA")
	r := raw.cmd("Subject: x\r\n\r\nline\r.\r\nMAIL FROM:<evil@x.test>\r\n.")
	m := regexp.MustCompile(`Message (\d+) accepted`).FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("end of data: %q", r)
	}
	l := s.Queue().List()
	if len(l) != 1 {
		t.Fatalf("queue: %+v", l)
	}
	body, err := s.Queue().Read(l[0].MID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), "\r.\r") || !strings.Contains(string(body), "line\r\n.\r\nMAIL FROM:<evil@x.test>\r\n") {
		t.Fatalf("stored body: %q", body)
	}
	logs := waitLog(t, dir, "ready")
	if strings.ContainsAny(logs, "\x00\x01") || strings.Contains(logs, `a\x01b`) || !strings.Contains(logs, "From: <a@x.test>") {
		t.Fatalf("mail_logs:\n%q", logs)
	}
}

// Issue 11 #4: the EHLO reply names the interface, MAIL and RCPT answer
// in AsyncOS's words, the final dot names the MID that mail_logs names.
func TestAsyncOSReplies(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"} // the RAT accepts the test's recipients
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	if r := raw.cmd("EHLO c.test"); !strings.HasPrefix(r, "250-mx.test.local\r\n") {
		t.Fatalf("EHLO: %q", r)
	}
	if r := raw.cmd("HELO c.test"); r != "250 2.0.0 mx.test.local\r\n" {
		t.Fatalf("HELO: %q", r)
	}
	for _, x := range []struct{ cmd, want string }{
		{"MAIL FROM:<a@x.test>", "250 2.1.0 sender <a@x.test> ok\r\n"},
		{"RCPT TO:<b@y.test>", "250 2.1.5 recipient <b@y.test> ok\r\n"},
		{"DATA", "354 Go ahead. End your data with <CR><LF>.<CR><LF>\r\n"},
	} {
		if r := raw.cmd(x.cmd); r != x.want {
			t.Fatalf("%s: %q, want %q", x.cmd, r, x.want)
		}
	}
	r := raw.cmd("hi\r\n.")
	m := regexp.MustCompile(`^250 2\.0\.0 ok:  Message (\d+) accepted\r\n$`).FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("end of data: %q", r)
	}
	waitLog(t, dir, "MID "+m[1]+" ready ")
}

// Issue 11 #4: on a TLS Required policy every command but EHLO, HELO,
// NOOP, QUIT, RSET and STARTTLS gets 530 before STARTTLS, also before
// EHLO; a refused BDAT's chunk is skipped, not run.
func TestRequiredRefusesAllButSafeCommands(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInRequired)
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	const need = "530 5.7.0 Must issue a STARTTLS command first\r\n"
	for _, x := range []struct{ cmd, want string }{
		{"VRFY postmaster", need},
		{"EHLO c.test", "250-"},
		{"HELO c.test", "250 "},
		{"NOOP", "250 "},
		{"RSET", "250 "},
		{"VRFY postmaster", need},
		{"EXPN staff", need},
		{"HELP", need},
		{"MAIL FROM:<a@x.test>", need},
		{"RCPT TO:<b@y.test>", need},
		{"DATA", need},
		{"AUTH PLAIN AAAA", need},
		{"BDAT 6 LAST\r\nNOOP", need}, // the chunk is "NOOP\r\n"
		{"NOOP", "250 "},
		{"STARTTLS", "220 "},
	} {
		if r := raw.cmd(x.cmd); !strings.HasPrefix(r, x.want) {
			t.Fatalf("%q: %q, want %q", x.cmd, r, x.want)
		}
	}
	if l := logLines(t, dir); strings.Count(l, "TLS was required but remote host did not initiate it") != 1 {
		t.Fatalf("mail_logs:\n%s", l)
	}
}

// A client that hangs up inside a BDAT chunk sent a cut message: nothing
// is queued, whether the chunk is the message's only one or its last after
// others. The client closes only its sending side, so the test can read
// to the server's close: the server has then seen the end of the stream,
// as it does when the whole connection closes.
func TestBDATCutByHangupQueuesNothing(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"}
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	for _, tc := range []struct{ name, chunks string }{
		{"the only chunk", "BDAT 300 LAST\r\nSubject: cut\r\n\r\nonly part"},
		{"the last of two chunks", "BDAT 14\r\nSubject: cut\r\nBDAT 300 LAST\r\n\r\nonly part"},
		{"a chunk before the last", "BDAT 300\r\nSubject: cut\r\n\r\nonly part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := dialRaw(t, addr(cfg))
			raw.reply()
			raw.cmd("EHLO c.test")
			raw.cmd("MAIL FROM:<a@x.test>")
			raw.cmd("RCPT TO:<b@y.test>")
			raw.c.Write([]byte(tc.chunks))
			raw.c.(*net.TCPConn).CloseWrite()
			if got := raw.closedAfter(); strings.Contains(got, "accepted") {
				t.Fatalf("the cut message was answered %q", got)
			}
			if n, _ := s.Queue().Len(); n != 0 {
				t.Fatalf("%d cut messages queued\n%s", n, logLines(t, dir))
			}
		})
	}
}

// The open mail transactions the queue's commit delay waits for: counted
// from MAIL until the message is handed to the queue, or the transaction
// ends by RSET or the connection's end. A count left
// behind would make every sync wait its full delay.
func TestOpenTransactionsCounted(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"}
	s := startMTA(t, t.TempDir(), cfg)
	raw := dialRaw(t, addr(cfg))
	raw.reply()
	raw.cmd("EHLO c.test")
	want := func(step string, n int) {
		t.Helper()
		if got := s.openTransactions(); got != n {
			t.Fatalf("after %s: %d open transactions, want %d", step, got, n)
		}
	}
	raw.cmd("MAIL FROM:<a@x.test>")
	want("MAIL", 1)
	raw.cmd("RCPT TO:<b@y.test>")
	raw.cmd("DATA")
	want("DATA", 1)
	if r := raw.cmd("Subject: x\r\n\r\nbody\r\n."); !strings.Contains(r, "accepted") {
		t.Fatalf("end of data: %q", r)
	}
	want("the message queued", 0)
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.cmd("RSET")
	want("RSET", 0)
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.cmd("RCPT TO:<b@y.test>")
	if r := raw.cmd("BDAT 7 LAST\r\nhello"); !strings.Contains(r, "accepted") { // cmd adds the chunk's CRLF
		t.Fatalf("BDAT: %q", r)
	}
	want("a message in one chunk queued", 0)
	// A chunked message cut by RSET: its Data ends before the reset
	// (go-smtp patch abandonChunks), so it cannot end the count of the
	// next transaction. Upstream lost that race only rarely; go-smtp's
	// TestEsashBdatResetWaitsForData checks the order deterministically,
	// this the count along the path.
	raw.cmd("MAIL FROM:<a@x.test>")
	raw.cmd("RCPT TO:<b@y.test>")
	if r := raw.cmd("BDAT 7\r\nhello"); !strings.Contains(r, "Continue") {
		t.Fatalf("BDAT: %q", r)
	}
	raw.cmd("RSET")
	want("a chunked message cut by RSET", 0)
	raw.cmd("MAIL FROM:<a@x.test>")
	want("MAIL", 1)
	raw.c.Close()
	waitFor(t, "the closed connection's transaction to end", func() bool { return s.openTransactions() == 0 })
}
