package mta

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/mta/queue"
)

var sinkSeq atomic.Int32

// sinkIP is a loopback address for one receiving sink.
func sinkIP() string {
	n := sinkSeq.Add(1)
	return fmt.Sprintf("127.2.%d.%d", os.Getpid()%250, n%250+1)
}

// received is one message a sink accepted.
type received struct {
	from string
	to   []string
	data string
	tls  bool
	utf8 bool // MAIL had the SMTPUTF8 parameter
	// resumed: the TLS session was resumed from a ticket
	resumed bool
}

type sinkStore struct {
	mu   sync.Mutex
	msgs []received
}

func (s *sinkStore) add(r received) { s.mu.Lock(); s.msgs = append(s.msgs, r); s.mu.Unlock() }
func (s *sinkStore) list() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// goSink is a go-smtp receiving MTA; cert nil = no STARTTLS.
type goSink struct {
	sinkStore
	addr string
	port int
	// hold delays each message's 250, so that deliveries overlap.
	hold time.Duration
	// smtputf8 offers SMTPUTF8.
	smtputf8 bool
	// Sessions open now and the most ever open at once.
	active, maxActive atomic.Int32
	tlsActive, maxTLS atomic.Int32
	// errorLog, when set, takes the server's errors (default: stderr).
	errorLog smtp.Logger
}

type goSinkBackend struct{ s *goSink }
type goSinkSession struct {
	s    *goSink
	c    *smtp.Conn
	from string
	to   []string
	tls  bool // counted in tlsActive
	utf8 bool
}

// NewSession counts the session open, Logout closed; go-smtp logs a
// session out before it answers its QUIT (third_party/go-smtp), so a
// client's next connection never finds the previous one still counted.
func (b goSinkBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	n := b.s.active.Add(1)
	for m := b.s.maxActive.Load(); n > m && !b.s.maxActive.CompareAndSwap(m, n); m = b.s.maxActive.Load() {
	}
	return &goSinkSession{s: b.s, c: c}, nil
}
func (x *goSinkSession) Reset() { x.from, x.to = "", nil }
func (x *goSinkSession) Logout() error {
	x.s.active.Add(-1)
	if x.tls {
		x.s.tlsActive.Add(-1)
	}
	return nil
}
func (x *goSinkSession) Mail(from string, o *smtp.MailOptions) error {
	x.from = from
	x.utf8 = o != nil && o.UTF8
	if _, isTLS := x.c.TLSConnectionState(); isTLS && !x.tls {
		x.tls = true
		n := x.s.tlsActive.Add(1)
		for m := x.s.maxTLS.Load(); n > m && !x.s.maxTLS.CompareAndSwap(m, n); m = x.s.maxTLS.Load() {
		}
	}
	return nil
}
func (x *goSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "reject") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	if strings.HasPrefix(to, "later") {
		return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try later"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *goSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	st, isTLS := x.c.TLSConnectionState()
	time.Sleep(x.s.hold)
	x.s.add(received{from: x.from, to: x.to, data: string(b), tls: isTLS, utf8: x.utf8, resumed: st.DidResume})
	return nil
}

func startGoSink(t testing.TB, cert *config.Certificate, opts ...func(*goSink)) *goSink {
	t.Helper()
	ip := sinkIP()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	g := &goSink{addr: ip, port: ln.Addr().(*net.TCPAddr).Port}
	for _, o := range opts {
		o(g)
	}
	srv := smtp.NewServer(goSinkBackend{g})
	srv.Domain = "sink.test"
	if g.errorLog != nil {
		srv.ErrorLog = g.errorLog
	}
	srv.EnableSMTPUTF8 = g.smtputf8
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		c, err := loadCertificate(*cert)
		if err != nil {
			t.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*c}}
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return g
}

// rawSink is a scripted receiver for the adversarial cases.
type rawSink struct {
	sinkStore
	addr string
	port int
	// behaviour
	offerTLS     bool   // advertise STARTTLS
	starttlsResp string // reply to STARTTLS ("220 go ahead" when empty)
	inject       string // bytes sent in the same write as the 220
	cert         *tls.Certificate
	sawDataClear atomic.Bool
	sawMailClear atomic.Bool
}

