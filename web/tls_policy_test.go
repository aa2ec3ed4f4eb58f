package web

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// TestGUIPolicy: HTTPS handshakes run under sslconfig GUI, and a commit
// changes the next one.
func TestGUIPolicy(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	s := newServer(t, cfg, Options{})
	addr := addrPort(ip, 8443)
	dial := func(c *tls.Config) (tls.ConnectionState, error) {
		c.RootCAs, c.ServerName = p.pool(), host
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
		if err != nil {
			return tls.ConnectionState{}, err
		}
		defer conn.Close()
		return conn.ConnectionState(), nil
	}
	aes256 := "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
	for _, tc := range []struct {
		name    string
		gui     config.SSLService
		client  *tls.Config
		version uint16 // 0: the handshake fails
	}{
		{"default takes TLS 1.2", config.SSLService{}, &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12},
		{"TLS v1.3 only refuses TLS 1.2", config.SSLService{Method: "tlsv1_3"}, &tls.Config{MaxVersion: tls.VersionTLS12}, 0},
		{"TLS v1.3 only takes TLS 1.3", config.SSLService{Method: "tlsv1_3"}, &tls.Config{}, tls.VersionTLS13},
		{"TLS v1.2 only refuses TLS 1.3", config.SSLService{Method: "tlsv1_2"}, &tls.Config{MinVersion: tls.VersionTLS13}, 0},
		{"AES-256 suites only", config.SSLService{Ciphers: aes256}, &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12},
		{"back to the default", config.SSLService{}, &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := *cfg
			next.SSL.GUI = tc.gui
			act, _, err := s.Prepare(context.Background(), &next)
			if err != nil {
				t.Fatal(err)
			}
			act()
			st, err := dial(tc.client)
			if tc.version == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with %s", tls.VersionName(st.Version))
				}
				return
			}
			if err != nil || st.Version != tc.version {
				t.Fatalf("handshake: %v, version %s", err, tls.VersionName(st.Version))
			}
			if want, _ := next.SSL.GUIPolicy(); st.Version == tls.VersionTLS12 &&
				!slices.Contains(config.CipherSuiteIDs(want.Suites), st.CipherSuite) {
				t.Fatalf("negotiated %s, not in the policy", config.CipherSuiteName(st.CipherSuite))
			}
		})
	}
	bad := *cfg
	bad.SSL.GUI.Ciphers = "RC4-MD5"
	if _, _, err := s.Prepare(context.Background(), &bad); err == nil || !strings.Contains(err.Error(), "ssl.gui") {
		t.Fatalf("prepare with a bad GUI policy: %v", err)
	}
}
