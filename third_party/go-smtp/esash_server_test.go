package smtp_test

// Tests of the esash server patches (see ESASH-PATCH.md): a read error or
// timeout inside a command, DATA, BDAT or AUTH closes the connection after
// its reply; a failed STARTTLS closes it; NUL and bare CR are refused in
// commands; the reply texts and the optional hooks.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// rest reads every line the server still sends until it closes the
// connection; it fails the test if the server keeps it open.
func rest(t *testing.T, c net.Conn, scanner *bufio.Scanner) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var lines []string
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("the server did not close the connection: %v (read %q)", err, lines)
	}
	return lines
}

func shortTimeout(s *smtp.Server) { s.ReadTimeout = 300 * time.Millisecond }

// smuggled is what a stalled client sends after the timeout: if it were
// parsed as commands, a second transaction would be accepted.
const smuggled = "\r\n.\r\nMAIL FROM:<ceo@bank.example>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nforged\r\n.\r\n"

func expectClosedAfter421(t *testing.T, c net.Conn, scanner *bufio.Scanner) {
	t.Helper()
	lines := rest(t, c, scanner)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.4.2 ") {
		t.Fatalf("after the timeout: %q, want one 421 4.4.2 line and the end", lines)
	}
}

func TestEsashDataTimeoutCloses(t *testing.T) {
	_, s, c, scanner, _ := testServerEhlo(t, shortTimeout)
	defer s.Close()
	for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>", "DATA"} {
		io.WriteString(c, cmd+"\r\n")
		scanner.Scan()
	}
	io.WriteString(c, "Subject: stalled\r\n\r\nhalf a li")
	time.Sleep(900 * time.Millisecond) // past the configured 300 ms
	io.WriteString(c, smuggled)
	expectClosedAfter421(t, c, scanner)
}

func TestEsashBdatTimeoutCloses(t *testing.T) {
	_, s, c, scanner, _ := testServerEhlo(t, shortTimeout)
	defer s.Close()
	for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>"} {
		io.WriteString(c, cmd+"\r\n")
		scanner.Scan()
	}
	io.WriteString(c, "BDAT 200 LAST\r\nSubject: stalled\r\n")
	time.Sleep(900 * time.Millisecond)
	io.WriteString(c, strings.Repeat("x", 200)+smuggled)
	expectClosedAfter421(t, c, scanner)
}

func TestEsashCommandTimeoutCloses(t *testing.T) {
	_, s, c, scanner, _ := testServerEhlo(t, shortTimeout)
	defer s.Close()
	io.WriteString(c, "MAIL FROM:<a@exam")
	time.Sleep(900 * time.Millisecond)
	io.WriteString(c, "ple.org>\r\nRCPT TO:<b@example.com>\r\n")
	expectClosedAfter421(t, c, scanner)
}

func TestEsashAuthTimeoutCloses(t *testing.T) {
	_, s, c, scanner, _ := testServerEhlo(t, shortTimeout)
	defer s.Close()
	io.WriteString(c, "AUTH PLAIN\r\n")
	scanner.Scan()
	if scanner.Text() != "334 " {
		t.Fatalf("AUTH: %q", scanner.Text())
	}
	time.Sleep(900 * time.Millisecond)
	io.WriteString(c, "AHVzZXJuYW1lAHBhc3N3b3Jk\r\nMAIL FROM:<a@example.org>\r\n")
	expectClosedAfter421(t, c, scanner)
}

// An overlong line inside DATA: 500, then the end (the rest of the line
// is never read as commands).
func TestEsashDataLongLineCloses(t *testing.T) {
	_, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>", "DATA"} {
		io.WriteString(c, cmd+"\r\n")
		scanner.Scan()
	}
	io.WriteString(c, strings.Repeat("x", 3000)+smuggled)
	lines := rest(t, c, scanner)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "500 5.4.0 ") {
		t.Fatalf("after an overlong DATA line: %q", lines)
	}
}

