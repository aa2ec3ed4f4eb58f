package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/acme/pebbletest"
	"esash/config"
	"esash/pki"
	"esash/shell/shelltest"
	"esash/store"
)

// clock is the tests' settable clock: real time plus an offset the test
// moves forward instead of sleeping.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) AdvanceTo(t time.Time)   { c.Advance(t.Sub(c.Now()) + time.Second) }

var ipSeq atomic.Int32

// loopbackIP is an address of this test's own, so the HTTP-01 port does
// not meet another test's.
func loopbackIP() string {
	n := ipSeq.Add(1)
	return fmt.Sprintf("127.6.%d.%d", os.Getpid()%250, n%250+1)
}

// rig is an appliance store, a Pebble and a manager.
type rig struct {
	t       *testing.T
	clk     *clock
	db      *store.DB
	pebble  *pebbletest.Pebble
	m       *Manager
	ip      string
	tlsPort int
	mu      sync.Mutex
	failed  []string
}

func newRig(t *testing.T, challenge config.ACMEChallenge, validity time.Duration) *rig {
	return newRigWith(t, validity, func(a *config.ACMEProfile) { a.Challenge = challenge })
}

// newRigWith makes a rig whose profile edit adjusts.
func newRigWith(t *testing.T, validity time.Duration, edit func(*config.ACMEProfile)) *rig {
	r := &rig{t: t, clk: &clock{}, ip: loopbackIP()}
	httpPort := pebbletest.FreePort(t, r.ip)
	r.tlsPort = pebbletest.FreePort(t, r.ip)
	r.pebble = pebbletest.Start(t, pebbletest.Options{IP: r.ip, HTTPPort: httpPort, TLSPort: r.tlsPort, Validity: validity})
	names := []string{"mail.example.test", "mx.example.test"}
	certPEM, keyPEM, err := pki.ACMEPlaceholder(names, r.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	acctPEM, err := pki.NewACMEAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	r.db = shelltest.OpenStore(t, t.TempDir(), shelltest.Options{Clock: r.clk.Now, Factory: func(c *config.Config) {
		c.Interfaces[0].IPv4 = r.ip
		c.CAs.Custom = append(c.CAs.Custom, config.CA{Name: "Pebble", PEM: r.pebble.ServerCAPEM})
		a := config.ACMEProfile{DirectoryURL: r.pebble.DirectoryURL, Email: "postmaster@example.test", Names: names,
			KeyType: config.ACMEKeyECDSAP256, Challenge: config.ACMEHTTP01, Trust: config.ACMETrustCustom, AccountKeyPEM: string(acctPEM)}
		edit(&a)
		c.Certificates = append(c.Certificates, config.Certificate{Name: "Mail", CertPEM: string(certPEM), KeyPEM: string(keyPEM), ACME: a})
	}})
	r.m = New(Options{Store: r.db, Now: r.clk.Now, HTTPPort: httpPort, RetryMin: time.Hour, RetryMax: 4 * time.Hour,
		Timeout: 90 * time.Second, Log: t.Logf, StateFile: filepath.Join(t.TempDir(), "acme_state.json"),
		Failed: func(p string, err error, _ time.Time) { r.mu.Lock(); r.failed = append(r.failed, p); r.mu.Unlock() }})
	return r
}

func (r *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.m.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
}

// wait waits (generously: the machine is shared) for the status of the
// profile to satisfy ok.
func (r *rig) wait(what string, ok func(Status) bool) Status {
	r.t.Helper()
	deadline := time.After(3 * time.Minute)
	for {
		ch := r.m.Changed()
		st := r.m.Status()
		if len(st) == 1 && ok(st[0]) {
			return st[0]
		}
		select {
		case <-ch:
		case <-deadline:
			r.t.Fatalf("waiting for %s: status %+v", what, st)
		}
	}
}

func (r *rig) head() config.Certificate {
	for _, ct := range r.db.Head().Config.Certificates {
		if ct.Name == "Mail" {
			return ct
		}
	}
	r.t.Fatal("profile Mail is gone")
	return config.Certificate{}
}

// verifyIssued checks that the profile holds a certificate Pebble issued
// for its names, with its chain, and that the acme user committed it.
func (r *rig) verifyIssued(ct config.Certificate) *x509.Certificate {
	r.t.Helper()
	leaf, err := leafOf(ct)
	if err != nil {
		r.t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(r.pebble.RootPEM(r.t)))
	inter := x509.NewCertPool()
	for _, p := range ct.Intermediates {
		inter.AppendCertsFromPEM([]byte(p))
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: "mx.example.test"}); err != nil {
		r.t.Fatalf("the installed certificate does not chain to Pebble's root: %v", err)
	}
	key, err := pki.ParsePrivateKey([]byte(ct.KeyPEM), nil)
	if err != nil || !pki.KeyMatches(leaf, key) {
		r.t.Fatalf("the installed key does not match the certificate: %v", err)
	}
	if h := r.db.Head(); h.Meta.User != SystemUser {
		r.t.Errorf("head revision by %q, want %q", h.Meta.User, SystemUser)
	}
	return leaf
}

