// Package pebbletest runs Let's Encrypt's test CA, Pebble
// (github.com/letsencrypt/pebble/v2, the version go.mod pins as a tool),
// on loopback for tests, with an in-test DNS server (miekg/dns) that maps
// every name to the appliance's address, so Pebble validates HTTP-01 and
// TLS-ALPN-01 against the appliance under test.
package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Options configure a Pebble.
type Options struct {
	// IP is the address every name resolves to (the appliance's).
	IP string
	// HTTPPort and TLSPort are where Pebble validates HTTP-01 and
	// TLS-ALPN-01 (the appliance's port 80 and HTTPS port).
	HTTPPort, TLSPort int
	// Validity is the lifetime of issued certificates (90 days).
	Validity time.Duration
}

// Pebble is a running test CA.
type Pebble struct {
	// DirectoryURL is the ACME directory.
	DirectoryURL string
	// ServerCAPEM is the root of Pebble's own HTTPS certificate: what the
	// appliance must trust for the ACME server (CERTAUTHORITY CUSTOM).
	ServerCAPEM string
	mgmt        string
	cmd         *exec.Cmd
	done        chan struct{}
	t           testing.TB
	stopOnce    *sync.Once
	args        []string
	logFile     string
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	modDir    string
)

// build compiles Pebble once per test binary from the module cache.
func build() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "esash-pebble")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "pebble")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/letsencrypt/pebble/v2/cmd/pebble").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build pebble: %v\n%s", err, out)
			return
		}
		out, err = exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
		if err != nil {
			buildErr = fmt.Errorf("go list pebble: %v", err)
			return
		}
		modDir = strings.TrimSpace(string(out))
	})
	return binary, buildErr
}

// Start runs Pebble until the test ends (or Stop).
func Start(t testing.TB, o Options) *Pebble {
	t.Helper()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	if o.Validity == 0 {
		o.Validity = 90 * 24 * time.Hour
	}
	dnsAddr := startDNS(t, o.IP)
	port, mport := FreePort(t, "127.0.0.1"), FreePort(t, "127.0.0.1")
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           fmt.Sprintf("127.0.0.1:%d", port),
		"managementListenAddress": fmt.Sprintf("127.0.0.1:%d", mport),
		"certificate":             filepath.Join(modDir, "test/certs/localhost/cert.pem"),
		"privateKey":              filepath.Join(modDir, "test/certs/localhost/key.pem"),
		"httpPort":                o.HTTPPort,
		"tlsPort":                 o.TLSPort,
		"ocspResponderURL":        "",
		"keyAlgorithm":            "ecdsa",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{"default": map[string]any{
			"description": "esash tests", "validityPeriod": int(o.Validity.Seconds())}},
	}}
	dir := t.TempDir()
	b, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(modDir, "test/certs/pebble.minica.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Pebble{DirectoryURL: fmt.Sprintf("https://127.0.0.1:%d/dir", port), ServerCAPEM: string(caPEM),
		mgmt: fmt.Sprintf("https://127.0.0.1:%d", mport), t: t,
		args: []string{"-config", cfgFile, "-dnsserver", dnsAddr}, logFile: filepath.Join(dir, "pebble.log")}
	p.launch(t, bin)
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			log, _ := os.ReadFile(p.logFile)
			t.Logf("pebble log:\n%s", log)
		}
	})
	p.waitReady(t)
	return p
}

// launch starts the Pebble process (its log appended to logFile).
func (p *Pebble) launch(t testing.TB, bin string) {
	cmd := exec.Command(bin, p.args...)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	logf, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.stopOnce = cmd, done, &sync.Once{}
	go func() { cmd.Wait(); logf.Close(); close(done) }()
}

// Restart starts a stopped Pebble again at the same addresses (a CA that
// came back). Like a real CA restart of Pebble, it forgets its accounts
// and orders, and issues under a new root.
func (p *Pebble) Restart(t testing.TB) {
	t.Helper()
	p.Stop()
	p.launch(t, binary)
	p.waitReady(t)
}

func (p *Pebble) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(p.ServerCAPEM))
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// waitReady polls the directory until Pebble answers (generous: the
// machine is shared).
func (p *Pebble) waitReady(t testing.TB) {
	deadline := time.Now().Add(60 * time.Second)
	c := p.client()
	for {
		resp, err := c.Get(p.DirectoryURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			t.Fatal("pebble exited")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble did not answer at %s: %v", p.DirectoryURL, err)
		}
	}
}

// RootPEM is the root Pebble issues under (generated at each start).
func (p *Pebble) RootPEM(t testing.TB) string {
	resp, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Stop ends Pebble (a CA that went away).
func (p *Pebble) Stop() {
	p.stopOnce.Do(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
}

// startDNS answers A queries for every name with ip, and every other
// query with an empty answer, on UDP and TCP until the test ends.
func startDNS(t testing.TB, ip string) string {
	t.Helper()
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A: net.ParseIP(ip)})
			}
		}
		w.WriteMsg(m)
	})
	port := FreePort(t, "127.0.0.1")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	udp := &dns.Server{PacketConn: pc, Handler: h}
	tcp := &dns.Server{Listener: ln, Handler: h}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return addr
}

// FreePort is a TCP port free on ip (and UDP, for the DNS server).
func FreePort(t testing.TB, ip string) int {
	t.Helper()
	for range 20 {
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port))); err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port on " + ip)
	return 0
}

// SetRenewalInfo makes Pebble's ACME renewal information (ARI) for the
// certificate suggest the window from start to end, through Pebble's
// management interface (POST /set-renewal-info/): how a test makes the CA
// ask for an early renewal.
func (p *Pebble) SetRenewalInfo(t testing.TB, certPEM string, start, end time.Time) {
	t.Helper()
	window, _ := json.Marshal(map[string]any{"suggestedWindow": map[string]string{
		"start": start.UTC().Format(time.RFC3339), "end": end.UTC().Format(time.RFC3339)}})
	body, _ := json.Marshal(map[string]string{"Certificate": certPEM, "ARIResponse": string(window)})
	resp, err := p.client().Post(p.mgmt+"/set-renewal-info/", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("set-renewal-info: %s: %s", resp.Status, b)
	}
}