func TestEsashUnsafeCommandBytes(t *testing.T) {
	for name, line := range map[string]string{
		"NUL in MAIL":     "MAIL FROM:<a\x00b@example.org>",
		"bare CR in MAIL": "MAIL FROM:<a@example.org>\rRCPT TO:<x@y>",
		"CR at the end":   "RCPT TO:<b@example.com>\r",
		"NUL in EHLO":     "EHLO a\x00b",
	} {
		t.Run(name, func(t *testing.T) {
			_, s, c, scanner, _ := testServerEhlo(t)
			defer s.Close()
			io.WriteString(c, line+"\r\n")
			scanner.Scan()
			if got := scanner.Text(); got != "501 5.5.2 Syntax error: NUL or bare CR characters are not allowed in commands" {
				t.Fatalf("%q: %q", line, got)
			}
		})
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// A failed STARTTLS handshake ends the connection: nothing that follows
// runs in plaintext (RFC 3207 4.1).
func TestEsashStartTLSFailureCloses(t *testing.T) {
	cert := selfSigned(t)
	_, s, c, scanner, _ := testServerEhlo(t, func(s *smtp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	})
	defer s.Close()
	io.WriteString(c, "STARTTLS\r\n")
	scanner.Scan()
	if !strings.HasPrefix(scanner.Text(), "220 ") {
		t.Fatalf("STARTTLS: %q", scanner.Text())
	}
	// Not a ClientHello: plaintext commands, as an injection would send.
	io.WriteString(c, "EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n")
	for _, l := range rest(t, c, scanner) {
		if strings.HasPrefix(l, "250") {
			t.Fatalf("a command ran after the failed handshake: %q", l)
		}
	}
}

// The replies: the server's name first in EHLO and HELO, AsyncOS's
// sender and recipient texts.
func TestEsashReplies(t *testing.T) {
	_, s, c, scanner := testServerGreeted(t)
	defer s.Close()
	for _, x := range []struct{ cmd, want string }{
		{"HELO client.example", "250 2.0.0 localhost"},
		{"MAIL FROM:<a@example.org>", "250 2.1.0 sender <a@example.org> ok"},
		{"RCPT TO:<b@example.com>", "250 2.1.5 recipient <b@example.com> ok"},
	} {
		io.WriteString(c, x.cmd+"\r\n")
		scanner.Scan()
		if scanner.Text() != x.want {
			t.Fatalf("%s: %q, want %q", x.cmd, scanner.Text(), x.want)
		}
	}
}

// hookBackend refuses VRFY and BDAT through CommandChecker and names the
// message in the reply to the final dot through AcceptReplier.
type hookBackend struct{ backend }

type hookSession struct{ smtp.Session }

func (hookBackend) CheckCommand(_ *smtp.Conn, cmd string) error {
	if cmd == "VRFY" || cmd == "BDAT" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Must issue a STARTTLS command first"}
	}
	return nil
}

func (b *hookBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s, err := b.backend.NewSession(c)
	return hookSession{s}, err
}

func (hookSession) AcceptReply() string { return "ok:  Message 1234 accepted" }

func TestEsashHooks(t *testing.T) {
	_, s, c, scanner := testServerGreeted(t, func(s *smtp.Server) { s.Backend = &hookBackend{} })
	defer s.Close()
	for _, x := range []struct{ send, want string }{
		{"VRFY postmaster\r\n", "530 5.7.0 Must issue a STARTTLS command first"},
		// The refused chunk is skipped, not read as commands.
		{"BDAT 12\r\nNOOP\r\nNOOP\r\n", "530 5.7.0 Must issue a STARTTLS command first"},
		{"HELO client.example\r\n", "250 2.0.0 localhost"},
		{"MAIL FROM:<a@example.org>\r\n", "250 2.1.0 sender <a@example.org> ok"},
		{"RCPT TO:<b@example.com>\r\n", "250 2.1.5 recipient <b@example.com> ok"},
		{"DATA\r\n", "354 Go ahead. End your data with <CR><LF>.<CR><LF>"},
		{"hello\r\n.\r\n", "250 2.0.0 ok:  Message 1234 accepted"},
	} {
		io.WriteString(c, x.send)
		scanner.Scan()
		if scanner.Text() != x.want {
			t.Fatalf("%q: %q, want %q", x.send, scanner.Text(), x.want)
		}
	}
}

// quitBackend's sessions take a while to log out and say when they have.
type quitBackend struct{ loggedOut chan struct{} }

func (b quitBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return quitSession(b), nil }

type quitSession quitBackend

func (quitSession) Mail(string, *smtp.MailOptions) error { return nil }
func (quitSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (quitSession) Data(io.Reader) error                 { return nil }
func (quitSession) Reset()                               {}
func (s quitSession) Logout() error {
	time.Sleep(100 * time.Millisecond) // a backend's bookkeeping
	close(s.loggedOut)
	return nil
}

// TestQuitLogsOutBeforeReply: by the time a client reads the 221 to its
// QUIT, the session is logged out, so a client that goes on to its next
// connection never finds the previous session still counted.
func TestQuitLogsOutBeforeReply(t *testing.T) {
	be := quitBackend{loggedOut: make(chan struct{})}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	scanner := bufio.NewScanner(c)
	scanner.Scan() // greeting
	io.WriteString(c, "EHLO client\r\n")
	for scanner.Scan() && strings.HasPrefix(scanner.Text(), "250-") {
	}
	io.WriteString(c, "QUIT\r\n")
	if !scanner.Scan() || !strings.HasPrefix(scanner.Text(), "221 ") {
		t.Fatalf("QUIT: %q %v", scanner.Text(), scanner.Err())
	}
	select {
	case <-be.loggedOut:
	default:
		t.Fatal("the 221 came before the session was logged out")
	}
}

// A client that hangs up inside a BDAT chunk sent a cut message: Data sees
// a read error and no message is kept, for the only chunk (read without
// the pipe) and for the last of several (through it).
func TestEsashBdatCutChunk(t *testing.T) {
	for _, tc := range []struct{ name, chunks string }{
		{"only chunk", "BDAT 100 LAST\r\nSubject: cut\r\n"},
		{"last of two", "BDAT 8\r\nHey <3\r\nBDAT 100 LAST\r\nSubject: cut\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, s, c, scanner := testServerAuthenticated(t)
			defer s.Close()
			for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>"} {
				io.WriteString(c, cmd+"\r\n")
				scanner.Scan()
			}
			io.WriteString(c, tc.chunks)
			c.(*net.TCPConn).CloseWrite()
			for _, line := range rest(t, c, scanner) {
				if !strings.HasPrefix(line, "250 2.0.0 Continue") {
					t.Fatalf("the cut message was answered %q", line)
				}
			}
			if len(be.messages) != 0 {
				t.Fatalf("cut message kept: %q", be.messages[0].Data)
			}
		})
	}
}