func startRawSink(t testing.TB, configure func(*rawSink)) *rawSink {
	t.Helper()
	ip := sinkIP()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rawSink{addr: ip, port: ln.Addr().(*net.TCPAddr).Port}
	configure(r)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

func (r *rawSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var conn net.Conn = c
	br := bufio.NewReader(conn)
	w := func(s string) { conn.Write([]byte(s)) }
	w("220 raw.sink ESMTP\r\n")
	isTLS := false
	var from string
	var to []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO":
			if r.offerTLS && !isTLS {
				w("250-raw.sink\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
			} else {
				w("250-raw.sink\r\n250 PIPELINING\r\n")
			}
		case "HELO":
			w("250 raw.sink\r\n")
		case "STARTTLS":
			if !r.offerTLS {
				w("502 not implemented\r\n")
				continue
			}
			if r.starttlsResp != "" {
				w(r.starttlsResp + "\r\n")
				continue
			}
			w("220 go ahead\r\n" + r.inject)
			if r.cert == nil {
				return
			}
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{*r.cert}})
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, isTLS = tc, true
			br = bufio.NewReader(conn)
		case "MAIL":
			if !isTLS {
				r.sawMailClear.Store(true)
			}
			from = line
			w("250 ok\r\n")
		case "RCPT":
			to = append(to, line)
			w("250 ok\r\n")
		case "DATA":
			if !isTLS {
				r.sawDataClear.Store(true)
			}
			w("354 go\r\n")
			var b strings.Builder
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			r.add(received{from: from, to: to, data: b.String(), tls: isTLS})
			w("250 queued\r\n")
		case "QUIT":
			w("221 bye\r\n")
			return
		default:
			w("250 ok\r\n")
		}
	}
}

// outCfg is a configuration delivering sink.test (and any extra domains)
// to the sink at ip:port under tlsOut.
func outCfg(t testing.TB, p *testPKI, tlsOut config.TLSOut, routes map[string]string) *config.Config {
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Destinations.Default.TLS = tlsOut
	for dom, hp := range routes {
		h, msg := config.ParseRouteHost(hp)
		if msg != "" {
			t.Fatal(msg)
		}
		cfg.Routes = append(cfg.Routes, config.Route{Domain: dom, Hosts: []config.RouteHost{h}})
	}
	return cfg
}

func hp(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

// startOut runs an MTA that delivers, with a fast poll and no retry
// during the test unless asked.
func startOut(t testing.TB, cfg *config.Config, tweak ...func(*Options)) (*Server, string) {
	dir := t.TempDir()
	s := startMTA(t, dir, cfg, append([]func(*Options){func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour,
			Timeout: 5 * time.Second}
	}}, tweak...)...)
	return s, dir
}

// enqueue puts a message straight into s's queue.
func enqueue(t testing.TB, s *Server, from string, to ...string) int64 {
	t.Helper()
	mid, err := s.mids.Next()
	if err != nil {
		t.Fatal(err)
	}
	// Stored as the MTA stores what it receives: its Received header first.
	recv := fmt.Sprintf("Received: from client.test ([127.0.0.1])\r\n\tby esa.test with ESMTP id %d", mid)
	body := fmt.Sprintf("%s\r\nSubject: test %d\r\nFrom: <%s>\r\n\r\nhello\r\n.leading dot\r\n", recv, mid, from)
	if err := s.queue.Put(queue.Meta{MID: mid, From: from, To: to, Time: time.Now(), Received: recv}, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	s.KickDelivery()
	return mid
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func inQueue(s *Server, mid int64) bool { _, ok := s.queue.Get(mid); return ok }

// retryNow makes a deferred message due at once, as delivernow does, once
// its failed attempt has recorded its schedule.
func retryNow(t testing.TB, s *Server, mid int64) {
	t.Helper()
	var m queue.Meta
	waitFor(t, "retry recorded", func() bool { m, _ = s.queue.Get(mid); return m.Attempts > 0 })
	if err := s.queue.SetRetry(mid, m.Attempts, time.Time{}); err != nil {
		t.Fatal(err)
	}
	s.KickDelivery()
}
