package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"esash/web/webtest"
)

// The HTTPS service of a real `esash serve`: the factory Demo certificate
// on the Management interface, an administrator assigning a CA-signed
// certificate with certconfig and interfaceconfig as the seed guide does,
// the next handshake serving it with its intermediate, HTTP redirected,
// the status page behind the login, and real Chromium trusting the CA.

var webSeq atomic.Uint32

// webIP hands out 127.48.P.N, P from the process.
func webIP() string {
	n := webSeq.Add(1)
	return fmt.Sprintf("127.48.%d.%d", os.Getpid()%250+1, n%250+1)
}

type webAppliance struct {
	t    *testing.T
	bin  string
	dir  string
	ip   string
	env  []string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

const webAdminPW = "web-admin-pass-1"

// newWebAppliance sets the admin password on a new data directory from
// the local console, then runs the daemon until the test ends.
func newWebAppliance(t *testing.T) *webAppliance {
	t.Helper()
	a := &webAppliance{t: t, bin: esashBinary(t), dir: filepath.Join(t.TempDir(), "data"), ip: webIP()}
	a.env = append(termEnv(), "ESASH_FACTORY_IP="+a.ip)
	if out, code := a.console(fmt.Sprintf("passwd\n%s\n%s\n", webAdminPW, webAdminPW)); code != 0 {
		t.Fatalf("passwd on the console: status %d\n%s", code, out)
	}
	a.out = &lockedBuffer{}
	a.cmd = exec.Command(a.bin, "serve", "--data", a.dir)
	a.cmd.Env = a.env
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.done = make(chan error, 1)
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(a.stop)
	want := "web listening on https://" + a.addr(8443)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(a.out.String(), want) || !strings.Contains(a.out.String(), "esash: serving") {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("esash serve exited: %v\n%s", err, a.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("esash serve: HTTPS not listening after 60s:\n%s", a.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a
}

func (a *webAppliance) addr(port int) string { return net.JoinHostPort(a.ip, fmt.Sprint(port)) }

func (a *webAppliance) stop() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-a.done:
		if err != nil {
			a.t.Errorf("esash serve after SIGTERM: %v\n%s", err, a.out)
		}
	case <-time.After(20 * time.Second):
		a.cmd.Process.Kill()
		<-a.done
		a.t.Errorf("esash serve did not stop within 20s of SIGTERM:\n%s", a.out)
	}
	a.cmd = nil
}

// console runs `esash --data DIR` (attached to the daemon once it runs).
func (a *webAppliance) console(stdin string) (string, int) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.bin, "--data", a.dir)
	cmd.Env = a.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		a.t.Fatalf("esash: %v", err)
	}
	return string(out), code
}

// served returns the chain the HTTPS port sends now (a new handshake).
func (a *webAppliance) served(pool *x509.CertPool, port int) ([]*x509.Certificate, error) {
	a.t.Helper()
	cfg := &tls.Config{ServerName: "esa.test", RootCAs: pool}
	if pool == nil {
		cfg.InsecureSkipVerify = true
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a.addr(port), cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates, nil
}

// client is a browser stand-in for esa.test on the appliance's address.
func (a *webAppliance) client(pool *x509.CertPool) *http.Client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(a.ip, port))
		},
		DisableKeepAlives: true,
	}
	a.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// dotted is PEM text for a certconfig paste: ended by a line ".".
func dotted(pemText string) string { return strings.TrimSpace(pemText) + "\n.\n" }

// assignScript imports the test root into the custom CA list, pastes the
// CA-signed certificate with its intermediate as profile WebFull, and
// assigns it to the Management interface's HTTPS, with HTTP on 8080
// redirected to it: the seed's steps, in the CLI.
func assignScript(p *webtest.PKI, httpsPort string) string {
	return "certconfig\ncertauthority\ncustom\nimport\nwebroot.pem\nN\n\n\n" +
		"certificate\npaste\nWebFull\n" + dotted(p.LeafPEM) + dotted(p.LeafKeyPEM) +
		"Y\n" + dotted(p.InterPEM) + "N\nN\n\n\n" +
		interfaceScript("Y", httpsPort, "WebFull\nY\n") +
		"commit\nassign the CA-signed certificate to HTTPS\nY\n"
}

// interfaceScript edits the Management interface: hostname esa.test,
// HTTP enabled or not, the HTTPS port, then the certificate answers.
func interfaceScript(http, httpsPort, cert string) string {
	s := "interfaceconfig\nEDIT\nManagement\n" +
		"\n\n\n\n\n\n" + // name, IPv4 y, address, netmask, IPv6 n, ethernet
		"esa.test\n" + // hostname
		"\n\n\n\n\n" + // FTP, Telnet, SSH, its port, CCS
		http + "\n"
	if http == "Y" {
		s += "\n" // its port: 8080
	}
	s += "\n" + httpsPort + "\n" + // HTTPS y, its port
		"\n\n\n\n" + // spam quarantine HTTP, HTTPS, API HTTP, HTTPS
		cert +
		"\n" + // no custom SMTP HELO
		"\n" // leave interfaceconfig
	return s
}

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)