func TestIssueHTTP01(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	if st := r.m.Status(); len(st) != 1 || st[0].State != "pending" {
		t.Fatalf("before the first round: %+v", st)
	}
	r.run()
	st := r.wait("issuance", func(s Status) bool { return s.State != "pending" })
	if st.State != "valid" {
		t.Fatalf("status %+v", st)
	}
	ct := r.head()
	leaf := r.verifyIssued(ct)
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key %T, want ECDSA P-256 as the profile says", leaf.PublicKey)
	}
	if !st.NotAfter.Equal(leaf.NotAfter) {
		t.Errorf("status NotAfter %v, certificate %v", st.NotAfter, leaf.NotAfter)
	}
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	if twoThirds := leaf.NotBefore.Add(life * 2 / 3); st.NextAttempt.After(twoThirds.Add(time.Second)) {
		t.Errorf("next renewal %v is after two thirds of the lifetime (%v)", st.NextAttempt, twoThirds)
	}
	if ct.ACME.AccountURL == "" || ct.ACME.CertURL == "" {
		t.Errorf("account %q cert %q not recorded", ct.ACME.AccountURL, ct.ACME.CertURL)
	}
	revs, err := r.db.Revisions(1)
	if err != nil || len(revs) != 1 || revs[0].Meta.User != SystemUser {
		t.Fatalf("revisions %+v %v", revs, err)
	}
	// Names changed by an administrator are ordered at once.
	d := store.NewDraft(r.db, "admin", "test")
	d.Update(func(c *config.Config) error {
		for i := range c.Certificates {
			if c.Certificates[i].Name == "Mail" {
				c.Certificates[i].ACME.Names = append(c.Certificates[i].ACME.Names, "smtp.example.test")
			}
		}
		return nil
	})
	if _, err := d.Commit(context.Background(), "another name", false, nil); err != nil {
		t.Fatal(err)
	}
	r.m.Kick()
	r.wait("the new name", func(s Status) bool {
		leaf, err := leafOf(r.head())
		return err == nil && pki.VerifyHostname(leaf, "smtp.example.test") == nil && s.State == "valid"
	})
	// The HTTP-01 listener exists only while a challenge is pending.
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(r.ip, strconv.Itoa(r.m.opts.HTTPPort)), 5*time.Second); err == nil {
		c.Close()
		t.Error("port 80 still answers after the challenge")
	}
}

// alpnServer is the HTTPS service's part in TLS-ALPN-01 as web does it:
// its own tls.Config whose GetCertificate asks the manager first.
func alpnServer(t *testing.T, m *Manager, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conf := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if cert, ok := m.TLSALPNCertificate(hello); ok {
				return &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{TLSALPNProtocol}}, nil
			}
			return nil, fmt.Errorf("no certificate")
		},
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { tc := tls.Server(c, conf); tc.Handshake(); tc.Close() }()
		}
	}()
}

