package mta

import (
	"bytes"
	"crypto/tls"
	"errors"
	"esash/config"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"esash/maillog"
)

// TLS phases of a connection, as seen from the bytes it carries.
const (
	phasePlain     = iota
	phaseHandshake // "220 Ready to start TLS" was written
	phaseTLS       // handshake done
)

// mconn is an accepted connection: the net.Conn go-smtp serves, carrying
// what the MTA knows about it (ICID, the listener snapshot it started
// under, the HAT decision) and watching the STARTTLS exchange so that a
// failed handshake, which go-smtp does not report, is logged with a
// reason.
type mconn struct {
	net.Conn
	srv  *Server
	sock *socket
	lst  *lrt // the listener as it was when the connection came in
	icid int64
	ip   netip.Addr
	host string // verified reverse DNS name, or ""
	rdns string // reverse DNS name, verified or not
	dec  decision

	phase      atomic.Int32
	tlsState   atomic.Pointer[tls.ConnectionState]
	failReason atomic.Pointer[string] // our own verification's reason
	sawHello   atomic.Bool
	alertIn    atomic.Int32 // last alert received during the handshake, +1
	alertOut   atomic.Int32 // last alert sent during the handshake, +1
	readErr    atomic.Pointer[error]
	closeAfter atomic.Bool // close once the next reply is written
	greeted    atomic.Bool // the greeting went out
	lost       atomic.Bool // the client hung up without QUIT (see peerVanished)

	msgs        atomic.Int32 // messages accepted on this connection
	requiredLog atomic.Bool  // "TLS was required" already logged

	// Slow clients (slow.go). start, seenMsgs and lastMsg belong to the
	// session goroutine (the only reader); counted to the listener's
	// connCounts lock.
	start         time.Time
	seenMsgs      int32
	lastMsg       time.Time
	why           atomic.Int32 // what set the read deadline (why*)
	deadline      atomic.Int64 // the read deadline, UnixNano
	deadlineMu    sync.Mutex   // one setter of why, deadline and the connection's deadline at a time
	lastRead      atomic.Int64 // UnixNano of the last byte received
	evicted       atomic.Bool
	inMessage     atomic.Bool // between DATA's 354 (or the first BDAT) and the end of the message
	timeoutLogged atomic.Bool
	counted       bool
	global        atomic.Bool // counted against the global connection limit
	tlsSlot       atomic.Bool // counted against the global TLS limit

	closeOnce sync.Once
}

var (
	readyTLS     = []byte("220 2.0.0 Ready to start TLS")
	handshakeErr = []byte("550 5.0.0 Handshake error")
)

func (m *mconn) Read(p []byte) (int, error) {
	m.armRead()
	n, err := m.Conn.Read(p)
	if n > 0 {
		m.lastRead.Store(time.Now().UnixNano())
	}
	if err != nil {
		m.readFailed(err)
	}
	if m.phase.Load() == phaseHandshake {
		if n >= 7 && p[0] == 0x15 && p[1] == 3 {
			m.alertIn.Store(int32(p[6]) + 1)
		}
		if err != nil {
			e := err // a copy: taking err's address would heap-allocate it on every Read
			m.readErr.Store(&e)
		}
	}
	if err != nil && peerVanished(err) {
		m.lost.Store(true)
	}
	return n, err
}

