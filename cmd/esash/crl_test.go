package main

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
	"esash/pki/crltest"
)

// certconfig CRL > URL on a served appliance: the daemon's MTA fetches the
// distribution point (from the Management interface's address, as the
// source rules pick it), certconfig checks the list against the trusted
// CA, and the commit stores it with its URL.
func TestCRLFromDistributionPoint(t *testing.T) {
	t.Parallel()
	ca := crltest.NewCA(t, "Daemon CA")
	lost := ca.Issue("lost.example.com")
	ca.Revoke(lost)
	der := ca.DER(ca.CRL(time.Time{}, time.Time{}))
	ln, err := net.Listen("tcp4", nextLoopback()+":0")
	if err != nil {
		t.Fatal(err)
	}
	var from atomic.Value
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from.Store(r.RemoteAddr)
		w.Write(der)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String() + "/daemon.crl"

	dir, smtpAddr := mtaData(t, func(c *config.Config) {
		c.CAs.Custom = append(c.CAs.Custom, config.CA{Name: "Daemon CA", PEM: ca.CertPEM})
	})
	serveMTA(t, dir, smtpAddr)
	out, errOut, code := esash(t, "certconfig\ncrl\nurl\n"+url+"\ndaemon\n\n\ncommit CRL from its distribution point\n", "--data", dir)
	if code != 0 || !strings.Contains(out, `CRL daemon (from `+url+`, signed by "Daemon CA") staged: 1 revoked certificate`) ||
		!strings.Contains(out, "Changes committed") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	ip, _, _ := net.SplitHostPort(smtpAddr)
	if h, _, _ := net.SplitHostPort(from.Load().(string)); h != ip {
		t.Errorf("fetched from %s, not the Management interface's %s", h, ip)
	}
	show, _, _ := esash(t, "", "--data", dir, "-c", "showconfig 1")
	if !strings.Contains(show, "<url>"+url+"</url>") {
		t.Errorf("showconfig lacks the distribution point:\n%s", show)
	}
}

// swaks presenting client certificates to a served appliance whose
// listener verifies them: the one its CA revoked (openssl ca -revoke, the
// CRL committed with certconfig's data) gets no TLS session and
// mail_logs says why; the other delivers.
func TestCRLSwaksClientCertificate(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	ca := crltest.NewCA(t, "Swaks Client CA")
	good, bad := ca.Issue("good.swaks.test"), ca.Issue("bad.swaks.test")
	ca.Revoke(bad)
	server := ca.Issue(mxHost)
	crl := ca.CRL(time.Time{}, time.Time{})
	dir, a := mtaData(t, func(c *config.Config) {
		useProfile(config.Certificate{Name: "PeerCert", CertPEM: server.CertPEM, KeyPEM: server.KeyPEM}, config.TLSInRequired)(c)
		c.Listeners[0].DefaultPolicy.VerifyClientCert = "on"
		c.CAs.Custom = append(c.CAs.Custom, config.CA{Name: "Swaks Client CA", PEM: ca.CertPEM})
		c.CRLs = []config.CRL{{Name: "swaks", PEM: crl}}
	})
	serveMTA(t, dir, a)
	run := func(l crltest.Leaf) (string, int) {
		return runTool(t, 30*time.Second, "", swaks, "--server", a, "--tls", "--tls-cert", l.CertFile,
			"--tls-key", strings.TrimSuffix(l.CertFile, ".pem")+".key", "--ehlo", "swaks.test",
			"--from", "alice@sender.test", "--to", "bob@esash.test")
	}
	if out, code := run(good); code != 0 || !strings.Contains(out, "<~  250 2.0.0 ok:  Message ") {
		t.Fatalf("certificate not revoked: exit %d\n%s", code, out)
	}
	if out, code := run(bad); code == 0 || strings.Contains(out, "250 2.0.0 ok:  Message ") {
		t.Fatalf("revoked certificate: exit %d\n%s", code, out)
	}
	logs, _, _ := esash(t, "", "--data", dir, "-c", `grep -e "certificate revoked" mail_logs`)
	if !strings.Contains(logs, `TLS failed: client certificate not verified: certificate revoked: "bad.swaks.test" (serial `) {
		t.Fatalf("mail_logs:\n%s", logs)
	}
}