func TestWebDaemon(t *testing.T) {
	a := newWebAppliance(t)

	// The factory: the Demo certificate, self-signed, on 8443.
	chain, err := a.served(nil, 8443)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 1 || chain[0].Subject.CommonName != "esa.example.com" || chain[0].Subject.OrganizationalUnit[0] != "Demo Certificate" {
		t.Fatalf("factory HTTPS serves %d certificates, first %q: want the Demo certificate", len(chain), chain[0].Subject)
	}

	// The administrator assigns a CA-signed certificate with the CLI.
	p := webtest.NewPKI(t, "Web", "esa.test")
	if err := os.WriteFile(filepath.Join(a.dir, "configuration", "webroot.pem"), []byte(p.RootPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := a.console(assignScript(p, ""))
	if code != 0 || !strings.Contains(out, "Changes committed") {
		t.Fatalf("assigning the certificate: status %d\n%s", code, out)
	}
	chain, err = a.served(p.Pool(), 8443)
	if err != nil {
		t.Fatalf("after the commit, a client trusting the root: %v\n%s", err, out)
	}
	if len(chain) != 2 || !chain[0].Equal(p.Leaf) || !chain[1].Equal(p.Inter) {
		t.Fatalf("after the commit: %d certificates, want the leaf and its intermediate", len(chain))
	}

	// HTTP redirects; the status page is behind the login.
	c := a.client(p.Pool())
	resp, err := c.Get("http://esa.test:8080/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://esa.test:8443/" {
		t.Fatalf("HTTP: %d %q, want a redirect to HTTPS", resp.StatusCode, resp.Header.Get("Location"))
	}
	body := webLogin(t, c, "admin", webAdminPW)
	for _, want := range []string{
		"<h1>esa.example.com</h1>", `<td id="revision">3</td>`, "by admin (script): assign the CA-signed certificate to HTTPS",
		"HTTPS on interface Management (port 8443)", "esa.test → Web Test Intermediate CA<div",
		"complete: esa.test → Web Test Intermediate CA → Web Test Root CA (trusted root)",
		"port 8080, redirects to HTTPS", "Recent TLS sessions (mail_logs)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("status page:\n%s", body)
	}
	auth, _ := os.ReadFile(filepath.Join(a.dir, "logs", "authentication", "authentication.current"))
	if !strings.Contains(string(auth), "The user admin successfully logged on from 127.0.0.1 using an HTTPS connection.") {
		t.Errorf("the login is not in the authentication log:\n%s", auth)
	}

	// Real Chromium, trusting the test root: no certificate warning, the
	// administrator logs in, HTTP leads to HTTPS.
	b := webtest.New(t, []string{p.RootPEM}, map[string]string{"esa.test": a.ip})
	br := b.Start()
	if e := br.Navigate("http://esa.test:8080/"); e != "" {
		t.Fatalf("Chromium: %s", e)
	}
	if u := br.URL(); u != "https://esa.test:8443/login" {
		t.Fatalf("Chromium at %s, want the HTTPS login page", u)
	}
	br.Submit(`document.getElementById("username").value = "admin";
		document.getElementById("password").value = "` + webAdminPW + `";
		document.getElementById("login").submit()`)
	if html := br.HTML(); !strings.Contains(html, `<td id="revision">3</td>`) {
		t.Fatalf("Chromium after login, at %s:\n%s", br.URL(), html)
	}
	t.Logf("screenshot of the appliance's status page in Chromium: %s", br.Screenshot("web-daemon-status.png"))

	// A commit that moves HTTPS to a port another program holds is
	// refused with the reason, and nothing changes.
	ln, err := net.Listen("tcp", a.addr(9443))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out, code = a.console(interfaceScript("Y", "9443", "\nY\n") + "commit\nmove HTTPS\nY\n")
	want := fmt.Sprintf("HTTPS on interface Management cannot listen on %s: port 9443 on %s is already in use", a.addr(9443), a.ip)
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("commit to a taken port: status %d, want the reason %q\n%s", code, want, out)
	}
	if chain, err := a.served(p.Pool(), 8443); err != nil || !chain[0].Equal(p.Leaf) {
		t.Fatalf("after the refused commit: %v", err)
	}
}

// webLogin logs in with the form and returns the status page.
func webLogin(t *testing.T, c *http.Client, user, pw string) string {
	t.Helper()
	resp, err := c.Get("https://esa.test:8443/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := tokenField.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("login page:\n%s", b)
	}
	resp, err = c.PostForm("https://esa.test:8443/login", url.Values{"username": {user}, "password": {pw}, "token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	resp, err = c.Get("https://esa.test:8443/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, b)
	}
	return string(b)
}
