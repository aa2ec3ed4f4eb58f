package mta

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
	"esash/pki"
	"esash/pki/crltest"
)

// withCRLCA trusts ca (custom list) and puts crlPEM in force as "ca-crl".
func withCRLCA(cfg *config.Config, ca *crltest.CA, crl config.CRL) {
	cfg.CAs.Custom = append(cfg.CAs.Custom, config.CA{Name: ca.Name, PEM: ca.CertPEM})
	cfg.CRLs = []config.CRL{crl}
}

// TestCRLRevokedClientRefused: a listener verifying client certificates
// refuses a certificate its CA revoked (openssl ca -revoke, -gencrl) and
// says so in mail_logs; a certificate not revoked passes; a CRL past its
// nextUpdate refuses every certificate of its CA (fail closed).
func TestCRLRevokedClientRefused(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Client CA")
	good, bad := ca.Issue("good.client.test"), ca.Issue("bad.client.test")
	ca.Revoke(bad)
	cfg := baseConfig(t, p, config.TLSInRequired)
	cfg.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	withCRLCA(cfg, ca, config.CRL{Name: "client-ca", PEM: ca.CRL(time.Time{}, time.Time{})})
	if probs := config.Validate(cfg, time.Now()).Errors(); len(probs) > 0 {
		t.Fatalf("configuration: %v", probs)
	}
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	sendAs := func(cfg *config.Config, l crltest.Leaf) error {
		tc := clientTLS(p, "mx.test.local")
		tc.Certificates = []tls.Certificate{l.TLS(t)}
		return send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n")
	}
	if err := sendAs(cfg, good); err != nil {
		t.Fatalf("certificate not revoked: %v", err)
	}
	if err := sendAs(cfg, bad); err == nil {
		t.Fatal("revoked client certificate accepted")
	}
	l := waitLog(t, dir, `TLS failed: client certificate not verified: certificate revoked: "bad.client.test" (serial `)
	if !strings.Contains(l, `by "Client CA"`) {
		t.Errorf("the log line does not name the CA:\n%s", l)
	}

	// Expired: the CA's newest CRL was due yesterday.
	s2dir := t.TempDir()
	cfg2 := baseConfig(t, p, config.TLSInRequired)
	cfg2.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	withCRLCA(cfg2, ca, config.CRL{Name: "client-ca", PEM: ca.CRL(time.Now().Add(-8*24*time.Hour), time.Now().Add(-24*time.Hour))})
	startMTA(t, s2dir, cfg2)
	if err := sendAs(cfg2, good); err == nil {
		t.Fatal("certificate accepted under an expired CRL")
	}
	waitLog(t, s2dir, `TLS failed: client certificate not verified: CRL has expired: the CRL of "Client CA" was due for renewal on `)
}

// TestCRLRevokedReceiverRefused: under Required - Verify a receiver whose
// certificate is revoked gets no mail (deferred, logged); under Preferred -
// Verify the mail goes over TLS marked unverified; a receiver not revoked
// gets it verified; an expired CRL defers Required - Verify.
func TestCRLRevokedReceiverRefused(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Receiver CA")
	good, bad := ca.Issue("sink.test"), ca.Issue("sink.test")
	ca.Revoke(bad)
	fresh := config.CRL{Name: "receiver-ca", PEM: ca.CRL(time.Time{}, time.Time{})}
	expired := config.CRL{Name: "receiver-ca", PEM: ca.CRL(time.Now().Add(-8*24*time.Hour), time.Now().Add(-24*time.Hour))}
	for _, tc := range []struct {
		name      string
		mode      config.TLSOut
		leaf      crltest.Leaf
		crl       config.CRL
		delivered bool
		log       string
	}{
		{"required-verify revoked", config.TLSOutRequiredVerify, bad, fresh, false, `TLS failed: verify error: certificate revoked: "sink.test" (serial `},
		{"required-verify good", config.TLSOutRequiredVerify, good, fresh, true, "TLS success protocol"},
		{"preferred-verify revoked", config.TLSOutPreferredVerify, bad, fresh, true, "verify error: certificate revoked"},
		{"required-verify expired CRL", config.TLSOutRequiredVerify, good, expired, false, "TLS failed: verify error: CRL has expired: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := config.Certificate{Name: "sink", CertPEM: tc.leaf.CertPEM, KeyPEM: tc.leaf.KeyPEM}
			sink := startGoSink(t, &cert)
			cfg := outCfg(t, p, tc.mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			withCRLCA(cfg, ca, tc.crl)
			s, dir := startOut(t, cfg)
			mid := enqueue(t, s, "alice@example.com", "bob@sink.test")
			l := waitLog(t, dir, tc.log)
			if tc.delivered {
				waitFor(t, "delivery", func() bool { return len(sink.list()) == 1 && !inQueue(s, mid) })
				return
			}
			waitLog(t, dir, "TLS was required but could not be successfully negotiated")
			waitLog(t, dir, fmt.Sprintf("Delayed: DCID 1 MID %d to RID [0]", mid))
			if len(sink.list()) != 0 || !inQueue(s, mid) {
				t.Errorf("delivered to a revoked receiver:\n%s", l)
			}
		})
	}
}

