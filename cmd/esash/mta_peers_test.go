package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/mta/queue"
	"esash/store"
)

// Tests of the embedded MTA against real peers: swaks, openssl s_client,
// Postfix as a sending MTA, testssl.sh, and kill -9 of the daemon. Each
// test's appliance listens on its own loopback address (nextLoopback), so
// they run side by side with the transcript tests.

// peerPKI is a root, an intermediate and the leaves it signs.
type peerPKI struct {
	dir              string
	root, inter      *x509.Certificate
	rootKey, intrKey crypto.Signer
	rootFile         string
}

var peerSerial atomic.Int64

func peerSign(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + peerSerial.Add(1))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func peerKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

func newPeerPKI(t *testing.T) *peerPKI {
	p := &peerPKI{dir: t.TempDir(), rootKey: peerKey(t), intrKey: peerKey(t)}
	now := time.Now()
	rt := &x509.Certificate{Subject: pkix.Name{CommonName: "esash peer test root"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(72 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.root = peerSign(t, rt, rt, p.rootKey.Public(), p.rootKey)
	p.inter = peerSign(t, &x509.Certificate{Subject: pkix.Name{CommonName: "esash peer test intermediate"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(72 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign},
		p.root, p.intrKey.Public(), p.rootKey)
	p.rootFile = filepath.Join(p.dir, "root.pem")
	if err := os.WriteFile(p.rootFile, []byte(certPEM(p.root)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// profile issues a certificate profile for host, as an administrator
// would paste it: leaf, key, and the intermediate.
func (p *peerPKI) profile(t *testing.T, name, host string) config.Certificate {
	k := peerKey(t)
	now := time.Now()
	c := peerSign(t, &x509.Certificate{Subject: pkix.Name{CommonName: host, Organization: []string{name}}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(71 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, p.inter, k.Public(), p.intrKey)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return config.Certificate{Name: name, CertPEM: certPEM(c),
		KeyPEM:        string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		Intermediates: []string{certPEM(p.inter)}}
}

const mxHost = "mx.peer.test"

// mtaData makes a data directory whose factory interface is on a fresh
// loopback address, whose listener receives mail for the test domains
// (a RAT entry for .test and one for example.com), and commits edit on
// top, as a session would. It returns the directory and the listener's
// address.
func mtaData(t *testing.T, edit func(*config.Config)) (string, string) {
	t.Helper()
	return mtaDataRAT(t, []string{".test", "example.com"}, edit)
}

// mtaDataRAT is mtaData with the listener's recipient access table given:
// nil keeps the factory table (ALL REJECT).
func mtaDataRAT(t *testing.T, rat []string, edit func(*config.Config)) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(dir, 0o700)
	ip := nextLoopback()
	db, err := store.Open(filepath.Join(dir, dbFile), store.Options{Factory: func() (*config.Config, error) {
		demo, err := demoCertificate(time.Now())
		if err != nil {
			return nil, err
		}
		cfg := config.Factory(demo)
		cfg.Interfaces[0].IPv4 = ip
		cfg.Interfaces[0].Hostname = mxHost
		// Received mail must stay queued for these tests to inspect, and
		// no test may look up real domains: every domain is routed to a
		// closed loopback port, so delivery is deferred.
		cfg.Routes = []config.Route{{Domain: "ALL", Hosts: []config.RouteHost{{Host: "127.0.0.1", Port: 9}}}}
		cfg.Listeners[0].AcceptDomains = rat
		return cfg, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if edit != nil {
		d := store.NewDraft(db, "admin", "test")
		if err := d.Update(func(c *config.Config) error { edit(c); return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Commit(context.Background(), "test setup", false, nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir, net.JoinHostPort(ip, "2525")
}

// useProfile installs a certificate profile on the listener with TLS in.
func useProfile(cert config.Certificate, in config.TLSIn) func(*config.Config) {
	return func(c *config.Config) {
		c.Certificates = append(c.Certificates, cert)
		c.Listeners[0].Certificate = cert.Name
		c.Listeners[0].DefaultPolicy.TLS = in
	}
}

// serveMTA runs `esash serve` on dir and waits for its SMTP listener.
func serveMTA(t *testing.T, dir, smtpAddr string) *exec.Cmd {
	t.Helper()
	cmd := startServe(t, dir)
	waitPort(t, smtpAddr)
	return cmd
}

func waitPort(t *testing.T, a string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", a, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func needTool(t *testing.T, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		if p := "/usr/sbin/" + n; fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s is not installed: `make deps` (scripts/testdeps.sh) installs the MTA's test peers", names[0])
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func runTool(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish in %v:\n%s", name, args, timeout, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// swaks with --tls delivers through a Preferred listener and the message is
// in the queue with its TLS; without --tls a Required listener refuses
// MAIL with 530 (swaks exit 23).
func TestMTASwaks(t *testing.T) {
	t.Parallel()
	swaks := needTool(t, "swaks")
	p := newPeerPKI(t)
	dir, a := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInPreferred))
	serveMTA(t, dir, a)
	out, code := runTool(t, 30*time.Second, "", swaks, "--server", a, "--tls", "--tls-verify", "--tls-ca-path", p.rootFile,
		"--tls-sni", mxHost, "--ehlo", "swaks.test", "--from", "alice@sender.test", "--to", "bob@esash.test", "--header", "Subject: via swaks")
	if code != 0 || !strings.Contains(out, "TLS started with cipher TLSv1.3") || !strings.Contains(out, "<~  250 2.0.0 ok:  Message ") {
		t.Fatalf("swaks --tls: exit %d\n%s", code, out)
	}
	q, _, _ := esash(t, "", "--data", dir, "-c", "showqueue")
	if !strings.Contains(q, "<alice@sender.test>") || !strings.Contains(q, "TLSv1.3 TLS_") || !strings.Contains(q, "bob@esash.test") {
		t.Fatalf("showqueue after swaks:\n%s", q)
	}
	logs, _, _ := esash(t, "", "--data", dir, "-c", "grep -e \"TLS success protocol TLSv1.3\" mail_logs")
	if !strings.Contains(logs, " TLS success protocol TLSv1.3 cipher TLS_") {
		t.Fatalf("mail_logs:\n%s", logs)
	}

	dir2, a2 := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInRequired))
	serveMTA(t, dir2, a2)
	out, code = runTool(t, 30*time.Second, "", swaks, "--server", a2, "--from", "alice@sender.test", "--to", "bob@esash.test", "--quit-after", "RCPT")
	if code != 23 || !strings.Contains(out, "<** 530 5.7.0 Must issue a STARTTLS command first") {
		t.Fatalf("swaks without --tls on a Required listener: exit %d\n%s", code, out)
	}
	logs, _, _ = esash(t, "", "--data", dir2, "-c", "tail mail_logs")
	if !strings.Contains(logs, "TLS was required but remote host did not initiate it") {
		t.Fatalf("mail_logs:\n%s", logs)
	}
}

// openssl s_client verifies the chain (leaf + pasted intermediate) to the
// test root and the host name, with and without SNI.
func TestMTAOpenSSLVerify(t *testing.T) {
	t.Parallel()
	openssl := needTool(t, "openssl")
	p := newPeerPKI(t)
	dir, a := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInPreferred))
	serveMTA(t, dir, a)
	for _, sni := range [][]string{{"-servername", mxHost}, {"-noservername"}} {
		args := append([]string{"s_client", "-starttls", "smtp", "-connect", a, "-verify_return_error",
			"-CAfile", p.rootFile, "-verify_hostname", mxHost, "-showcerts"}, sni...)
		out, code := runTool(t, 30*time.Second, "QUIT\n", openssl, args...)
		if code != 0 || !strings.Contains(out, "Verify return code: 0 (ok)") {
			t.Fatalf("openssl %v: exit %d\n%s", sni, code, out)
		}
		// The chain: the leaf and the intermediate, never the root.
		if n := strings.Count(out, "-----BEGIN CERTIFICATE-----"); n != 2 || !strings.Contains(out, "CN = esash peer test intermediate") {
			t.Fatalf("openssl %v: %d certificates served\n%s", sni, n, out)
		}
		if strings.Contains(out, "s:CN = esash peer test root") {
			t.Fatalf("root served:\n%s", out)
		}
	}
}

// testssl.sh finds no protocol below TLS 1.2 and no weak cipher suite.
func TestMTATestssl(t *testing.T) {
	t.Parallel()
	testssl := needTool(t, "testssl", "testssl.sh")
	p := newPeerPKI(t)
	dir, a := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInPreferred))
	serveMTA(t, dir, a)
	jsonFile := filepath.Join(t.TempDir(), "testssl.json")
	out, _ := runTool(t, 4*time.Minute, "", testssl, "--quiet", "--color", "0", "--warnings", "off", "--ip", "one",
		"-t", "smtp", "-p", "-s", "--jsonfile", jsonFile, a)
	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatalf("testssl wrote no JSON: %v\n%s", err, out)
	}
	j := string(raw)
	for _, want := range []string{`"id"           : "TLS1_2"`, `"id"           : "TLS1_3"`} {
		if !strings.Contains(j, want) {
			t.Errorf("testssl JSON lacks %s", want)
		}
	}
	for _, line := range strings.Split(j, "\n") {
		if strings.Contains(line, `"finding"      : "offered`) && (strings.Contains(j, "SSLv2") && strings.Contains(line, "SSLv")) {
			t.Errorf("SSL offered: %s", line)
		}
	}
	// Each finding is {id, ip, port, severity, finding}: check protocols
	// below 1.2 and cipher categories by id.
	for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1"} {
		if f := finding(j, id); !strings.Contains(f, "not offered") {
			t.Errorf("%s: %q", id, f)
		}
	}
	for _, id := range []string{"cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_OBSOLETED"} {
		if f := finding(j, id); f != "" && !strings.Contains(f, "not offered") {
			t.Errorf("%s: %q", id, f)
		}
	}
	if t.Failed() {
		t.Logf("testssl output:\n%s", out)
	}
}

// finding returns the "finding" of the JSON object whose id is id.
func finding(j, id string) string {
	i := strings.Index(j, `"id"           : "`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := j[i:]
	k := strings.Index(rest, `"finding"      : "`)
	if k < 0 {
		return ""
	}
	rest = rest[k+len(`"finding"      : "`):]
	return rest[:strings.Index(rest, `"`)]
}

// Postfix as a sending MTA, smtp_tls_security_level = secure toward the
// listener with the test root as CA: it logs a verified TLS connection and
// the message is delivered into the queue.
func TestMTAPostfixSender(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("a private Postfix instance needs root: run make test as root (CI does)")
	}
	postfix := needTool(t, "postfix")
	p := newPeerPKI(t)
	dir, a := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInRequired))
	serveMTA(t, dir, a)
	pf := startPostfix(t, postfix, a, p.rootFile)
	msg := "From: sender@pf.test\nTo: rcpt@esash.test\nSubject: from postfix\n\nhello from postfix\n"
	sendmail := filepath.Join(filepath.Dir(postfix), "sendmail")
	if out, code := runTool(t, 30*time.Second, msg, sendmail, "-C", pf, "-f", "sender@pf.test", "rcpt@esash.test"); code != 0 {
		t.Fatalf("sendmail: %d %s", code, out)
	}
	logFile := filepath.Join(pf, "maillog")
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, _ := os.ReadFile(logFile)
		l := string(raw)
		if strings.Contains(l, "status=sent") {
			if !strings.Contains(l, "Verified TLS connection established to "+a) && !strings.Contains(l, "Verified TLS connection established to "+strings.Split(a, ":")[0]) {
				t.Fatalf("no verified TLS in Postfix's log:\n%s", l)
			}
			if !strings.Contains(l, "250 2.0.0 ok:") || !strings.Contains(l, " accepted)") {
				t.Fatalf("postfix log:\n%s", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix did not deliver:\n%s", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
	q, _, _ := esash(t, "", "--data", dir, "-c", "showqueue")
	if !strings.Contains(q, "<sender@pf.test>") || !strings.Contains(q, "TLSv1.3") {
		t.Fatalf("showqueue:\n%s", q)
	}

	// The listener is not an open relay: a third-party recipient bounces in
	// Postfix with AsyncOS's RAT answer.
	if out, code := runTool(t, 30*time.Second, "Subject: relay?\n\nx\n", sendmail, "-C", pf, "-f", "sender@pf.test", "victim@third.example"); code != 0 {
		t.Fatalf("sendmail: %d %s", code, out)
	}
	for deadline = time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		raw, _ := os.ReadFile(logFile)
		l := string(raw)
		if strings.Contains(l, "status=bounced") {
			if !strings.Contains(l, "<victim@third.example>") || !strings.Contains(l, "550 #5.1.0 Address rejected.") {
				t.Fatalf("postfix log:\n%s", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix did not bounce the third-party recipient:\n%s", l)
		}
	}
}

// startPostfix runs a private Postfix instance relaying everything to
// relay with TLS "secure" verified against caFile; it returns the
// instance's configuration directory (its log is maillog there).
func startPostfix(t *testing.T, postfix, relay, caFile string) string {
	t.Helper()
	// Postfix's own users must reach the instance's directories, which
	// t.TempDir's (0700) would not let them.
	base, err := os.MkdirTemp("", "esash-postfix-")
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
		master, err = os.ReadFile("/usr/share/postfix/master.cf.dist")
		if err != nil {
			t.Fatalf("no master.cf to copy: %v", err)
		}
	}
	// No smtpd: this instance only sends.
	var mc []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, "inet") {
			l = "#" + l
		}
		mc = append(mc, l)
	}
	os.WriteFile(filepath.Join(conf, "master.cf"), []byte(strings.Join(mc, "\n")), 0o644)
	host, port, _ := net.SplitHostPort(relay)
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %s
data_directory = %s
myhostname = pf.test
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [%s]:%s
smtp_tls_security_level = secure
smtp_tls_secure_cert_match = %s
smtp_tls_CAfile = %s
smtp_tls_loglevel = 1
maillog_file = %s/maillog
maillog_file_prefixes = %s
smtp_address_preference = ipv4
smtp_dns_support_level = disabled
default_transport = smtp
smtpd_banner = pf.test ESMTP
`, spool, data, host, port, mxHost, caFile, conf, base)
	os.WriteFile(filepath.Join(conf, "main.cf"), []byte(mainCF), 0o644)
	if out, err := exec.Command(postfix, "-c", conf, "check").CombinedOutput(); err != nil {
		t.Logf("postfix check: %v %s", err, out)
	}
	if out, err := exec.Command(postfix, "-c", conf, "start").CombinedOutput(); err != nil {
		raw, _ := os.ReadFile(filepath.Join(conf, "maillog"))
		t.Fatalf("postfix start: %v %s\n%s", err, out, raw)
	}
	t.Cleanup(func() { exec.Command(postfix, "-c", conf, "stop").Run() })
	return conf
}

// kill -9 the daemon again and again while a client sends: after each
// restart every message that got 250 is in the queue, whole.
func TestMTAKill9(t *testing.T) {
	t.Parallel()
	dir, a := mtaData(t, nil)
	bin := esashBinary(t)
	acked := map[string]bool{}
	deadline := time.Now().Add(40 * time.Second)
	kills := 0
	for kills < 20 && time.Now().Before(deadline) {
		cmd := exec.Command(bin, "serve", "--data", dir)
		cmd.Env = append(os.Environ(), "ESASH_DATA="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitPort(t, a)
		// Send until the kill lands, a few ms to a few hundred ms in.
		stop := make(chan struct{})
		done := make(chan []string)
		go func() {
			var ok []string
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- ok
					return
				default:
				}
				id := fmt.Sprintf("kill%d-msg%d", kills, i)
				c, err := smtp.Dial(a)
				if err != nil {
					continue
				}
				c.Hello("killer.test")
				if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader("Subject: "+id+"\r\n\r\n"+strings.Repeat(id+"\r\n", 50))); err == nil {
					ok = append(ok, id)
				}
				c.Close()
			}
		}()
		time.Sleep(time.Duration(50+kills*17%200) * time.Millisecond)
		cmd.Process.Signal(os.Kill)
		cmd.Wait()
		close(stop)
		for _, id := range <-done {
			acked[id] = true
		}
		kills++
	}
	if kills < 20 {
		t.Fatalf("only %d kills in the time allowed", kills)
	}
	q, err := queue.Open(filepath.Join(dir, "queue"), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	found := map[string]bool{}
	for _, m := range q.List() {
		body, err := q.Read(m.MID)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(strings.NewReader(string(body)))
		var id string
		for s.Scan() {
			if v, ok := strings.CutPrefix(s.Text(), "Subject: "); ok {
				id = v
			}
		}
		if id == "" || strings.Count(string(body), id+"\r\n") != 51 { // Subject and 50 lines
			t.Fatalf("MID %d is not whole:\n%s", m.MID, body)
		}
		found[id] = true
	}
	for id := range acked {
		if !found[id] {
			t.Errorf("%s got 250 but is not in the queue", id)
		}
	}
	t.Logf("%d kills, %d messages acknowledged, %d in the queue", kills, len(acked), len(found))
	if len(acked) == 0 {
		t.Fatal("no message was acknowledged")
	}
}

var _ = tls.VersionTLS13
