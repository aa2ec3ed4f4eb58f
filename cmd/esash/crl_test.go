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
