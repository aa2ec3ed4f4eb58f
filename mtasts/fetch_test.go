package mtasts

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testCA is a root that signs the policy servers' certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newCA(t testing.TB) testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mtasts test root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return testCA{cert: c, key: key}
}

func (ca testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func (ca testCA) leaf(t testing.TB, name string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(23 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// policyServer serves h over HTTPS on loopback with a certificate for
// certName; the fetcher's Dial sends every host there.
func policyServer(t testing.TB, ca testCA, certName string, h http.HandlerFunc) Fetcher {
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, certName)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	return Fetcher{Roots: ca.pool(), Timeout: 10 * time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
}

const goodPolicy = "version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.test\r\nmax_age: 86400\r\n"

func serve(ctype, body string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if status == http.StatusMovedPermanently {
			http.Redirect(w, r, "https://elsewhere.test/policy", status)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func TestFetch(t *testing.T) {
	ca := newCA(t)
	other := newCA(t)
	tests := []struct {
		name     string
		certName string
		handler  http.HandlerFunc
		roots    *x509.CertPool
		err      string // "" = fetched goodPolicy
	}{
		{name: "valid", certName: "mta-sts.sts.test", handler: serve("text/plain; charset=utf-8", goodPolicy, 200)},
		{name: "certificate for another name", certName: "www.sts.test", handler: serve("text/plain", goodPolicy, 200), err: "certificate is valid for www.sts.test"},
		{name: "untrusted CA", certName: "mta-sts.sts.test", handler: serve("text/plain", goodPolicy, 200), roots: other.pool(), err: "unknown authority"},
		{name: "redirect not followed", certName: "mta-sts.sts.test", handler: serve("text/plain", goodPolicy, http.StatusMovedPermanently), err: "HTTP status 301"},
		{name: "not found", certName: "mta-sts.sts.test", handler: serve("text/plain", "", 404), err: "HTTP status 404"},
		{name: "media type", certName: "mta-sts.sts.test", handler: serve("text/html", goodPolicy, 200), err: "not text/plain"},
		{name: "too large", certName: "mta-sts.sts.test", handler: serve("text/plain", goodPolicy+strings.Repeat("x: y\n", MaxPolicySize/5+1), 200), err: "larger than 65536"},
		{name: "invalid policy", certName: "mta-sts.sts.test", handler: serve("text/plain", "version: STSv1\nmode: enforce\n", 200), err: "invalid MTA-STS policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := policyServer(t, ca, tc.certName, tc.handler)
			if tc.roots != nil {
				f.Roots = tc.roots
			}
			p, err := f.Fetch(context.Background(), "sts.test")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Fetch = %+v, %v; want an error with %q", p, err, tc.err)
				}
				if !errors.Is(err, ErrFetch) && !errors.Is(err, ErrPolicy) {
					t.Fatalf("error %v is neither ErrFetch nor ErrPolicy", err)
				}
				return
			}
			if err != nil || p.Mode != ModeEnforce || len(p.MX) != 1 || p.MaxAge != 86400 {
				t.Fatalf("Fetch = %+v, %v", p, err)
			}
		})
	}
}