func (m *mconn) Write(p []byte) (int, error) {
	if !m.greeted.Load() {
		m.greeted.Store(true)
		if b := customBanner(m.dec.Params, m.lst.hostname); b != "" && bytes.HasPrefix(p, []byte("220 ")) {
			// go-smtp's greeting text is fixed; the mail flow policy's
			// custom SMTP response replaces it on the wire.
			if _, err := m.Conn.Write([]byte(b)); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	switch m.phase.Load() {
	case phasePlain:
		if len(p) > len(readyTLS) && p[0] == '2' && bytes.HasPrefix(p, readyTLS) {
			m.phase.Store(phaseHandshake)
		}
	case phaseHandshake:
		if len(p) >= 7 && p[0] == 0x15 && p[1] == 3 {
			m.alertOut.Store(int32(p[6]) + 1)
		} else if len(p) > 0 && p[0] == '5' && bytes.HasPrefix(p, handshakeErr) {
			m.phase.Store(phasePlain)
			m.srv.log.Infof("%s", maillog.ICIDTLSFailed(m.icid, m.handshakeFailure()))
		}
	}
	n, err := m.Conn.Write(p)
	if m.closeAfter.Load() && err == nil {
		m.Conn.Close()
	}
	return n, err
}

// handshakeFailure explains a failed STARTTLS handshake from what the
// connection saw.
func (m *mconn) handshakeFailure() string {
	if r := m.failReason.Load(); r != nil {
		return *r
	}
	if a := m.alertOut.Load(); a > 0 {
		return "sent alert: " + alertText(byte(a-1))
	}
	if a := m.alertIn.Load(); a > 0 {
		return "received alert: " + alertText(byte(a-1))
	}
	if e := m.readErr.Load(); e != nil {
		var ne net.Error
		switch {
		case errors.Is(*e, io.EOF):
			return "connection closed by peer during handshake"
		case errors.As(*e, &ne) && ne.Timeout():
			return "handshake timed out"
		default:
			return (*e).Error()
		}
	}
	if !m.sawHello.Load() {
		return "no TLS ClientHello received"
	}
	return "handshake error"
}

func (m *mconn) Close() error {
	if m.lost.CompareAndSwap(true, false) { // logged once, before "close"
		m.srv.log.Infof("%s", maillog.ICIDLost(m.icid))
	}
	err := m.Conn.Close()
	m.closeOnce.Do(func() {
		m.sock.counts.release(m)
		m.releaseGlobal()
		m.srv.log.Infof("%s", maillog.ICIDClose(m.icid))
		m.srv.sessions.done(m.Conn)
	})
	return err
}

// isTLS reports whether STARTTLS completed.
func (m *mconn) isTLS() bool { return m.tlsState.Load() != nil }

// connOf finds our connection under what go-smtp holds: ours, or the
// tls.Conn STARTTLS wrapped around it.
func connOf(c net.Conn) *mconn {
	switch v := c.(type) {
	case *mconn:
		return v
	case *tls.Conn:
		m, _ := v.NetConn().(*mconn)
		return m
	}
	return nil
}

// chanListener is the net.Listener a go-smtp server serves: the socket's
// accept loop hands it the connections the HAT gave to that server.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn

	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// push hands c to the server; false if the server has shut down.
func (l *chanListener) push(c net.Conn) bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.mu.Unlock()
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	return nil
}

func (l *chanListener) Addr() net.Addr { return l.addr }

// errorLogger routes go-smtp's internal errors (panics, accept errors) to
// the MTA's error log; handshake failures do not reach it.
type errorLogger struct{ s *Server }

func (e errorLogger) Printf(format string, v ...any) { e.s.errorf(format, v...) }
func (e errorLogger) Println(v ...any)               { e.s.errorf("%v", v) }

var _ smtp.Logger = errorLogger{}

// writeLine writes a reply outside go-smtp (refusals before the banner).
func writeLine(c net.Conn, line string) {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, line+"\r\n")
}

// customBanner is the greeting a policy's custom SMTP response asks for
// ("" when none): each line of the text behind the code, continuation
// lines marked with '-', the first naming the host as RFC 5321 wants.
func customBanner(p config.HATParams, host string) string {
	if strings.TrimSpace(p.BannerText) == "" {
		return ""
	}
	code := p.BannerCode
	if code < 200 || code > 299 {
		code = 220
	}
	lines := strings.Split(strings.ReplaceAll(strings.TrimRight(p.BannerText, "\n"), "\r", ""), "\n")
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if i == 0 {
			l = host + " " + l
		}
		fmt.Fprintf(&b, "%d%s%s\r\n", code, sep, l)
	}
	return b.String()
}