func TestIssueTLSALPN01(t *testing.T) {
	r := newRigWith(t, 90*24*time.Hour, func(a *config.ACMEProfile) {
		a.Challenge, a.KeyType = config.ACMETLSALPN01, config.ACMEKeyRSA2048
	})
	alpnServer(t, r.m, net.JoinHostPort(r.ip, strconv.Itoa(r.tlsPort)))
	r.run()
	st := r.wait("issuance", func(s Status) bool { return s.State != "pending" })
	if st.State != "valid" {
		t.Fatalf("status %+v", st)
	}
	leaf := r.verifyIssued(r.head())
	if pub, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || pub.N.BitLen() != 2048 {
		t.Errorf("key %T, want RSA 2048 as the profile says", leaf.PublicKey)
	}
	if _, ok := r.m.TLSALPNCertificate(&tls.ClientHelloInfo{ServerName: "mail.example.test", SupportedProtos: []string{TLSALPNProtocol}}); ok {
		t.Error("a challenge certificate is still served after the challenge")
	}
}

// TestRenewAndBackOff: at two thirds of the lifetime the manager renews
// (a new revision by acme); with the CA gone it backs off, doubling,
// keeps the certificate it has and reports each failure. Pebble issues
// in real time, so the renewal waits for two thirds of a 15-second
// lifetime; the back-off moves the test clock instead.
func TestRenewAndBackOff(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 15*time.Second)
	r.run()
	st := r.wait("issuance", func(s Status) bool { return s.State == "valid" })
	first := r.head()
	r.wait("renewal", func(s Status) bool { return !s.NotAfter.Equal(st.NotAfter) && s.State == "valid" })
	renewed := r.head()
	if renewed.ACME.AccountURL != first.ACME.AccountURL {
		t.Errorf("renewal registered account %q, want the recorded %q", renewed.ACME.AccountURL, first.ACME.AccountURL)
	}
	if renewed.CertPEM == first.CertPEM || renewed.KeyPEM == first.KeyPEM {
		t.Fatal("renewal kept the old certificate or key")
	}
	r.verifyIssued(renewed)
	revs, _ := r.db.Revisions(10)
	if len(revs) < 2 || revs[0].Meta.User != SystemUser || revs[1].Meta.User != SystemUser {
		t.Fatalf("revisions %+v, want the issuance and the renewal by acme", revs)
	}

	// Stop the CA; an attempt in flight may fail first, and that is the
	// first failure as well as one the test starts.
	r.pebble.Stop()
	renewed = r.head() // a renewal may have finished just before Stop
	st = r.m.Status()[0]
	if st.Failures == 0 {
		r.clk.AdvanceTo(st.NextAttempt)
		r.m.Kick()
	}
	fail := r.wait("a failed renewal", func(s Status) bool { return s.Failures == 1 })
	if fail.State != "failing" || fail.LastError == "" {
		t.Fatalf("status %+v", fail)
	}
	// Measured from the failure, not from the test's clock: an attempt
	// in flight when the CA stopped may fail before the clock's advance
	// or after it.
	if d := fail.NextAttempt.Sub(fail.FailedAt); d != time.Hour {
		t.Errorf("first retry %v after the failure, want RetryMin (1h)", d)
	}
	first1 := fail.NextAttempt
	r.clk.AdvanceTo(fail.NextAttempt)
	r.m.Kick()
	fail = r.wait("a second failure", func(s Status) bool { return s.Failures == 2 })
	if fail.FailedAt.Before(first1) {
		t.Errorf("the second attempt failed at %v, before its retry time %v", fail.FailedAt, first1)
	}
	if d := fail.NextAttempt.Sub(fail.FailedAt); d != 2*time.Hour {
		t.Errorf("second retry %v after the second failure, want twice RetryMin", d)
	}
	if r.head().CertPEM != renewed.CertPEM {
		t.Error("a failed renewal changed the installed certificate")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.failed) != 2 || r.failed[0] != "Mail" {
		t.Errorf("failure reports %q, want two for Mail", r.failed)
	}
}