// crlServer serves whatever body holds over HTTP on loopback.
func crlServer(t *testing.T, body *atomic.Pointer[[]byte]) string {
	t.Helper()
	ln, err := net.Listen("tcp4", sinkIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ca.crl" {
			http.NotFound(w, r)
			return
		}
		w.Write(*body.Load())
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestCRLRefreshFromURL: a distribution point's list is fetched again when
// the stored one is due (three quarters into its life): the CA revokes a
// client certificate, publishes a new CRL, and the listener refuses the
// certificate without a commit. A fetch that fails is logged.
func TestCRLRefreshFromURL(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Refresh CA")
	victim := ca.Issue("victim.client.test")
	// Stored at import: issued 90 s ago, due in 30 s, so already past
	// three quarters of its life.
	stored := ca.CRL(time.Now().Add(-90*time.Second), time.Now().Add(30*time.Second))
	ca.Revoke(victim)
	var body atomic.Pointer[[]byte]
	published := ca.DER(ca.CRL(time.Time{}, time.Time{}))
	body.Store(&published)
	base := crlServer(t, &body)

	cfg := baseConfig(t, p, config.TLSInRequired)
	cfg.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	withCRLCA(cfg, ca, config.CRL{Name: "refresh-ca", URL: base + "/ca.crl", PEM: stored})
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	waitLog(t, dir, "CRL refresh-ca: fetched from "+base+"/ca.crl: 1 revoked")
	tc := clientTLS(p, "mx.test.local")
	tc.Certificates = []tls.Certificate{victim.TLS(t)}
	if err := send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("certificate revoked since the stored CRL accepted")
	}
	waitLog(t, dir, `client certificate not verified: certificate revoked: "victim.client.test"`)

	// A distribution point that answers 404 is logged and retried.
	s.crls.mu.Lock()
	s.crls.retry = 50 * time.Millisecond
	s.crls.mu.Unlock()
	cfg2 := *cfg
	cfg2.CRLs = []config.CRL{{Name: "refresh-ca", URL: base + "/missing.crl", PEM: stored}}
	apply(t, s, &cfg2)
	waitLog(t, dir, "CRL refresh-ca: fetch from "+base+"/missing.crl failed: the server answered 404 Not Found")

	// A list of another key under the CA's name never replaces the one
	// in force.
	impostor := crltest.NewCA(t, "Refresh CA")
	forged := []byte(impostor.CRL(time.Time{}, time.Time{}))
	body.Store(&forged)
	cfg3 := *cfg
	cfg3.CRLs = []config.CRL{{Name: "refresh-ca", URL: base + "/ca.crl?forged", PEM: stored}}
	apply(t, s, &cfg3)
	waitLog(t, dir, "CRL refresh-ca: fetch from "+base+"/ca.crl?forged failed: the CRL is not signed by its issuer's certificate authority")
}

