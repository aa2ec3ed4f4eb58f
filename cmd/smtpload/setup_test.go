package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/mta"
	"esash/store"
)

// noDNS answers every reverse look-up "not found" at once: the test's
// client address has no name, as on a machine without DNS.
type noDNS struct{}

func (noDNS) LookupAddr(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}
func (noDNS) LookupHost(context.Context, string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
}

// writeCert writes a self-signed ECDSA certificate and key for
// mx.bench.test into dir.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.bench.test"},
		DNSNames: []string{"mx.bench.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// randomLoopback is an address in 127.0.0.0/8 other tests are unlikely to
// use: setup's listener has the factory's fixed port 2525.
func randomLoopback() string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("127.%d.%d.%d", 10+int(b[0])%200, b[1], 2+int(b[2])%250)
}

// TestSetupAcceptsAndRelays proves the appliance `smtpload setup -relay`
// prepares: its listener requires STARTTLS and accepts the load tool's
// recipients (the RAT is enforced: the factory table refuses them all),
// and it delivers them to the sink over TLS (destination TLS Required).
func TestSetupAcceptsAndRelays(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	ip := randomLoopback()
	sk, err := startSink(options{sink: randomLoopback() + ":0", sinkCert: certFile, sinkKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.close()
	data := filepath.Join(dir, "data")
	if rc := setup([]string{"-data", data, "-ip", ip, "-cert", certFile, "-key", keyFile, "-tls", "required",
		"-relay", sk.ln.Addr().String()}); rc != 0 {
		t.Fatalf("setup exited %d", rc)
	}
	bootSetup(t, data)
	o := options{addr: ip + ":2525", per: 2}
	tcfg, _ := o.tlsConfig()
	body := message(4096)
	var ids []string
	var mu sync.Mutex
	n := int64(0)
	next := func() string { n++; return stampID(body, "feedbeef", n) }
	done := func(id string, _ time.Duration, _ time.Time) { mu.Lock(); ids = append(ids, id); mu.Unlock() }

	// Without STARTTLS the policy (Required) refuses the envelope.
	if _, err := session(o, tcfg, body, next, done); err == nil {
		t.Fatal("a session without STARTTLS was accepted under TLS Required")
	}
	o.starttls = true
	if _, err := session(o, tcfg, body, next, done); err != nil {
		t.Fatalf("session: %v", err)
	}
	if len(ids) != 2 {
		t.Fatalf("accepted %d messages, want 2", len(ids))
	}
	var r result
	sent := []sent{{ids[0], time.Now()}, {ids[1], time.Now()}}
	sk.relayResult(&r, "feedbeef", sent, time.Now(), 2*time.Minute)
	if r.Delivered != 2 || r.OutHandshake < 1 {
		t.Fatalf("at the sink: %d of 2 messages, %d TLS handshakes", r.Delivered, r.OutHandshake)
	}
}

// TestSetupDiscards: without -relay the appliance queues the load's
// messages durably and then drops them (the route to /dev/null, as
// Postfix's discard transport in the same cells): no DSN is generated,
// so the inbound cells measure reception and the queue, not bounces.
func TestSetupDiscards(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	ip := randomLoopback()
	data := filepath.Join(dir, "data")
	if rc := setup([]string{"-data", data, "-ip", ip, "-cert", certFile, "-key", keyFile, "-tls", "required"}); rc != 0 {
		t.Fatalf("setup exited %d", rc)
	}
	srv := bootSetup(t, data)
	o := options{addr: ip + ":2525", per: 2, starttls: true}
	tcfg, _ := o.tlsConfig()
	body := message(4096)
	n, accepted := int64(0), 0
	next := func() string { n++; return stampID(body, "0000d15c", n) }
	done := func(string, time.Duration, time.Time) { accepted++ }
	if _, err := session(o, tcfg, body, next, done); err != nil || accepted != 2 {
		t.Fatalf("session: %d of 2 accepted, %v", accepted, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n, _ := srv.Queue().Len(); n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the load's messages are still queued: not discarded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Log().Sync() // mail_logs writes behind; this test reads the file itself
	logged, err := os.ReadFile(filepath.Join(srv.Log().Dir(), "mail.current"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Bounced", "internally generated", "Delivery"} {
		if strings.Contains(string(logged), bad) {
			t.Errorf("mail_logs has %q: the message was not simply discarded:\n%s", bad, logged)
		}
	}
	if got := strings.Count(string(logged), "queued for delivery"); got != 2 {
		t.Errorf("mail_logs has %d messages queued, want 2 (durable before discarding)", got)
	}
}

// TestBareSinkCountsIDs: the reference server answers each message and
// hands the sink its ID, in clear and after STARTTLS.
func TestBareSinkCountsIDs(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir)
	sk, err := startSink(options{sink: "127.0.0.1:0", sinkCert: certFile, sinkKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer sk.close()
	for _, tc := range []struct {
		name     string
		starttls bool
		per      int
		size     int
		tag      string
	}{
		{"plain, one message", false, 1, 300, "00000001"},
		{"STARTTLS, three messages of 100 KiB", true, 3, 100 << 10, "00000002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := options{addr: sk.ln.Addr().String(), starttls: tc.starttls, per: tc.per}
			tcfg, _ := o.tlsConfig()
			body := message(tc.size)
			var accepted []sent
			n := int64(0)
			next := func() string { n++; return stampID(body, tc.tag, n) }
			done := func(id string, _ time.Duration, at time.Time) { accepted = append(accepted, sent{id, at}) }
			if _, err := session(o, tcfg, body, next, done); err != nil {
				t.Fatal(err)
			}
			var r result
			sk.relayResult(&r, tc.tag, accepted, time.Now(), time.Minute)
			if r.Delivered != int64(tc.per) || r.Undelivered != 0 {
				t.Fatalf("sink counted %d of %d", r.Delivered, tc.per)
			}
		})
	}
}

// TestSummarize: medians per cell and target, ratios to the bare server
// of the same certificate kind and to the durable ceiling, relay throughput end to end and esash ÷
// Postfix for the relay cells.
func TestSummarize(t *testing.T) {
	var in strings.Builder
	enc := json.NewEncoder(&in)
	cell := func(label string, rate float64, relay bool) {
		r := result{Label: label, Clients: 50, Per: 1, Size: 4096, MsgsPerSec: rate}
		if relay {
			r.Relay, r.E2EPerSec, r.MsgsPerSec, r.HSPerMsg = true, rate, 9999, 0.02
		}
		enc.Encode(r)
	}
	cell("bare-rsa/data", 800, false)
	cell("bare-rsa/data", 1000, false)
	cell("bare-rsa/data", 900, false)
	cell("esash-rsa/data", 720, false)
	cell("durable-rsa/data", 800, false)
	cell("bare-ecdsa/data", 2000, false)
	cell("esash-ecdsa/data", 1500, false)
	cell("relay-esash/data", 600, true)
	cell("relay-postfix/data", 200, true)
	var out strings.Builder
	if err := summarizeTo(&out, strings.NewReader(in.String())); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| 4096 | 1 | 50 | DATA | bare-rsa | 3 | 900 | – |",
		"| 4096 | 1 | 50 | DATA | esash-rsa | 1 | 720 | 80 % |",
		"| 4096 | 1 | 50 | DATA | esash-ecdsa | 1 | 1500 | 75 % |",
		"| 4096 | 1 | 50 | DATA | durable-rsa | 1 | 800 | 89 % |",
		"| 4096 | 1 | 50 | DATA | esash-rsa ÷ durable-rsa | | 90 % |",
		"| 4096 | 1 | 50 | DATA | relay-esash | 1 | 600 | 67 % |",
		"| 0.020 |",
		"| 4096 | 1 | 50 | DATA | relay esash ÷ Postfix | | 3.00× |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

// bootSetup starts an MTA with delivery on from the configuration setup
// wrote into data, as the benchmark's appliance would run it.
func bootSetup(t *testing.T, data string) *mta.Server {
	t.Helper()
	db, err := store.Open(filepath.Join(data, "config.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := db.Head().Config
	db.Close()
	srv, err := mta.New(mta.Options{DataDir: data, Resolver: noDNS{}, DNSTimeout: time.Second,
		Delivery: mta.DeliveryOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	if err := srv.Boot(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return srv
}