// A message in one chunk whose Data fails part way: the backend's reply,
// the rest of the chunk skipped (never read as commands), the session
// goes on; then a whole one-chunk message is accepted byte for byte.
func TestEsashBdatSingleChunk(t *testing.T) {
	be, s, c, scanner := testServerAuthenticated(t)
	defer s.Close()
	be.dataErr = &smtp.SMTPError{Code: 555, EnhancedCode: smtp.EnhancedCode{5, 0, 0}, Message: "I failed"}
	be.dataErrOffset = 5
	for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>"} {
		io.WriteString(c, cmd+"\r\n")
		scanner.Scan()
	}
	io.WriteString(c, "BDAT 14 LAST\r\nHey <3\r\nNOOP\r\n")
	if scanner.Scan(); scanner.Text() != "555 5.0.0 I failed" {
		t.Fatalf("BDAT after a backend error: %q", scanner.Text())
	}
	be.dataErr = nil
	io.WriteString(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 14 LAST\r\nHey <3\r\nQUIT\r\n")
	for _, want := range []string{"250 ", "250 ", "250 2.0.0 "} {
		if scanner.Scan(); !strings.HasPrefix(scanner.Text(), want) {
			t.Fatalf("reply %q, want %q", scanner.Text(), want)
		}
	}
	io.WriteString(c, "QUIT\r\n")
	if scanner.Scan(); !strings.HasPrefix(scanner.Text(), "221 ") {
		t.Fatalf("QUIT: %q", scanner.Text())
	}
	if len(be.messages) != 1 || string(be.messages[0].Data) != "Hey <3\r\nQUIT\r\n" {
		t.Fatalf("messages %v", be.messages)
	}
}

