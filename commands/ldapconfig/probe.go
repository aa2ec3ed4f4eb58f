package ldapconfig

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"esash/config"
	"esash/resolver"
)

// The "validate setting" check of NEW: connect to the server as the
// appliance would (TLS with the LDAP client certificate and, when SETUP
// asks for it, server certificate validation against the trusted CA
// lists), send an LDAPv3 simple bind with the profile's credentials and
// report the server's answer. Only the bind is implemented: esash has no
// LDAP queries.

// probeTimeout bounds the whole check.
const probeTimeout = 10 * time.Second

// probe connects to srv and binds; it returns the sentence to print.
func probe(ctx context.Context, cfg *config.Config, srv config.LDAPServer) string {
	addr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := dial(ctx, cfg, srv.Host, srv.Port)
	if err != nil {
		return fmt.Sprintf("Could not connect to the LDAP server %s: %s.", addr, reason(err))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if srv.SSL {
		tcfg, err := tlsConfig(cfg, srv.Host)
		if err != nil {
			return fmt.Sprintf("Could not connect to the LDAP server %s: %s.", addr, reason(err))
		}
		tc := tls.Client(conn, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Sprintf("Could not connect to the LDAP server %s: TLS handshake failed: %s.", addr, reason(err))
		}
		conn = tc
	}
	dn, pass := "", ""
	if srv.AuthMethod == config.LDAPAuthPassword {
		dn, pass = srv.BindDN, srv.BindPassword
	}
	if _, err := conn.Write(bindRequest(1, dn, pass)); err != nil {
		return fmt.Sprintf("Could not connect to the LDAP server %s: %s.", addr, reason(err))
	}
	code, diag, err := readBindResponse(bufio.NewReader(conn), 1)
	if err != nil {
		return fmt.Sprintf("The LDAP server %s did not answer the bind: %s.", addr, reason(err))
	}
	if code != 0 {
		msg := fmt.Sprintf("The LDAP server %s refused the bind: result code %d (%s)", addr, code, resultName(code))
		if diag != "" {
			msg += ": " + diag
		}
		return msg + "."
	}
	if dn == "" {
		return fmt.Sprintf("The LDAP server %s accepted an anonymous bind.", addr)
	}
	return fmt.Sprintf("The LDAP server %s accepted the bind as %q.", addr, dn)
}

// dial connects to host:port from the interface of SETUP's "IP interface
// for LDAP traffic" (config.SourceInterface: a named interface, or under
// Auto the one whose network holds the server, else the one the routing
// table sends from, else Management), trying each address of host.
func dial(ctx context.Context, cfg *config.Config, host string, port int) (net.Conn, error) {
	// The host is resolved through dnsconfig's servers, as delivery's are.
	r, err := resolver.New(cfg, resolver.Options{})
	if err != nil {
		return nil, err
	}
	ips, _, err := r.LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	var last error
	for _, ip := range ips {
		_, src, err := cfg.SourceInterface(cfg.LDAP.Interface, ip, routedSource)
		if err != nil {
			last = err
			continue
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(ip.Unmap(), uint16(port)).String())
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// routedSource is the source address the host's routing table uses
// towards to: a UDP "connect" chooses it and sends nothing.
func routedSource(to netip.Addr) (netip.Addr, bool) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, 389)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), true
}

func reason(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	return strings.TrimSuffix(err.Error(), ".")
}

