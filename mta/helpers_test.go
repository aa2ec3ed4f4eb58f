package mta

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/maillog"
)

// testPKI is a root, an intermediate under it, and leaves the
// intermediate signs, made at test time.
type testPKI struct {
	root, inter       *x509.Certificate
	rootKey, interKey crypto.Signer
	RootPEM           string
	InterPEM          string
}

func newKey(t testing.TB) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serial atomic.Int64

func sign(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	tmpl.SerialNumber = big.NewInt(serial.Add(1) + time.Now().UnixNano())
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pemOf(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func keyPEM(t testing.TB, k crypto.Signer) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func newPKI(t testing.TB) *testPKI {
	p := &testPKI{rootKey: newKey(t), interKey: newKey(t)}
	now := time.Now()
	rt := &x509.Certificate{Subject: pkix.Name{CommonName: "esash test root"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.root = sign(t, rt, rt, p.rootKey.Public(), p.rootKey)
	p.inter = sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "esash test intermediate"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, p.root, p.interKey.Public(), p.rootKey)
	p.RootPEM, p.InterPEM = pemOf(p.root), pemOf(p.inter)
	return p
}

// leaf issues a server (and client) certificate profile for names.
func (p *testPKI) leaf(t testing.TB, profile, cn string, names ...string) config.Certificate {
	k := newKey(t)
	now := time.Now()
	c := sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: append([]string{cn}, names...),
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(47 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}, p.inter, k.Public(), p.interKey)
	return config.Certificate{Name: profile, CertPEM: pemOf(c), KeyPEM: keyPEM(t, k), Intermediates: []string{p.InterPEM}}
}

func (p *testPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

var ipSeq atomic.Int32

// testIP is a loopback address of this test process's own, so tests and
// other packages' appliances never compete for a port.
func testIP() string {
	n := ipSeq.Add(1)
	return fmt.Sprintf("127.3.%d.%d", os.Getpid()%250, n%250+1)
}

// baseConfig is the factory configuration on a fresh loopback address,
// with the listener's default policy set to tls.
func baseConfig(t testing.TB, p *testPKI, tlsIn config.TLSIn) *config.Config {
	cert := p.leaf(t, "Demo", "mx.test.local")
	cfg := config.Factory(cert)
	cfg.Interfaces[0].IPv4 = testIP()
	cfg.Interfaces[0].Hostname = "mx.test.local"
	cfg.Listeners[0].DefaultPolicy.TLS = tlsIn
	// The appliance receives mail for the test domains; the factory table
	// (ALL REJECT) would refuse every recipient.
	cfg.Listeners[0].AcceptDomains = []string{".test", "example.com", "example.net"}
	cfg.CAs = config.TrustedCAs{CustomEnabled: true, Custom: []config.CA{{Name: "root", PEM: p.RootPEM}}}
	if probs := config.Validate(cfg, time.Now()); len(probs.Errors()) > 0 {
		t.Fatalf("test configuration invalid: %v", probs.Errors())
	}
	return cfg
}

func addr(cfg *config.Config) string {
	return fmt.Sprintf("%s:%d", cfg.Interfaces[0].IPv4, cfg.Listeners[0].Port)
}

// noDNS answers every lookup with "no such host", at once.
type noDNS struct{}

func (noDNS) LookupAddr(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}
func (noDNS) LookupHost(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

// fakeDNS maps addresses to names and back.
type fakeDNS map[string]string

func (f fakeDNS) LookupAddr(_ context.Context, a string) ([]string, error) {
	if n, ok := f[a]; ok {
		return []string{n + "."}, nil
	}
	return noDNS{}.LookupAddr(nil, a)
}
func (f fakeDNS) LookupHost(_ context.Context, h string) ([]string, error) {
	var out []string
	for a, n := range f {
		if n == h {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return noDNS{}.LookupHost(nil, h)
	}
	return out, nil
}

// startMTA runs an MTA on dir booted with cfg until the test ends.
func startMTA(t testing.TB, dir string, cfg *config.Config, tweak ...func(*Options)) *Server {
	t.Helper()
	o := Options{DataDir: dir, Resolver: noDNS{}, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		SystemRoots: func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }}
	for _, f := range tweak {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	if cfg != nil {
		if err := s.Boot(context.Background(), cfg); err != nil {
			t.Fatalf("boot: %v", err)
		}
	}
	return s
}

// apply commits cfg as the store would: prepare, then activate.
func apply(t testing.TB, s *Server, cfg *config.Config) {
	t.Helper()
	act, _, err := s.Prepare(context.Background(), cfg)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	act()
}

// send delivers one message with go-smtp's client; tlsCfg nil = plain.
func send(t testing.TB, a string, tlsCfg *tls.Config, from string, to []string, body string) error {
	t.Helper()
	var c *smtp.Client
	var err error
	if tlsCfg != nil {
		c, err = smtp.DialStartTLS(a, tlsCfg)
	} else {
		c, err = smtp.Dial(a)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.SendMail(from, to, strings.NewReader(body)); err != nil {
		return err
	}
	return c.Quit()
}

// rawConn is a line-level SMTP conversation for tests that need exact
// control of what is sent.
type rawConn struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t testing.TB, a string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", a, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{t: t, c: c, r: bufio.NewReader(c)}
}

// reply reads one (possibly multi-line) reply.
func (r *rawConn) reply() string {
	r.t.Helper()
	var b strings.Builder
	for {
		line, err := r.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String()
		}
		if len(line) < 4 || line[3] != '-' {
			return b.String()
		}
	}
}

func (r *rawConn) cmd(line string) string {
	r.t.Helper()
	if _, err := r.c.Write([]byte(line + "\r\n")); err != nil {
		r.t.Fatalf("write %q: %v", line, err)
	}
	return r.reply()
}

// logLines reads mail_logs' current file.
func logLines(t testing.TB, dir string) string {
	t.Helper()
	lines, err := maillog.Tail(filepath.Join(dir, "logs"), "mail_logs", "mail", 100000)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// waitLog waits until mail_logs holds want.
func waitLog(t testing.TB, dir, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := logLines(t, dir)
		if strings.Contains(l, want) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("mail_logs lacks %q:\n%s", want, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