// The line limit is off inside a BDAT chunk, but the chunk's first bytes
// arrive in the same read as its BDAT line and are counted as a line:
// that count was kept after the chunk, so a short command after a chunk
// that ended inside a long line was refused as "too long" and the
// connection closed. With esash's limit of 2000, a message with a long
// line (DATA takes it) cut there by a chunk boundary lost its next BDAT.
// Here the limit is 100, the chunk ends 90 bytes into a line, and the
// command after it is 15 bytes.
func TestEsashBdatLineLimitAfterChunk(t *testing.T) {
	long := strings.Repeat("x", 90)
	for _, tc := range []struct {
		name, first string
		envelope    bool // MAIL and RCPT first; else the chunk is discarded
	}{
		{"a chunk before the last", "BDAT 90\r\n" + long, true},
		{"a chunk discarded (no recipient yet)", "BDAT 90\r\n" + long, false},
		{"the only chunk", "BDAT 90 LAST\r\n" + long, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, c, scanner, _ := testServerEhlo(t, func(s *smtp.Server) { s.MaxLineLength = 100 })
			defer s.Close()
			if tc.envelope {
				for _, cmd := range []string{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.com>"} {
					io.WriteString(c, cmd+"\r\n")
					scanner.Scan()
				}
			}
			io.WriteString(c, tc.first) // one write: one read at the server
			scanner.Scan()
			io.WriteString(c, "NOOP 45678901\r\n")
			if scanner.Scan(); !strings.HasPrefix(scanner.Text(), "250 ") {
				t.Fatalf("a 15-byte command after the chunk: %q", scanner.Text())
			}
		})
	}
}

// orderBackend's sessions record when Data returned and when the session
// was reset.
type orderBackend struct {
	mu       sync.Mutex
	events   []string
	inData   bool
	reset    chan struct{} // closed at the first reset while Data runs
	dataDone chan struct{} // closed when the first Data returns
}

func (be *orderBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &orderSession{be}, nil }

type orderSession struct{ be *orderBackend }

func (s *orderSession) Logout() error                        { return nil }
func (s *orderSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *orderSession) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *orderSession) Reset() {
	s.be.mu.Lock()
	defer s.be.mu.Unlock()
	if s.be.inData {
		s.be.events = append(s.be.events, "reset")
		s.be.inData = false
		close(s.be.reset)
	}
}

func (s *orderSession) Data(r io.Reader) error {
	s.be.mu.Lock()
	first := s.be.dataDone != nil && s.be.events == nil
	s.be.inData = first
	s.be.mu.Unlock()
	_, err := io.Copy(io.Discard, r)
	if first && errors.Is(err, smtp.ErrDataReset) {
		// Upstream reset the session at RSET at once and left this
		// goroutine running beside the next transaction. Give that reset
		// time to come: it must not.
		select {
		case <-s.be.reset:
		case <-time.After(300 * time.Millisecond):
		}
	}
	if first {
		s.be.mu.Lock()
		s.be.events = append(s.be.events, "data returned")
		s.be.mu.Unlock()
		close(s.be.dataDone)
	}
	return err
}

// A chunked message cut by RSET: the session is reset only once Data has
// returned. Upstream closed the pipe and reset at once, so Data ran on
// beside the next transaction (esash's open-transaction count was ended
// by the old message's Data, and its result could be taken for the next
// message's). The next chunked message gets its own reply.
func TestEsashBdatResetWaitsForData(t *testing.T) {
	be := &orderBackend{reset: make(chan struct{}), dataDone: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	go s.Serve(l)
	defer s.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	scanner := bufio.NewScanner(c)
	envelope := "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n"
	io.WriteString(c, "EHLO client.example\r\n"+envelope+"BDAT 5\r\nHelloRSET\r\n")
	var replies []string
	for len(replies) < 6 && scanner.Scan() {
		if line := scanner.Text(); !strings.HasPrefix(line, "250-") {
			replies = append(replies, line)
		}
	}
	if len(replies) != 6 || !strings.HasPrefix(replies[4], "250 2.0.0 Continue") || !strings.HasPrefix(replies[5], "250 ") {
		t.Fatalf("replies %q", replies)
	}
	select {
	case <-be.dataDone:
	case <-time.After(10 * time.Second):
		t.Fatal("Data never returned")
	}
	be.mu.Lock()
	events := be.events
	be.mu.Unlock()
	if strings.Join(events, ", ") != "data returned, reset" {
		t.Fatalf("events %q: the session was reset while the cut message's Data ran", events)
	}
	io.WriteString(c, envelope+"BDAT 5\r\nHelloBDAT 0 LAST\r\n")
	for _, want := range []string{"250 ", "250 ", "250 2.0.0 Continue", "250 2.0.0 "} {
		if scanner.Scan(); !strings.HasPrefix(scanner.Text(), want) || strings.Contains(scanner.Text(), "Continue") != strings.Contains(want, "Continue") {
			t.Fatalf("second message: reply %q, want %q", scanner.Text(), want)
		}
	}
}
