package web

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestACMEChallenges: the HTTPS port answers a TLS-ALPN-01 validation
// (acme-tls/1 for a name with a pending challenge) with the challenge
// certificate and that protocol, and every other handshake as before; a
// plain HTTP port answers HTTP-01 paths through the hook.
func TestACMEChallenges(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	cfg.Interfaces[0].HTTP.Enabled = true
	chal := selfSigned(t, "chal", "pending.example.test")
	chalCert, err := tls.X509KeyPair([]byte(chal.CertPEM), []byte(chal.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	newServer(t, cfg, Options{ACME: ACMEHooks{
		Challenge: func(h *tls.ClientHelloInfo) (*tls.Certificate, bool) {
			return &chalCert, h.ServerName == "pending.example.test"
		},
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "key-authorization") }),
	}})
	addr := addrPort(ip, 8443)
	for _, tc := range []struct {
		name, sni string
		protos    []string
		wantChal  bool
	}{
		{"validation", "pending.example.test", []string{acmeProtocol}, true},
		{"acme-tls/1 for another name", host, []string{acmeProtocol}, false},
		{"browser for the pending name", "pending.example.test", []string{"http/1.1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: tc.sni, NextProtos: tc.protos})
			if err != nil {
				if tc.wantChal {
					t.Fatal(err)
				}
				return // no common protocol: refused, not answered with the challenge
			}
			defer c.Close()
			st := c.ConnectionState()
			got := st.PeerCertificates[0].Subject.CommonName == "pending.example.test"
			if got != tc.wantChal || tc.wantChal && st.NegotiatedProtocol != acmeProtocol {
				t.Errorf("served %q with protocol %q, want challenge %v", st.PeerCertificates[0].Subject.CommonName, st.NegotiatedProtocol, tc.wantChal)
			}
		})
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addrPort(ip, 8080) + "/.well-known/acme-challenge/token")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "key-authorization" {
		t.Errorf("HTTP-01 answer %q", body)
	}
}

// TestACMEStatusRows: the certificates are listed by days left, and an
// ACME profile shows the manager's state.
func TestACMEStatusRows(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	cfg := testConfig(t, testIP(), p, other)
	cfg.Certificates[1].ACME.DirectoryURL = "https://acme.example.net/dir"
	s, err := New(Options{ACME: ACMEHooks{Status: func(n string) (ACMEState, bool) {
		return ACMEState{State: "failing", LastError: "CA unreachable", NextAttempt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			FailedAt: time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)}, n == cfg.Certificates[1].Name
	}}})
	if err != nil {
		t.Fatal(err)
	}
	certs := s.acmeViews(cfg, []certView{{Name: "Full", DaysLeft: 300}, {Name: cfg.Certificates[1].Name, DaysLeft: 3}, {Name: "Other", DaysLeft: 40}})
	var order []string
	for _, c := range certs {
		order = append(order, c.Name)
	}
	if strings.Join(order, ",") != cfg.Certificates[1].Name+",Other,Full" {
		t.Errorf("order %v, want fewest days first", order)
	}
	if !strings.Contains(certs[0].ACME, "failing") || !strings.Contains(certs[0].ACME, "last error 2026-11-30 23:00 UTC: CA unreachable") ||
		!strings.Contains(certs[0].ACME, "next renewal 2026-12-01") || certs[1].ACME != "" {
		t.Errorf("ACME column %q / %q", certs[0].ACME, certs[1].ACME)
	}
}
