package mta

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// Real receiving MTAs: Postfix's smtp-sink (no STARTTLS) and a private
// Postfix smtpd instance with a self-signed certificate, later one signed
// by a CA of esash's custom list.

func needPeer(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := "/usr/sbin/" + name; fileOK(p) {
		return p
	}
	t.Fatalf("%s is not installed: make test installs it (scripts/testdeps.sh)", name)
	return ""
}

func fileOK(p string) bool { _, err := os.Stat(p); return err == nil }

// freePort finds a free port on ip (bind, close) for a peer to listen on.
func freePort(t *testing.T, ip string) int {
	t.Helper()
	l, err := listenTCP(ip + ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestDeliverSmtpSink: smtp-sink offers no STARTTLS: Preferred delivers
// in clear, Required defers and alerts.
func TestDeliverSmtpSink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("smtp-sink needs root here (-u postfix): run make test as root (CI does)")
	}
	sinkBin := needPeer(t, "smtp-sink")
	ip := sinkIP()
	port := freePort(t, ip)
	cmd := exec.Command(sinkBin, "-u", "postfix", "-c", fmt.Sprintf("%s:%d", ip, port), "50")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, "smtp-sink", func() bool {
		c, err := dialTCP(fmt.Sprintf("%s:%d", ip, port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	p := newPKI(t)
	cfg := outCfg(t, p, config.TLSOutPreferred, map[string]string{"sink.test": hp(ip, port)})
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "a@example.com", "b@sink.test")
	waitLog(t, dir, fmt.Sprintf("Message done DCID 1 MID %d to RID [0]", mid))
	waitFor(t, "removal", func() bool { return !inQueue(s, mid) })

	alerts := startGoSink(t, nil)
	cfg2 := outCfg(t, p, config.TLSOutRequired, map[string]string{"sink.test": hp(ip, port), "alerts.test": hp(alerts.addr, alerts.port)})
	cfg2.Destinations.AlertOnTLSFail = true
	cfg2.Destinations.Entries = []config.DestControl{{Domain: "alerts.test", TLS: config.TLSOutNo}}
	cfg2.Alerts.Recipients = []config.AlertRecipient{{Address: "admin@alerts.test", Classes: []string{"System"}, Severities: []string{"Warning"}}}
	s2, dir2 := startOut(t, cfg2)
	mid2 := enqueue(t, s2, "a@example.com", "b@sink.test")
	waitLog(t, dir2, "TLS was required but could not be successfully negotiated")
	waitLog(t, dir2, "A System/Warning alert was sent to admin@alerts.test")
	waitFor(t, "alert", func() bool { return len(alerts.list()) == 1 })
	if !inQueue(s2, mid2) {
		t.Error("Required delivered to smtp-sink in clear")
	}
}

func selfSigned(t *testing.T, cn string) config.Certificate {
	k := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	c := sign(t, tmpl, tmpl, k.Public(), k)
	return config.Certificate{Name: "self", CertPEM: pemOf(c), KeyPEM: keyPEM(t, k)}
}

// startPostfixReceiver runs a private Postfix whose smtpd listens on
// ip:port with cert (STARTTLS offered, "may"), relays pf.test into the
// discard transport, and logs to its own maillog. It returns the conf
// directory and a function that installs another certificate.
func startPostfixReceiver(t *testing.T, postfix, ip string, port int, cert config.Certificate) (string, func(config.Certificate)) {
	t.Helper()
	base, err := os.MkdirTemp("", "esash-pfrecv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	conf, spool, data := filepath.Join(base, "etc"), filepath.Join(base, "spool"), filepath.Join(base, "data")
	for _, d := range []string{conf, spool, data} {
		os.MkdirAll(d, 0o755)
	}
	os.Chmod(base, 0o755)
	exec.Command("chown", "postfix", data).Run()
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		if master, err = os.ReadFile("/usr/share/postfix/master.cf.dist"); err != nil {
			t.Fatalf("no master.cf to copy (make test installs postfix): %v", err)
		}
	}
	var mc []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, "inet") {
			l = fmt.Sprintf("%s:%d inet n - n - - smtpd", ip, port)
		}
		mc = append(mc, l)
	}
	os.WriteFile(filepath.Join(conf, "master.cf"), []byte(strings.Join(mc, "\n")), 0o644)
	install := func(c config.Certificate) {
		chain := c.CertPEM + strings.Join(c.Intermediates, "")
		os.WriteFile(filepath.Join(conf, "cert.pem"), []byte(chain), 0o644)
		os.WriteFile(filepath.Join(conf, "key.pem"), []byte(c.KeyPEM), 0o600)
	}
	install(cert)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s
myhostname = pf-recv.test
mydestination =
relay_domains = pf.test
relay_transport = discard:
default_transport = discard:
inet_interfaces = all
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_tls_security_level = may
smtpd_tls_cert_file = %s/cert.pem
smtpd_tls_key_file = %s/key.pem
smtpd_tls_loglevel = 1
maillog_file = %s/maillog
maillog_file_prefixes = %s
smtpd_banner = pf-recv.test ESMTP
`, spool, data, conf, conf, conf, base)
	os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644)
	// check creates what the instance's directories lack; the smtpd
	// address is in master.cf (inet_interfaces would refuse 127.2.x.y,
	// which no interface lists).
	exec.Command(postfix, "-c", conf, "check").Run()
	if out, err := exec.Command(postfix, "-c", conf, "start").CombinedOutput(); err != nil {
		raw, _ := os.ReadFile(filepath.Join(conf, "maillog"))
		t.Fatalf("postfix start: %v %s\n%s", err, out, raw)
	}
	t.Cleanup(func() { exec.Command(postfix, "-c", conf, "stop").Run() })
	return conf, func(c config.Certificate) {
		install(c)
		if out, err := exec.Command(postfix, "-c", conf, "reload").CombinedOutput(); err != nil {
			t.Fatalf("postfix reload: %v %s", err, out)
		}
	}
}

// TestDeliverPostfix: Postfix with a self-signed certificate: Preferred
// and Required deliver; Required - Verify does not (stays queued) until
// Postfix gets a certificate for pf.test from a CA of the custom list.
func TestDeliverPostfix(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("a private Postfix instance needs root: run make test as root (CI does)")
	}
	postfix := needPeer(t, "postfix")
	ip := sinkIP()
	port := freePort(t, ip)
	conf, install := startPostfixReceiver(t, postfix, ip, port, selfSigned(t, "pf-recv.test"))
	waitFor(t, "postfix smtpd", func() bool {
		c, err := dialTCP(fmt.Sprintf("%s:%d", ip, port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	p := newPKI(t)
	for _, mode := range []config.TLSOut{config.TLSOutPreferred, config.TLSOutRequired} {
		cfg := outCfg(t, p, mode, map[string]string{"pf.test": hp(ip, port)})
		s, dir := startOut(t, cfg)
		mid := enqueue(t, s, "a@example.com", "b@pf.test")
		waitLog(t, dir, fmt.Sprintf("Message done DCID 1 MID %d to RID [0]", mid))
		if !strings.Contains(logLines(t, dir), "DCID 1 TLS success protocol TLSv1.3") {
			t.Errorf("%s: not over TLS 1.3:\n%s", mode, logLines(t, dir))
		}
	}
	cfg := outCfg(t, p, config.TLSOutRequiredVerify, map[string]string{"pf.test": hp(ip, port)})
	s, dir := startOut(t, cfg)
	mid := enqueue(t, s, "a@example.com", "b@pf.test")
	waitLog(t, dir, "DCID 1 TLS failed: verify error: certificate chain not verified")
	waitLog(t, dir, "TLS was required but could not be successfully negotiated")
	if !inQueue(s, mid) {
		t.Fatal("Required - Verify delivered to a self-signed receiver")
	}
	verify := func() (bool, string) {
		var out []string
		ok := s.TLSVerify(context.Background(), "pf.test", hp(ip, port), func(l string) { out = append(out, l) })
		return ok, strings.Join(out, "\n")
	}
	if ok, out := verify(); ok || !strings.Contains(out, "TLS certificate not verified") || !strings.Contains(out, "Subject: CN=pf-recv.test") {
		t.Errorf("tlsverify against the self-signed Postfix: %v\n%s", ok, out)
	}
	install(p.leaf(t, "pf", "pf.test"))
	time.Sleep(300 * time.Millisecond) // master restarts its smtpd processes
	retryNow(t, s, mid)
	waitLog(t, dir, fmt.Sprintf("Message done DCID 2 MID %d to RID [0]", mid))
	waitFor(t, "removal", func() bool { return !inQueue(s, mid) })
	if ok, out := verify(); !ok || !strings.Contains(out, "TLS certificate match pf.test") || !strings.Contains(out, "Issuer:  CN=esash test intermediate") {
		t.Errorf("tlsverify against the CA-signed Postfix: %v\n%s", ok, out)
	}
	waitFor(t, "postfix log", func() bool {
		raw, _ := os.ReadFile(filepath.Join(conf, "maillog"))
		return strings.Count(string(raw), "status=sent") >= 3
	})
}

func listenTCP(a string) (net.Listener, error) { return net.Listen("tcp4", a) }
func dialTCP(a string) (net.Conn, error)       { return net.DialTimeout("tcp", a, time.Second) }
