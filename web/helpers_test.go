package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"esash/config"
	"esash/pki"
	"esash/web/webtest"
)

// testPKI is webtest's chain with the profiles the tests assign.
type testPKI struct{ *webtest.PKI }

func newPKI(t testing.TB, cn string, hosts ...string) *testPKI {
	return &testPKI{webtest.NewPKI(t, cn, hosts...)}
}

// profile is the certificate profile of the leaf, with or without the
// intermediate (the root is added too when withRoot: it must not be
// served).
func (p *testPKI) profile(name string, withInter, withRoot bool) config.Certificate {
	ct := config.Certificate{Name: name, CertPEM: p.LeafPEM, KeyPEM: p.LeafKeyPEM}
	if withInter {
		ct.Intermediates = append(ct.Intermediates, p.InterPEM)
	}
	if withRoot {
		ct.Intermediates = append(ct.Intermediates, p.RootPEM)
	}
	return ct
}

func (p *testPKI) pool() *x509.CertPool { return p.Pool() }

var ipSeq atomic.Uint32

// testIP hands out 127.47.P.N: P from the process, so that test binaries
// running at the same time do not share addresses.
func testIP() string {
	n := ipSeq.Add(1)
	return fmt.Sprintf("127.47.%d.%d", os.Getpid()%250+1, n%250+1)
}

// Passwords in tests are hashed at the lowest cost: the check itself is
// the wiring's (the shell's), this only stands in for it.
func hashPW(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func checkPW(hash, pw string) bool {
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

const (
	adminPW = "correct-horse-1"
	host    = "esa.test"
)

// testConfig is an appliance with one interface serving HTTPS on ip:8443
// with the profile "Full" (leaf + intermediate), and the profiles
// "NoInter" (leaf only) and "Other" (another PKI's leaf) on the side.
func testConfig(t testing.TB, ip string, p, other *testPKI) *config.Config {
	t.Helper()
	return &config.Config{
		Hostname: host,
		Interfaces: []config.Interface{{
			Name: "Management", IPv4: ip, PrefixLen: 8, Hostname: host,
			SSH:   config.Service{Enabled: true, Port: 2222},
			HTTP:  config.Service{Enabled: false, Port: 8080},
			HTTPS: config.Service{Enabled: true, Port: 8443}, HTTPSCert: "Full",
		}},
		Listeners: []config.Listener{listener("IncomingMail", "Full")},
		Certificates: []config.Certificate{p.profile("Full", true, true), p.profile("NoInter", false, false),
			other.profile("Other", true, false)},
		CAs: config.TrustedCAs{SystemEnabled: true, CustomEnabled: true,
			Custom: []config.CA{{Name: "root", PEM: p.RootPEM}}},
		Destinations: config.Destinations{Certificate: "Full",
			Default: config.DestControl{Domain: "DEFAULT", TLS: config.TLSOutNo, DANE: "off"},
			Entries: []config.DestControl{{Domain: "partner.example", TLS: config.TLSOutRequiredVerify},
				{Domain: "other.example"}}},
		Users: []config.User{
			{Name: "admin", Role: config.RoleAdmin, PasswordHash: hashPW(t, adminPW)},
			{Name: "viewer", Role: config.RoleReadOnly, PasswordHash: hashPW(t, "viewer-pass-1")},
			{Name: "nopass", Role: config.RoleAdmin},
		},
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newServer starts a server on cfg; it is closed when the test ends.
func newServer(t testing.TB, cfg *config.Config, o Options) *Server {
	t.Helper()
	if o.CheckPassword == nil {
		o.CheckPassword = checkPW
	}
	if o.Log == nil {
		o.Log = func(format string, args ...any) { t.Logf("web: "+format, args...) }
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	if err := s.Start(cfg); err != nil {
		t.Fatal(err)
	}
	return s
}

// handshake connects to addr as a TLS client trusting pool and returns
// the chain the server sent (nil and the error when verification fails).
func handshake(t testing.TB, addr string, pool *x509.CertPool) ([]*x509.Certificate, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: host})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates, nil
}

// client is a browser stand-in: it trusts pool, resolves esa.test to ip
// and keeps cookies. It does not follow redirects, so tests see them.
func client(t testing.TB, ip string, pool *x509.CertPool) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		},
		DisableKeepAlives: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func addrPort(ip string, port int) string {
	return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String()
}

func newTLSTestServer(t testing.TB, h http.Handler) *httptest.Server {
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func newPlainTestServer(t testing.TB, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func cookieJar() (http.CookieJar, error) { return cookiejar.New(nil) }

func listener(name, cert string) config.Listener {
	l := config.FactoryListener(name, config.Public, "Management", 2525)
	l.Certificate = cert
	return l
}

// selfSigned is a profile like the factory Demo certificate.
func selfSigned(t testing.TB, name, cn string) config.Certificate {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.SelfSigned(key, pki.Subject{CommonName: cn, Organization: "esash", Country: "US"}, 365, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	return config.Certificate{Name: name, CertPEM: string(pki.EncodeCertificatePEM(cert)), KeyPEM: string(keyPEM)}
}
