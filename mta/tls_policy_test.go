package mta

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

// starttls runs EHLO and STARTTLS with client, returning the negotiated
// state or the handshake's error.
func starttls(t *testing.T, a string, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	c, err := smtp.DialStartTLS(a, client)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	// The handshake runs with the first command after STARTTLS.
	if err := c.Noop(); err != nil {
		return tls.ConnectionState{}, err
	}
	st, _ := c.TLSConnectionState()
	return st, nil
}

// TestInboundPolicy: the listeners' STARTTLS runs under sslconfig
// INBOUND, and a commit changes the next handshake.
func TestInboundPolicy(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	s := startMTA(t, t.TempDir(), cfg)
	a := addr(cfg)
	tls12 := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
	cbcOnly := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	tls10 := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	for _, tc := range []struct {
		name    string
		inbound config.SSLService
		client  *tls.Config
		version uint16 // 0: the handshake fails
		suite   uint16
	}{
		{"default takes TLS 1.2 with an AEAD suite", config.SSLService{}, tls12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"default refuses CBC suites", config.SSLService{}, cbcOnly, 0, 0},
		{"TLS v1.3 only refuses TLS 1.2", config.SSLService{Method: "tlsv1_3"}, tls12, 0, 0},
		{"TLS v1.3 only takes TLS 1.3", config.SSLService{Method: "tlsv1_3"}, &tls.Config{InsecureSkipVerify: true}, tls.VersionTLS13, 0},
		{"one suite", config.SSLService{Ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384"}, tls12, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
		{"old senders with TLS 1.0 and CBC", config.SSLService{Method: "tlsv1_0tlsv1_1tlsv1_2tlsv1_3", Ciphers: "HIGH"}, tls10, tls.VersionTLS10, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA},
		{"back to the default refuses TLS 1.0 again", config.SSLService{}, tls10, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := *cfg
			next.SSL.Inbound = tc.inbound
			apply(t, s, &next)
			st, err := starttls(t, a, tc.client)
			if tc.version == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with %s %s", versionName(st.Version), cipherName(st.CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if st.Version != tc.version || tc.suite != 0 && st.CipherSuite != tc.suite {
				t.Fatalf("negotiated %s %s", versionName(st.Version), cipherName(st.CipherSuite))
			}
		})
	}
}

// TestInboundPolicyRefusedAtPrepare: a configuration whose policy does not
// compile is refused, and the running one stays.
func TestInboundPolicyRefusedAtPrepare(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInPreferred)
	s := startMTA(t, t.TempDir(), cfg)
	for _, svc := range []string{"inbound", "outbound"} {
		bad := *cfg
		if svc == "inbound" {
			bad.SSL.Inbound.Ciphers = "RC4-MD5"
		} else {
			bad.SSL.Outbound.Method = "tlsv1_0tlsv1_2"
		}
		if _, _, err := s.Prepare(context.Background(), &bad); err == nil || !strings.Contains(err.Error(), "ssl."+svc) {
			t.Errorf("%s: prepare = %v, want an ssl.%s error", svc, err, svc)
		}
	}
	if _, err := starttls(t, addr(cfg), &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatalf("the running configuration no longer serves: %v", err)
	}
}

// TestOutboundPolicy: delivery's TLS client offers what sslconfig
// OUTBOUND says, against a crypto/tls server limited to TLS 1.2.
func TestOutboundPolicy(t *testing.T) {
	p := newPKI(t)
	cert, err := loadCertificate(p.leaf(t, "Recv", "mx.receiver.test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		outbound config.SSLService
		suite    uint16 // 0: the handshake fails
	}{
		{"default", config.SSLService{}, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		{"one suite", config.SSLService{Ciphers: "ECDHE-ECDSA-CHACHA20-POLY1305"}, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
		{"TLS v1.3 only fails against TLS 1.2", config.SSLService{Method: "tlsv1_3"}, 0},
		{"RSA suites only fail against an ECDSA certificate", config.SSLService{Ciphers: "kRSA"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t, p, config.TLSInOff)
			cfg.SSL.Outbound = tc.outbound
			o := buildOutTLS(cfg, nil)
			srv, cli := net.Pipe()
			defer cli.Close()
			go func() {
				defer srv.Close()
				tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{*cert}, MaxVersion: tls.VersionTLS12}).Handshake()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := tls.Client(cli, o.config("mx.receiver.test"))
			err := c.HandshakeContext(ctx)
			if tc.suite == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with %s", cipherName(c.ConnectionState().CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got := c.ConnectionState().CipherSuite; got != tc.suite {
				t.Fatalf("negotiated %s, want %s", cipherName(got), cipherName(tc.suite))
			}
		})
	}
}
