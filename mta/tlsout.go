package mta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"esash/config"
	"esash/pki"
	"esash/resolver"
)

// The outbound SMTP client. It is a small plaintext client of its own
// rather than go-smtp's: it must see exactly what happens around STARTTLS
// (the extension missing from EHLO, a refusal before the 220, bytes
// injected after it) to apply the destination's TLS policy, and go-smtp's
// client says EHLO localhost before STARTTLS and reports handshake errors
// only on the next command.

// smtpReply is one (possibly multi-line) SMTP reply.
type smtpReply struct {
	Code int
	Text string // lines joined by "\n"
}

// plain is the reply text without its enhanced status code.
func (r smtpReply) plain() string {
	t := strings.ReplaceAll(r.Text, "\n", " ")
	if e := r.enhanced(); strings.HasPrefix(t, e+" ") {
		return t[len(e)+1:]
	}
	return t
}

func (r smtpReply) String() string {
	return fmt.Sprintf("%d %s", r.Code, strings.ReplaceAll(r.Text, "\n", " "))
}

// enhanced returns the reply's enhanced status code ("4.7.0") or a
// generic one for its class.
func (r smtpReply) enhanced() string {
	f := strings.Fields(r.Text)
	if len(f) > 0 {
		p := strings.Split(f[0], ".")
		if len(p) == 3 && (p[0] == "2" || p[0] == "4" || p[0] == "5") {
			return f[0]
		}
	}
	return fmt.Sprintf("%d.0.0", r.Code/100)
}

// smtpConn is one outbound SMTP connection.
type smtpConn struct {
	raw     net.Conn
	conn    net.Conn // raw, or the TLS connection over it
	br      *bufio.Reader
	tp      *textproto.Conn
	ext     map[string]string
	tls     *tls.ConnectionState
	timeout time.Duration
}

func newSMTPConn(c net.Conn, timeout time.Duration) *smtpConn {
	sc := &smtpConn{raw: c, timeout: timeout}
	sc.setConn(c)
	return sc
}

func (c *smtpConn) setConn(nc net.Conn) {
	c.conn = nc
	c.br = bufio.NewReader(nc)
	// One buffered reader only, so that what the server sent after a
	// reply is visible (Buffered) to the STARTTLS check.
	c.tp = &textproto.Conn{Reader: *textproto.NewReader(c.br), Writer: *textproto.NewWriter(bufio.NewWriterSize(nc, outWriteBuf))}
}

func (c *smtpConn) deadline() {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

func (c *smtpConn) read() (smtpReply, error) {
	c.deadline()
	code, msg, err := c.tp.ReadResponse(0)
	var perr textproto.ProtocolError
	if err != nil && (errors.As(err, &perr) || code == 0) {
		return smtpReply{}, err
	}
	return smtpReply{Code: code, Text: msg}, nil
}

func (c *smtpConn) cmd(format string, args ...any) (smtpReply, error) {
	c.deadline()
	if err := c.tp.PrintfLine(format, args...); err != nil {
		return smtpReply{}, err
	}
	return c.read()
}

// ehlo says EHLO and records the extensions; a refused EHLO falls back to
// HELO (no extensions).
func (c *smtpConn) ehlo(name string) (smtpReply, error) {
	r, err := c.cmd("EHLO %s", name)
	if err != nil {
		return r, err
	}
	c.ext = map[string]string{}
	if r.Code != 250 {
		r, err = c.cmd("HELO %s", name)
		if err == nil && r.Code != 250 {
			err = &replyError{r}
		}
		return r, err
	}
	lines := strings.Split(r.Text, "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		c.ext[strings.ToUpper(k)] = v
	}
	return r, nil
}

func (c *smtpConn) has(ext string) bool { _, ok := c.ext[ext]; return ok }

// pipelined reports whether the server offered PIPELINING (RFC 2920).
func (c *smtpConn) pipelined() bool { return c.has("PIPELINING") }

// replyError is an unexpected SMTP reply.
type replyError struct{ r smtpReply }

func (e *replyError) Error() string { return e.r.String() }

// errInjected is the TLS-6 case: the server sent bytes after its 220 to
// STARTTLS, before the handshake; they are never taken as answers.
var errInjected = errors.New("unexpected data after the STARTTLS reply (possible command injection)")

// startTLSResult is how a STARTTLS attempt ended.
type startTLSResult int

const (
	tlsOK         startTLSResult = iota
	tlsNotOffered                // the EHLO reply has no STARTTLS
	tlsRefused                   // STARTTLS answered with something other than 220: the session goes on in clear
	tlsBroken                    // failure after the 220 (or I/O error): the connection is unusable
)

// startTLS issues STARTTLS and handshakes. On tlsRefused the connection
// is still in its plaintext SMTP state and the error is the reply
// (*replyError).
func (c *smtpConn) startTLS(cfg *tls.Config, handshakeTimeout time.Duration) (startTLSResult, string, error) {
	if !c.has("STARTTLS") {
		return tlsNotOffered, "STARTTLS not offered", nil
	}
	r, err := c.cmd("STARTTLS")
	if err != nil {
		return tlsBroken, err.Error(), err
	}
	if r.Code != 220 {
		return tlsRefused, "STARTTLS command rejected: " + r.String(), &replyError{r}
	}
	if c.br.Buffered() > 0 {
		return tlsBroken, errInjected.Error(), errInjected
	}
	tc := tls.Client(c.raw, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return tlsBroken, handshakeReason(err), err
	}
	st := tc.ConnectionState()
	c.tls = &st
	c.setConn(tc)
	return tlsOK, "", nil
}

func handshakeReason(err error) string {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return alertText(byte(ae))
	}
	return strings.TrimPrefix(err.Error(), "tls: ")
}