// TestTrustSystemRefusesPebble: with the system list as trust, Pebble's
// own HTTPS certificate does not verify: the profile fails and stays
// pending (the trust setting is enforced, not ignored).
func TestTrustSystemRefusesPebble(t *testing.T) {
	r := newRigWith(t, 90*24*time.Hour, func(a *config.ACMEProfile) { a.Trust = config.ACMETrustSystem })
	r.run()
	st := r.wait("a failure", func(s Status) bool { return s.Failures > 0 })
	if !strings.Contains(st.LastError, "certificate signed by unknown authority") {
		t.Errorf("last error %q, want an unknown authority", st.LastError)
	}
	if !r.head().ACME.Pending() {
		t.Error("the profile is no longer pending")
	}
}

// TestBackOffSurvivesRestart: the failures, the last error, when it
// happened and the back-off are kept in the state file, so a daemon restarted while its CA is down does not ask
// the CA again before the retry time, and the next failure doubles the
// wait instead of starting over at RetryMin.
func TestBackOffSurvivesRestart(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	r.pebble.Stop()
	ctx := t.Context()
	retryAt := r.m.round(ctx)
	st := r.m.Status()[0]
	if st.Failures != 1 || st.State != "failing" || !st.NextAttempt.Equal(retryAt) {
		t.Fatalf("after the first attempt: %+v, next %v", st, retryAt)
	}

	// The restart: a new manager over the same store and state file.
	r.m = New(r.m.opts)
	after := r.m.Status()[0]
	if after.Failures != 1 || after.LastError != st.LastError || !after.NextAttempt.Equal(retryAt) ||
		st.FailedAt.IsZero() || !after.FailedAt.Equal(st.FailedAt) {
		t.Fatalf("after a restart: %+v, want %+v", after, st)
	}
	if next := r.m.round(ctx); !next.Equal(retryAt) {
		t.Errorf("after a restart the next attempt is %v, want the retry time %v", next, retryAt)
	}
	r.mu.Lock()
	reports := len(r.failed)
	r.mu.Unlock()
	if reports != 1 {
		t.Fatalf("%d failure reports, want 1: the restarted manager asked the CA before the retry time", reports)
	}

	r.clk.AdvanceTo(retryAt)
	next := r.m.round(ctx)
	st = r.m.Status()[0]
	if st.Failures != 2 {
		t.Fatalf("after the retry: %+v", st)
	}
	if d := next.Sub(r.clk.Now()); d < 2*time.Hour-time.Minute || d > 2*time.Hour {
		t.Errorf("second retry in %v, want twice RetryMin (2h): the back-off restarted", d)
	}

	// A successful issuance (the CA back) clears the record for good.
	r.pebble.Restart(t)
	r.clk.AdvanceTo(next)
	r.m.round(ctx)
	if st := r.m.Status()[0]; st.Failures != 0 || st.State != "valid" {
		t.Fatalf("with the CA back: %+v", st)
	}
	r.m = New(r.m.opts)
	if st := r.m.Status()[0]; st.Failures != 0 || st.LastError != "" {
		t.Errorf("after a success and a restart: %+v", st)
	}
}

// TestARIEarlyRenewal: when the CA's renewal information (ARI) suggests
// a window long before two thirds of the lifetime, the manager renews
// then. Pebble's management interface sets the window of the issued
// certificate to the past (as Pebble does for a revoked one); the
// manager asks ARI again when Pebble's Retry-After (6 hours) has passed,
// which the test clock reaches without sleeping, and renews 6 hours into
// a 90-day certificate, not at day 60.
func TestARIEarlyRenewal(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	r.run()
	st := r.wait("issuance", func(s Status) bool { return s.State == "valid" })
	first := r.head()
	leaf := r.verifyIssued(first)
	twoThirds := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 2 / 3)
	if d := st.NextAttempt.Sub(twoThirds); d < -time.Minute || d > time.Minute {
		t.Fatalf("next renewal %v, want the middle of Pebble's own window, two thirds (%v)", st.NextAttempt, twoThirds)
	}
	now := r.clk.Now()
	r.pebble.SetRenewalInfo(t, first.CertPEM, now.Add(-time.Hour), now.Add(-time.Hour+time.Minute))
	r.clk.Advance(6*time.Hour + time.Minute)
	r.m.Kick()
	r.wait("the early renewal", func(s Status) bool { return s.State == "valid" && !s.NotAfter.Equal(st.NotAfter) })
	renewed := r.head()
	if renewed.CertPEM == first.CertPEM {
		t.Fatal("the profile still holds the first certificate")
	}
	r.verifyIssued(renewed)
	if at := r.clk.Now(); !at.Before(twoThirds) {
		t.Errorf("renewed at %v, not before two thirds (%v)", at, twoThirds)
	}
	revs, _ := r.db.Revisions(10)
	if len(revs) < 2 || revs[0].Meta.User != SystemUser || !strings.Contains(revs[0].Meta.Comment, "renewed") {
		t.Errorf("head revision %+v, want the renewal by acme", revs[0].Meta)
	}
}