// tlsConfig is the client side of LDAPS: the SETUP certificate, and the
// trusted CA lists when server certificates are validated.
func tlsConfig(cfg *config.Config, host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host, InsecureSkipVerify: !cfg.LDAP.ValidateCert}
	if net.ParseIP(host) != nil {
		tc.ServerName = ""
	}
	if cfg.LDAP.ValidateCert {
		pool, err := cfg.CAs.Pool(x509.SystemCertPool)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
		if tc.ServerName == "" {
			// Validate an address against the certificate's IP SANs.
			tc.InsecureSkipVerify = true
			tc.VerifyConnection = func(cs tls.ConnectionState) error {
				opts := x509.VerifyOptions{Roots: pool, DNSName: host, Intermediates: x509.NewCertPool()}
				for _, c := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(c)
				}
				_, err := cs.PeerCertificates[0].Verify(opts)
				return err
			}
		}
	}
	for _, ct := range cfg.Certificates {
		if ct.Name == cfg.LDAP.Certificate && ct.KeyPEM != "" {
			chain := ct.CertPEM + strings.Join(ct.Intermediates, "")
			pair, err := tls.X509KeyPair([]byte(chain), []byte(ct.KeyPEM))
			if err != nil {
				return nil, fmt.Errorf("certificate %s: %w", ct.Name, err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
	}
	return tc, nil
}

// BER, as much of it as a simple bind needs.

func berLen(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for ; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

func tlv(tag byte, content []byte) []byte {
	return append(append([]byte{tag}, berLen(len(content))...), content...)
}

func berInt(tag byte, v int) []byte {
	var b []byte
	for {
		b = append([]byte{byte(v)}, b...)
		if v >= -128 && v <= 127 {
			break
		}
		v >>= 8
	}
	return tlv(tag, b)
}

// bindRequest is an LDAPv3 simple BindRequest (RFC 4511 4.2).
func bindRequest(id int, dn, password string) []byte {
	op := append(append(berInt(0x02, 3), tlv(0x04, []byte(dn))...), tlv(0x80, []byte(password))...)
	return tlv(0x30, append(berInt(0x02, id), tlv(0x60, op)...))
}

// maxMessage bounds what the check reads from a server.
const maxMessage = 1 << 20

// readTLV reads one LDAPMessage (a SEQUENCE): its tag and content. Lengths may be in any
// BER definite form (servers send four-byte lengths); indefinite lengths
// are not LDAP.
func readTLV(r io.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, fmt.Errorf("reading the reply: %w", err)
	}
	if h[0] != 0x30 {
		return 0, nil, errors.New("the reply is not LDAP")
	}
	n := int(h[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return 0, nil, errors.New("the reply is not LDAP (bad length)")
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return 0, nil, fmt.Errorf("reading the reply: %w", err)
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	if n > maxMessage {
		return 0, nil, errors.New("the reply is too large")
	}
	content := make([]byte, n)
	if _, err := io.ReadFull(r, content); err != nil {
		return 0, nil, fmt.Errorf("reading the reply: %w", err)
	}
	return h[0], content, nil
}

// parseTLV splits one element off b.
func parseTLV(b []byte) (tag byte, content, rest []byte, err error) {
	trunc := errors.New("the reply is not LDAP (truncated element)")
	if len(b) < 2 {
		return 0, nil, nil, trunc
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, trunc
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hdr += k
	}
	if n > len(b)-hdr {
		return 0, nil, nil, trunc
	}
	return b[0], b[hdr : hdr+n], b[hdr+n:], nil
}

func berValue(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 4 {
		return 0, errors.New("the reply is not LDAP (bad integer)")
	}
	v := int(int8(b[0]))
	for _, x := range b[1:] {
		v = v<<8 | int(x)
	}
	return v, nil
}

// readBindResponse reads messages until the BindResponse to id and returns
// its result code and diagnostic message.
func readBindResponse(r io.Reader, id int) (int, string, error) {
	for range 8 { // skip unsolicited notifications, a few at most
		tag, msg, err := readTLV(r)
		if err != nil {
			return 0, "", err
		}
		code, diag, got, err := parseBindResponse(tag, msg)
		if err != nil {
			return 0, "", err
		}
		if got == id {
			return code, diag, nil
		}
	}
	return 0, "", errors.New("no reply to the bind")
}

// parseBindResponse reads one LDAPMessage holding a BindResponse (or an
// unsolicited notification, message ID 0, whose result it also returns).
func parseBindResponse(tag byte, msg []byte) (code int, diag string, id int, err error) {
	bad := func(what string) (int, string, int, error) {
		return 0, "", 0, fmt.Errorf("the reply is not LDAP (%s)", what)
	}
	if tag != 0x30 {
		return bad("not a message")
	}
	t, idb, rest, err := parseTLV(msg)
	if err != nil || t != 0x02 {
		return bad("no message ID")
	}
	if id, err = berValue(idb); err != nil {
		return bad("bad message ID")
	}
	t, op, _, err := parseTLV(rest)
	if err != nil {
		return bad("no operation")
	}
	if t != 0x61 && !(id == 0 && t == 0x78) { // BindResponse, ExtendedResponse
		return bad(fmt.Sprintf("operation tag 0x%02x", t))
	}
	t, cb, rest, err := parseTLV(op)
	if err != nil || t != 0x0a {
		return bad("no result code")
	}
	if code, err = berValue(cb); err != nil {
		return bad("bad result code")
	}
	if t, _, rest, err = parseTLV(rest); err != nil || t != 0x04 {
		return bad("no matched DN")
	}
	t, db, _, err := parseTLV(rest)
	if err != nil || t != 0x04 {
		return bad("no diagnostic message")
	}
	return code, strings.TrimSpace(strings.ToValidUTF8(string(db), "?")), id, nil
}

// resultName names the LDAP result codes a bind meets (RFC 4511 A.1).
func resultName(code int) string {
	names := map[int]string{
		0: "success", 1: "operationsError", 2: "protocolError", 7: "authMethodNotSupported",
		8: "strongerAuthRequired", 13: "confidentialityRequired", 32: "noSuchObject",
		34: "invalidDNSyntax", 48: "inappropriateAuthentication", 49: "invalidCredentials",
		50: "insufficientAccessRights", 51: "busy", 52: "unavailable", 53: "unwillingToPerform",
		80: "other",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return "unknown"
}