func (c *smtpConn) quit() {
	c.conn.SetDeadline(time.Now().Add(2 * time.Second))
	c.tp.PrintfLine("QUIT")
	c.tp.ReadResponse(0)
}

func (c *smtpConn) close() { c.conn.Close() }

// send writes lines in one flush (a pipelined group, RFC 2920, or one
// command), without reading.
func (c *smtpConn) send(lines ...string) error {
	c.deadline()
	w := c.tp.W
	for _, l := range lines {
		w.WriteString(l)
		w.WriteString("\r\n")
	}
	return w.Flush()
}

// body sends the message, dot-stuffed, once DATA was answered 354, and
// returns the final reply.
func (c *smtpConn) body(msg []byte) (smtpReply, error) {
	if c.timeout > 0 {
		c.conn.SetDeadline(time.Now().Add(c.timeout + time.Duration(len(msg)/1024)*time.Millisecond))
	}
	if err := writeDotStuffed(c.tp.W, msg); err != nil {
		return smtpReply{}, err
	}
	return c.read()
}

// outWriteBuf is the outbound connection's write buffer: a 100 KiB
// message goes out in a few TLS records of the maximum size and as many
// writes, not one of each per 4 KiB.
const outWriteBuf = 32 << 10

// writeDotStuffed writes msg as DATA's content and the final ".",
// as textproto's DotWriter does (a line starting with "." gets another,
// a bare LF becomes CRLF, an unterminated last line is ended; only a line
// ending in CR CR LF is sent as it is, where DotWriter adds a CR), but a
// line at a time where DotWriter goes byte by byte through the buffer (a
// fifth of the delivery's CPU at 100 KiB, issue 17). Then it flushes.
func writeDotStuffed(w *bufio.Writer, msg []byte) error {
	if len(msg) == 0 {
		w.WriteString("\r\n")
	}
	for len(msg) > 0 {
		if msg[0] == '.' {
			w.WriteByte('.')
		}
		i := bytes.IndexByte(msg, '\n')
		if i < 0 { // the last line, unterminated
			w.Write(msg)
			if msg[len(msg)-1] != '\r' {
				w.WriteByte('\r')
			}
			w.WriteByte('\n')
			break
		}
		if i > 0 && msg[i-1] == '\r' {
			w.Write(msg[:i+1])
		} else {
			w.Write(msg[:i])
			w.WriteString("\r\n")
		}
		msg = msg[i+1:]
	}
	w.WriteString(".\r\n")
	return w.Flush()
}

// outTLS is what outbound TLS needs from a configuration.
type outTLS struct {
	roots      *x509.CertPool
	rootsErr   error
	clientCert *tls.Certificate
	// clientCertErr is why destconfig's client certificate is not
	// offered: delivery goes on without it, and says so (outConfig).
	clientCertErr error
	policy        config.TLSPolicy // sslconfig OUTBOUND (build refuses a bad one)
	// sessions caches the servers' session tickets, so that a new
	// connection to a server seen under this configuration resumes
	// (no certificate sent, no signature made). The policy's checks
	// still run on every connection, on the certificates of the session
	// (Go keeps them with the ticket); a new configuration starts empty.
	sessions tls.ClientSessionCache
}

// outSessions bounds the session tickets kept (one per server name, or
// address when there is none).
const outSessions = 1024

func buildOutTLS(cfg *config.Config, system func() (*x509.CertPool, error)) outTLS {
	var o outTLS
	o.sessions = tls.NewLRUClientSessionCache(outSessions)
	o.policy, _ = cfg.SSL.OutboundPolicy()
	o.roots, o.rootsErr = cfg.CAs.Pool(system)
	if name := cfg.Destinations.Certificate; name != "" {
		o.clientCertErr = fmt.Errorf("destconfig client certificate: certificate profile %q does not exist", name)
		for _, ct := range cfg.Certificates {
			if ct.Name == name {
				o.clientCertErr = nil
				c, err := loadCertificate(ct)
				if err != nil {
					o.clientCertErr = fmt.Errorf("destconfig client certificate: certificate profile %s: %w", name, err)
					break
				}
				o.clientCert = c
			}
		}
	}
	return o
}