// TestStatusIsOneSnapshot: Status reads a profile's failures and its next
// attempt at one moment. It read the retry time first and the failure
// count after, so an attempt that failed in between showed one failure
// with a next attempt before the failure, not RetryMin after it (CI,
// TestRenewAndBackOff). The clock's hook runs that attempt inside
// Status, where it read the clock between the two.
func TestStatusIsOneSnapshot(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	r.pebble.Stop()
	var inStatus atomic.Bool
	r.m.opts.Now = func() time.Time {
		if inStatus.CompareAndSwap(true, false) {
			r.m.attempt(t.Context(), r.head()) // fails: the CA is gone
		}
		return r.clk.Now()
	}
	inStatus.Store(true)
	during := r.m.Status()[0]
	if inStatus.Load() {
		t.Fatal("Status did not read the clock; the test no longer runs the attempt inside it")
	}
	after := r.m.Status()[0]
	if after.Failures != 1 {
		t.Fatalf("after the attempt: %+v, want one failure", after)
	}
	for _, s := range []Status{during, after} {
		if s.Failures > 0 && s.NextAttempt.Sub(s.FailedAt) != time.Hour {
			t.Errorf("status %+v: next attempt %v after the failure, want RetryMin (1h)", s, s.NextAttempt.Sub(s.FailedAt))
		}
	}
}

// headHook is a store whose next Head runs hook after reading the head.
type headHook struct {
	store.Backend
	hook atomic.Pointer[func()]
}

func (h *headHook) Head() store.Snapshot {
	head := h.Backend.Head()
	if f := h.hook.Swap(nil); f != nil {
		(*f)()
	}
	return head
}

// TestStatusCertificateAndStateAgree: Status takes the certificate from
// the head and the failures from the manager's state. A renewal that
// commits its certificate and then clears the failure count ran between
// the two reads, and the row showed the old certificate (here the
// placeholder: pending) with no failure and its next attempt now, a row
// that never was. The store's hook runs that renewal right after Status
// read the head.
func TestStatusCertificateAndStateAgree(t *testing.T) {
	r := newRig(t, config.ACMEHTTP01, 90*24*time.Hour)
	r.pebble.Stop()
	r.m.round(t.Context())
	if st := r.m.Status()[0]; st.Failures != 1 {
		t.Fatalf("with the CA stopped: %+v, want one failure", st)
	}
	r.pebble.Restart(t)
	hooked := &headHook{Backend: r.m.opts.Store}
	renew := func() { r.m.attempt(t.Context(), r.head()) }
	hooked.hook.Store(&renew)
	r.m.opts.Store = hooked
	during := r.m.Status()[0]
	if hooked.hook.Load() != nil {
		t.Fatal("Status did not read the head; the test no longer renews inside it")
	}
	after := r.m.Status()[0]
	if after.Failures != 0 || after.State != "valid" {
		t.Fatalf("after the renewal: %+v", after)
	}
	if during.Failures == 0 && !during.NotAfter.Equal(after.NotAfter) {
		t.Errorf("status %+v: the certificate from before the renewal with the failures cleared by it", during)
	}
}