// TestFetchCRLOverHTTPS: an https distribution point is verified against
// the trusted CA lists.
func TestFetchCRLOverHTTPS(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := startMTA(t, t.TempDir(), cfg)
	for _, tc := range []struct {
		name    string
		pki     *testPKI
		trusted bool
	}{
		{"trusted", p, true},
		{"untrusted", newPKI(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKey(t)
			leaf := sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, tc.pki.inter, k.Public(), tc.pki.interKey)
			c := tls.Certificate{Certificate: [][]byte{leaf.Raw, tc.pki.inter.Raw}, PrivateKey: k}
			ln, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{c}})
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("list")) }),
				ErrorLog: log.New(io.Discard, "", 0)} // the refused handshake is the point
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			data, err := s.FetchCRL(context.Background(), "https://"+ln.Addr().String()+"/ca.crl")
			if tc.trusted && (err != nil || string(data) != "list") {
				t.Fatalf("trusted server: %q, %v", data, err)
			}
			if !tc.trusted && (err == nil || !strings.Contains(err.Error(), "certificate")) {
				t.Fatalf("untrusted server: %q, %v", data, err)
			}
		})
	}
}

// TestFetchCRLLimits: a list over pki.MaxCRLBytes and a URL that is not
// http(s) are refused; the source address is an appliance interface's.
func TestFetchCRLLimits(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := startMTA(t, t.TempDir(), cfg)
	huge := make([]byte, pki.MaxCRLBytes+1)
	var body atomic.Pointer[[]byte]
	body.Store(&huge)
	base := crlServer(t, &body)
	if _, err := s.FetchCRL(context.Background(), base+"/ca.crl"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge CRL: %v", err)
	}
	if _, err := s.FetchCRL(context.Background(), "ftp://example.com/ca.crl"); err == nil {
		t.Fatal("ftp URL fetched")
	}
	var from atomic.Value
	ln, err := net.Listen("tcp4", sinkIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from.Store(r.RemoteAddr)
		w.Write([]byte("x"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if _, err := s.FetchCRL(context.Background(), "http://"+ln.Addr().String()+"/x"); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := net.SplitHostPort(from.Load().(string)); h != cfg.Interfaces[0].IPv4 {
		t.Fatalf("fetched from %s, not the interface address %s", h, cfg.Interfaces[0].IPv4)
	}
}

// TestCRLTLSVerify: tlsverify says a revoked receiver is not verified,
// and verifies one not revoked.
func TestCRLTLSVerify(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Verify CA")
	good, bad := ca.Issue("sink.test"), ca.Issue("sink.test")
	ca.Revoke(bad)
	cfg := outCfg(t, p, config.TLSOutPreferred, nil)
	withCRLCA(cfg, ca, config.CRL{Name: "verify-ca", PEM: ca.CRL(time.Time{}, time.Time{})})
	s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Enabled = false })
	for _, tc := range []struct {
		name string
		leaf crltest.Leaf
		ok   bool
		want string
	}{
		{"revoked", bad, false, `TLS certificate not verified: certificate revoked: "sink.test" (serial `},
		{"not revoked", good, true, "TLS certificate verified."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := startGoSink(t, &config.Certificate{Name: "sink", CertPEM: tc.leaf.CertPEM, KeyPEM: tc.leaf.KeyPEM})
			var out []string
			ok := s.TLSVerify(context.Background(), "sink.test", hp(sink.addr, sink.port), func(l string) { out = append(out, l) })
			if text := strings.Join(out, "\n"); ok != tc.ok || !strings.Contains(text, tc.want) {
				t.Fatalf("TLSVerify = %v:\n%s", ok, text)
			}
		})
	}
}