func (o outTLS) config(serverName string) *tls.Config {
	cfg := &tls.Config{
		// Verification is the policy's business (verifyPeer), done after
		// the handshake so that Preferred - Verify can go on unverified.
		InsecureSkipVerify: true,
		ClientSessionCache: o.sessions,
	}
	o.policy.Apply(cfg)
	if _, err := netip.ParseAddr(serverName); err != nil && serverName != "" {
		cfg.ServerName = serverName
	}
	if o.clientCert != nil {
		c := o.clientCert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
	}
	return cfg
}

// verifyPeer applies the Verify checks: the chain reaches a trusted root
// and one of names (the MX host, the domain) matches the certificate.
// It returns the name matched.
func verifyPeer(st *tls.ConnectionState, roots *x509.CertPool, now time.Time, names ...string) (string, error) {
	if len(st.PeerCertificates) == 0 {
		return "", errors.New("no certificate from peer")
	}
	if roots == nil {
		roots = x509.NewCertPool()
	}
	leaf := st.PeerCertificates[0]
	rep, err := pki.BuildChain(leaf, st.PeerCertificates[1:], roots, now)
	if err != nil {
		return "", fmt.Errorf("certificate chain not verified: %v", err)
	}
	if !rep.Trusted {
		return "", errors.New("certificate chain not verified: unable to get local issuer certificate")
	}
	var last error
	for _, n := range names {
		if n == "" {
			continue
		}
		if err := pki.VerifyHostname(leaf, strings.TrimSuffix(n, ".")); err == nil {
			return n, nil
		} else {
			last = err
		}
	}
	if last == nil {
		last = errors.New("no name to match")
	}
	return "", fmt.Errorf("certificate name mismatch: %v", last)
}

// target is one address to deliver to.
type target struct {
	host string // MX or route host name ("" for an IP literal)
	ip   string
	port int
	// tlsaBase is the name whose TLSA records apply (RFC 7672 §2.2.2):
	// host, when DNSSEC authenticated the way to it; "" when DANE cannot
	// apply (dane.go).
	tlsaBase string
	// stsMX: an enforced MTA-STS policy selected this MX; the
	// certificate must name it, not the domain (mtasts.go).
	stsMX bool
}

// targets resolves where mail to domain goes: the SMTP route, else MX
// records, else the domain's own addresses, through dnsconfig's resolver.
func targets(ctx context.Context, res *resolver.Resolver, routes *config.RouteIndex, domain string, mxPort int) ([]target, bool, error) {
	var out []target
	// secure: the name itself is trusted (a route, the domain, an MX
	// from an authenticated answer); its addresses must be too for DANE.
	addHost := func(h string, port int, secure bool) error {
		if port == 0 {
			port = 25
		}
		if a, err := netip.ParseAddr(h); err == nil {
			out = append(out, target{ip: a.String(), port: port})
			return nil
		}
		ips, sec, err := res.LookupIP(ctx, h)
		if err != nil {
			return err
		}
		for _, ip := range ips {
			t := target{host: h, ip: ip.String(), port: port}
			if secure && sec {
				t.tlsaBase = h
			}
			out = append(out, t)
		}
		return nil
	}
	if r, ok := routes.RouteFor(domain); ok && !r.UsesDNS() {
		if r.Discards() {
			return nil, true, nil
		}
		var last error
		for _, h := range r.Hosts {
			if err := addHost(h.Host, h.Port, true); err != nil {
				last = err
			}
		}
		if len(out) == 0 && last != nil {
			return nil, false, last
		}
		return out, false, nil
	}
	mxs, secure, err := res.LookupMX(ctx, domain)
	var de *net.DNSError
	if err != nil && !(errors.As(err, &de) && de.IsNotFound) {
		return nil, false, err // a temporary failure is no proof there is no MX
	}
	if err == nil && len(mxs) > 0 {
		var last error
		for _, mx := range mxs {
			if mx.Host == "." {
				return nil, false, &noSuchDomain{fmt.Sprintf("domain %s accepts no mail (null MX)", domain)}
			}
			if err := addHost(strings.TrimSuffix(mx.Host, "."), mxPort, secure); err != nil {
				last = err
			}
		}
		if len(out) == 0 && last != nil {
			return nil, false, last
		}
		return out, false, nil
	}
	if err := addHost(domain, mxPort, true); err != nil {
		if errors.As(err, &de) && de.IsNotFound {
			// Neither MX nor address records (RFC 5321 5.1): the
			// domain cannot receive mail, which no retry will change.
			return nil, false, &noSuchDomain{fmt.Sprintf("domain %s has no MX or address records", domain)}
		}
		return nil, false, err
	}
	return out, false, nil
}

// noSuchDomain is a recipient domain DNS says cannot receive mail: the
// message bounces at once instead of waiting out its time in the queue.
type noSuchDomain struct{ msg string }

func (e *noSuchDomain) Error() string { return e.msg }

func hostPort(t target) string { return net.JoinHostPort(t.ip, strconv.Itoa(t.port)) }
