package websecurityconfig

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"esash/config"
	"esash/shell"
)

// The TEST connection: the client certificate set for Cisco Web Security
// Services Authentication is what the appliance presents to the service
// (the seed guide's "URL filtering" step). esash has no URL filtering
// engine to use it, so "websecurityconfig test [host[:port]]" is where it
// is used: a TLS connection to the service presenting that certificate,
// the service's certificate verified against the trusted CA lists, and one
// HTTPS request, each step reported. It tests the staged configuration,
// so a certificate can be tried before it is committed.

// defaultService is the Cisco Web Security Services host the test
// reaches when none is given. [U] Cisco's URL filtering documents name
// v2.sds.cisco.com:443 as the reputation service; websecurityadvancedconfig
// (not in esash) sets it on AsyncOS.
const defaultService = "v2.sds.cisco.com:443"

// testTimeout bounds the whole test.
const testTimeout = 15 * time.Second

// test runs the TEST connection to args[0] (or the default service).
func test(s *shell.Session, args []string) error {
	if len(args) > 1 {
		return shell.Invalid(s, "websecurityconfig test", "takes at most one argument, the service's host[:port]")
	}
	addr := defaultService
	if len(args) == 1 {
		addr = args[0]
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "443")
	}
	cfg := s.Draft.Config()
	s.Printf("Testing the connection to Cisco Web Security Services at %s.\n", addr)
	tc, name, err := clientTLS(cfg, addr)
	if err != nil {
		s.Printf("The connection to Cisco Web Security Services failed: %s.\n", err)
		return nil
	}
	if name == "" {
		s.Println("No client certificate is set for Cisco Web Security Services Authentication.")
	}
	ctx, cancel := context.WithTimeout(s.Ctx, testTimeout)
	defer cancel()
	if err := connect(ctx, s, tc, addr, name); err != nil {
		s.Printf("The connection to Cisco Web Security Services failed: %s.\n", strings.TrimSuffix(err.Error(), "."))
		return nil
	}
	s.Println("The connection to Cisco Web Security Services succeeded.")
	return nil
}

// clientTLS is the TLS client configuration of the test: the client
// certificate of websecurityconfig, the server verified after the
// handshake (so that its result is reported, not just a failure).
func clientTLS(cfg *config.Config, addr string) (*tls.Config, string, error) {
	host, _, _ := net.SplitHostPort(addr)
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if net.ParseIP(host) == nil {
		tc.ServerName = host
	}
	name := cfg.WebSecurity.ClientCertificate
	if name == "" {
		return tc, "", nil
	}
	for _, ct := range cfg.Certificates {
		if ct.Name != name {
			continue
		}
		if ct.KeyPEM == "" {
			return nil, "", fmt.Errorf("certificate %s has no private key", name)
		}
		chain := ct.CertPEM + strings.Join(ct.Intermediates, "")
		pair, err := tls.X509KeyPair([]byte(chain), []byte(ct.KeyPEM))
		if err != nil {
			return nil, "", fmt.Errorf("certificate %s: %w", name, err)
		}
		tc.Certificates = []tls.Certificate{pair}
		return tc, name, nil
	}
	return nil, "", fmt.Errorf("certificate %s does not exist", name)
}

// connect handshakes, reports each step and sends one request.
func connect(ctx context.Context, s *shell.Session, tc *tls.Config, addr, name string) error {
	asked := false
	get := tc.GetClientCertificate
	tc.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		if len(tc.Certificates) > 0 {
			return &tc.Certificates[0], nil
		}
		if get != nil {
			return get(cri)
		}
		return &tls.Certificate{}, nil
	}
	if len(tc.Certificates) > 0 {
		if leaf, err := x509.ParseCertificate(tc.Certificates[0].Certificate[0]); err == nil {
			s.Printf("Client certificate for Cisco Web Security Services Authentication: %s (%s).\n", name, leaf.Subject)
		}
	}
	// The service is verified before the client certificate is sent
	// (VerifyConnection runs on the server's Certificate message).
	tc.VerifyConnection = func(st tls.ConnectionState) error { return verifyServer(s, st, addr) }
	d := tls.Dialer{NetDialer: &net.Dialer{}, Config: tc}
	nc, err := d.DialContext(ctx, "tcp", addr)
	var untrusted *untrustedError
	if errors.As(err, &untrusted) {
		return untrusted
	}
	if err != nil {
		reportAsked(s, asked, name)
		return errors.New(reason(err))
	}
	defer nc.Close()
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	conn := nc.(*tls.Conn)
	st := conn.ConnectionState()
	s.Printf("TLS connection established: protocol %s, cipher %s.\n", tlsVersion(st.Version), tls.CipherSuiteName(st.CipherSuite))
	// TLS 1.3 sends the client certificate after the handshake the client
	// sees: a refusal arrives with the first answer.
	host, _, _ := net.SplitHostPort(addr)
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: esash websecurityconfig test\r\nConnection: close\r\n\r\n", host)
	status, err := bufio.NewReader(conn).ReadString('\n')
	reportAsked(s, asked, name)
	if err != nil {
		return errors.New(reason(err))
	}
	s.Printf("The service answered: %s.\n", strings.TrimSpace(status))
	return nil
}

// untrustedError is a service whose certificate is not trusted: nothing
// more is sent to it.
type untrustedError struct{ why string }

func (e *untrustedError) Error() string { return "the service's certificate is not trusted: " + e.why }

// verifyServer reports whether the service's certificate chains to a
// trusted CA of the configuration and names the host.
func verifyServer(s *shell.Session, st tls.ConnectionState, addr string) error {
	if len(st.PeerCertificates) == 0 {
		s.Println("Server certificate not verified: no certificate.")
		return &untrustedError{"no certificate"}
	}
	leaf := st.PeerCertificates[0]
	host, _, _ := net.SplitHostPort(addr)
	roots, err := s.Draft.Config().CAs.Pool(x509.SystemCertPool)
	if err != nil {
		s.Printf("Server certificate not verified: the trusted CA list: %s.\n", reason(err))
		return &untrustedError{reason(err)}
	}
	opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
	for _, c := range st.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		s.Printf("Server certificate not verified: %s: %s.\n", leaf.Subject, reason(err))
		return &untrustedError{reason(err)}
	}
	s.Printf("Server certificate verified: %s.\n", leaf.Subject)
	return nil
}

func reportAsked(s *shell.Session, asked bool, name string) {
	switch {
	case !asked:
		s.Println("The service did not request a client certificate.")
	case name == "":
		s.Println("The service requested a client certificate; none was presented.")
	default:
		s.Printf("The service requested a client certificate; %s was presented.\n", name)
	}
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
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
	return strings.TrimPrefix(strings.TrimSuffix(err.Error(), "."), "tls: ")
}