// TestCRLRefreshDelay: three quarters into a list's life, at most
// crlMaxInterval ahead, never negative.
func TestCRLRefreshDelay(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		this, next time.Time
		want       time.Duration
	}{
		{"four hours, fresh", now, now.Add(4 * time.Hour), time.Hour},
		{"forty minutes, fresh", now, now.Add(40 * time.Minute), 30 * time.Minute},
		{"past three quarters", now.Add(-time.Hour), now.Add(10 * time.Minute), 0},
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour), 0},
		{"no nextUpdate, just issued", now, time.Time{}, crlMaxInterval},
		{"no nextUpdate, issued 40 minutes ago", now.Add(-40 * time.Minute), time.Time{}, 20 * time.Minute},
		{"no nextUpdate, old, never fetched", now.Add(-8 * 24 * time.Hour), time.Time{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := crlRefreshDelay(&x509.RevocationList{ThisUpdate: tc.this, NextUpdate: tc.next}, time.Time{}, now)
			if got != tc.want {
				t.Fatalf("crlRefreshDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFetchCRLStatusNotEchoed: a distribution point's reason phrase is
// the server's own text and reaches the operator's terminal (certconfig
// CRL URL): control characters in it (a terminal escape) must not.
func TestFetchCRLStatusNotEchoed(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := startMTA(t, t.TempDir(), cfg)
	ln, err := net.Listen("tcp4", sinkIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "HTTP/1.1 404 \x1b]0;owned\x07\x1b[2J\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			}()
		}
	}()
	_, err = s.FetchCRL(context.Background(), "http://"+ln.Addr().String()+"/ca.crl")
	if err == nil {
		t.Fatal("a 404 was fetched")
	}
	if strings.ContainsAny(err.Error(), "\x1b\x07") || !strings.Contains(err.Error(), "404") {
		t.Fatalf("error %q: want the status code without the server's control characters", err)
	}
}

// TestCRLApplyKeepsNewerFetched: a commit that brings back an older copy
// of a distribution point's list (rollbackconfig, loadconfig of an older
// file) does not replace the newer list fetched since: the revocations
// published meanwhile stay in force.
func TestCRLApplyKeepsNewerFetched(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Rollback CA")
	victim := ca.Issue("victim.client.test")
	now := time.Now()
	stored := ca.CRL(now.Add(-300*time.Second), now.Add(100*time.Second)) // due: fetched at once
	older := ca.CRL(now.Add(-400*time.Second), now.Add(100*time.Second))
	ca.Revoke(victim)
	var body atomic.Pointer[[]byte]
	published := ca.DER(ca.CRL(time.Time{}, time.Time{}))
	body.Store(&published)
	base := crlServer(t, &body)

	cfg := baseConfig(t, p, config.TLSInOff)
	withCRLCA(cfg, ca, config.CRL{Name: "rollback-ca", URL: base + "/ca.crl", PEM: stored})
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	waitLog(t, dir, "CRL rollback-ca: fetched from "+base+"/ca.crl: 1 revoked")
	empty := []byte{}
	body.Store(&empty) // the distribution point is down from now on

	cfg2 := *cfg
	cfg2.CRLs = []config.CRL{{Name: "rollback-ca", URL: base + "/ca.crl", PEM: older}}
	apply(t, s, &cfg2)
	if err := s.crlSet().Check([]*x509.Certificate{victim.Cert, ca.Cert}, time.Now()); !errors.Is(err, pki.ErrRevoked) {
		t.Fatalf("after a commit of an older list: %v, want the certificate revoked", err)
	}
}

// TestCRLKeyRolloverRefresh: the CA rolls its key over (same name, new
// key, openssl's database kept) and publishes its next CRL, signed by the
// new key, at the distribution point. With both of the CA's certificates
// trusted, the refreshed list replaces the stored one and the client
// certificate the old key issued, revoked since, is refused. The same
// list imported instead of fetched applies as well.
func TestCRLKeyRolloverRefresh(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Rollover CA")
	oldPEM := ca.CertPEM
	victim := ca.Issue("victim.client.test")
	stored := ca.CRL(time.Now().Add(-90*time.Second), time.Now().Add(30*time.Second)) // due: fetched at once
	ca.Revoke(victim)
	ca.Rekey()
	rolledPEM := ca.CRL(time.Time{}, time.Time{})
	published := ca.DER(rolledPEM)
	var body atomic.Pointer[[]byte]
	body.Store(&published)
	base := crlServer(t, &body)

	cfg := baseConfig(t, p, config.TLSInRequired)
	cfg.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	cfg.CAs.Custom = append(cfg.CAs.Custom, config.CA{Name: "rollover-old", PEM: oldPEM}, config.CA{Name: "rollover-new", PEM: ca.CertPEM})
	cfg.CRLs = []config.CRL{{Name: "rollover-ca", URL: base + "/ca.crl", PEM: stored}}
	if probs := config.Validate(cfg, time.Now()).Errors(); len(probs) > 0 {
		t.Fatalf("configuration: %v", probs)
	}
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	waitLog(t, dir, "CRL rollover-ca: fetched from "+base+"/ca.crl: 1 revoked")
	tc := clientTLS(p, "mx.test.local")
	tc.Certificates = []tls.Certificate{victim.TLS(t)}
	if err := send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("a certificate of the old key, revoked in the new key's CRL, was accepted")
	}
	waitLog(t, dir, `client certificate not verified: certificate revoked: "victim.client.test"`)

	// Imported: the new key's list, no distribution point.
	cfg2 := baseConfig(t, p, config.TLSInRequired)
	cfg2.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	cfg2.CAs.Custom = cfg.CAs.Custom
	cfg2.CRLs = []config.CRL{{Name: "rollover-ca", PEM: rolledPEM}}
	dir2 := t.TempDir()
	startMTA(t, dir2, cfg2)
	if err := send(t, addr(cfg2), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("imported rollover list: revoked certificate accepted")
	}
	waitLog(t, dir2, `client certificate not verified: certificate revoked: "victim.client.test"`)
}

// TestCRLWithoutNextUpdateExpires: an imported list without nextUpdate
// issued eight days ago is past pki.CRLLifetimeWithoutNextUpdate: the
// client certificates of its CA are refused (fail closed, the reason in
// mail_logs). The same list at a distribution point that still serves it
// is confirmed current by the fetch at start, and the certificates pass.
func TestCRLWithoutNextUpdateExpires(t *testing.T) {
	p := newPKI(t)
	ca := crltest.NewCA(t, "Undated CA")
	good := ca.Issue("good.client.test")
	old := ca.CRLWithoutNextUpdate(time.Now().Add(-8 * 24 * time.Hour))
	tc := clientTLS(p, "mx.test.local")
	tc.Certificates = []tls.Certificate{good.TLS(t)}

	cfg := baseConfig(t, p, config.TLSInRequired)
	cfg.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	withCRLCA(cfg, ca, config.CRL{Name: "undated", PEM: old})
	dir := t.TempDir()
	startMTA(t, dir, cfg)
	if err := send(t, addr(cfg), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err == nil {
		t.Fatal("certificate accepted under a list without nextUpdate issued 8 days ago")
	}
	waitLog(t, dir, `client certificate not verified: CRL has expired: the CRL of "Undated CA" was due for renewal on `)
	waitLog(t, dir, "(it has no nextUpdate: a list without one is due 7 days after its thisUpdate or its last fetch)")

	published := ca.DER(old)
	var body atomic.Pointer[[]byte]
	body.Store(&published)
	base := crlServer(t, &body)
	cfg2 := baseConfig(t, p, config.TLSInRequired)
	cfg2.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
	withCRLCA(cfg2, ca, config.CRL{Name: "undated", URL: base + "/ca.crl", PEM: old})
	s2 := startMTA(t, t.TempDir(), cfg2)
	waitFor(t, "the fetch confirming the list", func() bool {
		return s2.crlSet().Check([]*x509.Certificate{good.Cert, ca.Cert}, time.Now()) == nil
	})
	if err := send(t, addr(cfg2), tc, "a@x.test", []string{"b@y.test"}, "x\r\n"); err != nil {
		t.Fatalf("certificate refused under a list confirmed current by its distribution point: %v", err)
	}
}

// TestCRLLifetimeAgrees: config's copy of the lifetime of a list without
// nextUpdate (its commit warning) is pki's (what verification enforces).
func TestCRLLifetimeAgrees(t *testing.T) {
	if config.CRLLifetimeWithoutNextUpdate != pki.CRLLifetimeWithoutNextUpdate {
		t.Fatalf("config says %v, pki %v", config.CRLLifetimeWithoutNextUpdate, pki.CRLLifetimeWithoutNextUpdate)
	}
}
