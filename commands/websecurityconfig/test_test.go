package websecurityconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
	"esash/shell/shelltest"
)

// testCA issues the certificates of one test: the service's and the
// appliance's client certificate.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "WSS test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue makes a certificate profile named name for cn.
func (ca *testCA) issue(t *testing.T, name, cn string, usage x509.ExtKeyUsage, ips ...net.IP) config.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	return config.Certificate{Name: name,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))}
}

// wssServer is an HTTPS service that requires a client certificate from
// ca and reports, to the client and to the test, the one presented.
type wssServer struct {
	addr string
	mu   sync.Mutex
	seen []string // subjects of the certificates presented
}

func startWSS(t *testing.T, ca *testCA) *wssServer {
	srvCert := ca.issue(t, "wss", "wss.test", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	pair, err := tls.X509KeyPair([]byte(srvCert.CertPEM), []byte(srvCert.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	w := &wssServer{addr: ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		subj := r.TLS.PeerCertificates[0].Subject.String()
		w.mu.Lock()
		w.seen = append(w.seen, subj)
		w.mu.Unlock()
		fmt.Fprintf(rw, "client certificate %s\n", subj)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return w
}

func (w *wssServer) presented() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

// TestTest: "websecurityconfig test" connects to the service with the
// client certificate set for Cisco Web Security Services Authentication
// (the seed guide's "URL filtering" step); the service, which requires
// one, sees that certificate. Without it the service refuses the
// connection and the test says so.
func TestTest(t *testing.T) {
	ca := newCA(t)
	client := ca.issue(t, "wss_client", "esa.example.com", x509.ExtKeyUsageClientAuth)
	w := startWSS(t, ca)
	edit := func(cert string) func(*config.Config) {
		return func(c *config.Config) {
			c.Certificates = append(c.Certificates, client)
			if cert != "untrusted" {
				c.CAs = config.TrustedCAs{CustomEnabled: true, Custom: []config.CA{{Name: "WSS test CA", PEM: ca.pem}}}
			} else {
				cert = "wss_client"
			}
			c.WebSecurity = config.WebSecurity{URLFiltering: true, ClientCertificate: cert}
		}
	}
	for _, tc := range []struct {
		name    string
		cert    string
		want    []string
		seen    int
		exit    int
		notWant string
	}{
		{"with the client certificate", "wss_client", []string{
			"Testing the connection to Cisco Web Security Services at " + w.addr + ".",
			`Client certificate for Cisco Web Security Services Authentication: wss_client (CN=esa.example.com).`,
			"TLS connection established: protocol TLSv1.3",
			"Server certificate verified: CN=wss.test.",
			"The service requested a client certificate; wss_client was presented.",
			"The service answered: HTTP/1.1 200 OK.",
			"The connection to Cisco Web Security Services succeeded.",
		}, 1, 0, "failed"},
		{"without one", "", []string{
			"No client certificate is set for Cisco Web Security Services Authentication.",
			"The service requested a client certificate; none was presented.",
			"The connection to Cisco Web Security Services failed: ",
		}, 0, 0, "succeeded"},
		{"service not trusted: the certificate is not sent", "untrusted", []string{
			"Server certificate not verified: CN=wss.test: x509: certificate signed by unknown authority.",
			"The connection to Cisco Web Security Services failed: the service's certificate is not trusted: x509: certificate signed by unknown authority.",
		}, 0, 0, "requested a client certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.presented())
			a := shelltest.NewAppliance(t, shelltest.Options{Factory: edit(tc.cert)}, New())
			out, code, _ := a.Run(false, "websecurityconfig test "+w.addr+"\n")
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, tc.notWant) {
				t.Errorf("output has %q:\n%s", tc.notWant, out)
			}
			if code != tc.exit {
				t.Errorf("exit %d, want %d", code, tc.exit)
			}
			seen := w.presented()[before:]
			if len(seen) != tc.seen || tc.seen == 1 && seen[0] != "CN=esa.example.com" {
				t.Errorf("the service saw %q", seen)
			}
		})
	}
}
