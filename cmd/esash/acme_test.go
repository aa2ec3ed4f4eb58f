package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/acme/pebbletest"
	"esash/config"
	"esash/pki"
	"esash/store"
)

// acmeAppliance is a data directory whose listener serves an ACME
// profile for mxHost, a Pebble that validates against the appliance's
// address, and the files the peers trust.
type acmeAppliance struct {
	dir, smtp, ip string
	pebble        *pebbletest.Pebble
	rootFile      string // Pebble's issuing root, for openssl and swaks
}

func newACMEAppliance(t *testing.T, challenge config.ACMEChallenge, validity time.Duration) *acmeAppliance {
	dir, a := mtaData(t, nil)
	ip, _, _ := net.SplitHostPort(a)
	httpPort := pebbletest.FreePort(t, ip)
	p := pebbletest.Start(t, pebbletest.Options{IP: ip, HTTPPort: httpPort, TLSPort: 8443, Validity: validity})
	t.Setenv("ESASH_ACME_HTTP_PORT", strconv.Itoa(httpPort))
	t.Setenv("ESASH_ACME_RETRY", "1s")
	db, err := store.Open(filepath.Join(dir, dbFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := pki.ACMEPlaceholder([]string{mxHost}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acct, err := pki.NewACMEAccountKey()
	if err != nil {
		t.Fatal(err)
	}
	d := store.NewDraft(db, "admin", "test")
	d.Update(func(c *config.Config) error {
		c.CAs.Custom = append(c.CAs.Custom, config.CA{Name: "Pebble", PEM: p.ServerCAPEM})
		c.Certificates = append(c.Certificates, config.Certificate{Name: "Mail", CertPEM: string(certPEM), KeyPEM: string(keyPEM),
			ACME: config.ACMEProfile{DirectoryURL: p.DirectoryURL, Names: []string{mxHost}, KeyType: config.ACMEKeyECDSAP256,
				Challenge: challenge, Trust: config.ACMETrustCustom, AccountKeyPEM: string(acct)}})
		c.Listeners[0].Certificate = "Mail"
		c.Listeners[0].DefaultPolicy.TLS = config.TLSInPreferred
		c.Interfaces[0].HTTPSCert = "Mail"
		c.Alerts.Recipients = []config.AlertRecipient{{Address: "admin@example.com", Classes: []string{"System"}, Severities: []string{"All"}}}
		return nil
	})
	if _, err := d.Commit(context.Background(), "acme profile", false, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	root := filepath.Join(t.TempDir(), "pebble-root.pem")
	if err := os.WriteFile(root, []byte(p.RootPEM(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	return &acmeAppliance{dir: dir, smtp: a, ip: ip, pebble: p, rootFile: root}
}

var serialRE = regexp.MustCompile(`(?m)^\s*Serial Number:\s*\n?\s*([0-9a-f:]+)`)

// served is what `openssl s_client -starttls smtp` sees on the listener:
// its output and whether it verified against Pebble's root.
func (x *acmeAppliance) served(t *testing.T) (string, bool) {
	openssl := needTool(t, "openssl")
	out, code := runTool(t, 30*time.Second, "QUIT\n", openssl, "s_client", "-starttls", "smtp", "-connect", x.smtp,
		"-servername", mxHost, "-verify_return_error", "-CAfile", x.rootFile, "-verify_hostname", mxHost, "-showcerts")
	return out, code == 0 && strings.Contains(out, "Verify return code: 0 (ok)")
}

// serial is the leaf's serial number the listener serves.
func (x *acmeAppliance) serial(t *testing.T, out string) string {
	i := strings.Index(out, "-----BEGIN CERTIFICATE-----")
	j := strings.Index(out, "-----END CERTIFICATE-----")
	if i < 0 || j < 0 {
		t.Fatalf("no certificate served:\n%s", out)
	}
	certs, err := pki.ParseCertificates([]byte(out[i : j+len("-----END CERTIFICATE-----")]))
	if err != nil {
		t.Fatal(err)
	}
	return certs[0].SerialNumber.String()
}

// waitIssued polls the listener until it serves a certificate that
// verifies against Pebble's root (generous: the machine is shared).
func (x *acmeAppliance) waitIssued(t *testing.T) string {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, ok := x.served(t)
		if ok {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("the listener never served a Pebble certificate:\n%s", out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestACMEIssuesForListener: after the commit the daemon obtains the
// certificate over HTTP-01 from Pebble, commits it as user acme, and the
// listener serves Pebble's chain (leaf and intermediate) to openssl.
func TestACMEIssuesForListener(t *testing.T) {
	x := newACMEAppliance(t, config.ACMEHTTP01, 90*24*time.Hour)
	serveMTA(t, x.dir, x.smtp)
	out := x.waitIssued(t)
	if n := strings.Count(out, "-----BEGIN CERTIFICATE-----"); n != 2 || !strings.Contains(out, "Pebble Intermediate CA") {
		t.Fatalf("served %d certificates, want Pebble's leaf and intermediate:\n%s", n, out)
	}
	detail, _, _ := esash(t, "", "--data", x.dir, "-c", "commitdetail")
	if !strings.Contains(detail, "Committed by: acme (acme)") || !strings.Contains(detail, "ACME: certificate issued for profile Mail") {
		t.Errorf("commitdetail:\n%s", detail)
	}
	print, _, _ := esash(t, "", "--data", x.dir, "-c", "certconfig print")
	if !regexp.MustCompile(`(?m)^Mail\s+valid\s+\d{4}-\d\d-\d\d`).MatchString(print) {
		t.Errorf("certconfig print:\n%s", print)
	}
}

// TestACMETLSALPNThroughHTTPS: TLS-ALPN-01 is answered by the HTTPS
// service on the interface's HTTPS port (8443 here, Pebble's tlsPort).
func TestACMETLSALPNThroughHTTPS(t *testing.T) {
	x := newACMEAppliance(t, config.ACMETLSALPN01, 90*24*time.Hour)
	serveMTA(t, x.dir, x.smtp)
	x.waitIssued(t)
	detail, _, _ := esash(t, "", "--data", x.dir, "-c", "commitdetail")
	if !strings.Contains(detail, "Committed by: acme (acme)") {
		t.Errorf("commitdetail:\n%s", detail)
	}
}

// TestACMERenewUnderLoadAndBackOff: with Pebble's 20-second lifetime the
// certificate is renewed at two thirds while swaks sends mail over
// STARTTLS in a loop: every session succeeds and the served certificate
// changes without a restart. Then Pebble stops: the renewal fails, backs
// off, the listener keeps the certificate it has, and the System alert is
// queued for alertconfig's recipient.
func TestACMERenewUnderLoadAndBackOff(t *testing.T) {
	swaks := needTool(t, "swaks")
	x := newACMEAppliance(t, config.ACMEHTTP01, 20*time.Second)
	serveMTA(t, x.dir, x.smtp)
	first := x.serial(t, x.waitIssued(t))
	deadline := time.Now().Add(3 * time.Minute)
	sessions := 0
	for {
		out, code := runTool(t, 30*time.Second, "", swaks, "--server", x.smtp, "--tls", "--tls-verify", "--tls-ca-path", x.rootFile,
			"--tls-sni", mxHost, "--ehlo", "swaks.test", "--from", "alice@sender.test", "--to", "bob@esash.test")
		if code != 0 {
			t.Fatalf("swaks session %d failed (exit %d) during renewal:\n%s", sessions+1, code, out)
		}
		sessions++
		now, ok := x.served(t)
		if ok && x.serial(t, now) != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the certificate was not renewed after %d sessions", sessions)
		}
	}
	t.Logf("renewed after %d swaks sessions, none failed", sessions)
	hist, _, _ := esash(t, "", "--data", x.dir, "-c", "commitdetail")
	if !strings.Contains(hist, "ACME: certificate renewed for profile Mail") {
		t.Errorf("commitdetail after renewal:\n%s", hist)
	}

	x.pebble.Stop()
	// The failure is reported, and with its back-off on disk for the
	// next daemon start (acme.TestBackOffSurvivesRestart proves the
	// restart): the file is written just after the failure is counted,
	// so certconfig may show it a moment before.
	deadline = time.Now().Add(3 * time.Minute)
	for {
		print, _, _ := esash(t, "", "--data", x.dir, "-c", "certconfig print")
		saved, err := savedACMEState(x.dir)
		failing := regexp.MustCompile(`(?m)^Mail\s+failing`).MatchString(print)
		if failing && err == nil && saved["Mail"].Failures >= 1 && !saved["Mail"].RetryAt.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failure reported (failing %v), or not remembered in %s (%v %+v):\n%s", failing, acmeStateFile, err, saved, print)
		}
		time.Sleep(250 * time.Millisecond)
	}
	out, _ := x.served(t)
	if x.serial(t, out) == first {
		t.Error("after the failure the listener serves the first certificate again")
	}
	q, _, _ := esash(t, "", "--data", x.dir, "-c", "showqueue")
	if !strings.Contains(q, "admin@example.com") {
		t.Errorf("no alert queued for alertconfig's recipient:\n%s", q)
	}
	logs, _, _ := esash(t, "", "--data", x.dir, "-c", `grep -e "ACME renewal of certificate profile Mail failed" mail_logs`)
	if !strings.Contains(logs, "ACME renewal of certificate profile Mail failed") {
		t.Errorf("mail_logs has no alert line:\n%s", logs)
	}
}

// savedACMEState reads the daemon's ACME failure memory.
func savedACMEState(dir string) (map[string]struct {
	Failures int       `json:"failures"`
	RetryAt  time.Time `json:"retry_at"`
}, error) {
	var saved map[string]struct {
		Failures int       `json:"failures"`
		RetryAt  time.Time `json:"retry_at"`
	}
	b, err := os.ReadFile(filepath.Join(dir, acmeStateFile))
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	return saved, err
}
