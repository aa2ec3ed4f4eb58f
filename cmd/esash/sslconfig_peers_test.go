package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// sslconfigCommit runs sslconfig on the daemon of dir (the shell attaches
// to it) and commits: op is GUI, INBOUND or OUTBOUND.
func sslconfigCommit(t *testing.T, dir, op, method, ciphers string) {
	t.Helper()
	lines := []string{"sslconfig", op, method, ciphers}
	if op != "OUTBOUND" {
		lines = append(lines, "0") // renegotiation: disabled
	}
	lines = append(lines, "", "commit", "sslconfig "+op+" "+method, "")
	out, errOut, code := esash(t, strings.Join(lines, "\n")+"\n", "--data", dir)
	if code != 0 || !strings.Contains(out, "Changes committed") {
		t.Fatalf("sslconfig %s %s %s: exit %d\n%s%s", op, method, ciphers, code, out, errOut)
	}
}

// sClient runs openssl s_client (STARTTLS SMTP when smtp) with args and
// returns the protocol and cipher negotiated, or "" when the handshake
// failed.
func sClient(t *testing.T, openssl, addr string, smtp bool, args ...string) string {
	t.Helper()
	a := []string{"s_client", "-connect", addr, "-brief"}
	if smtp {
		a = append(a, "-starttls", "smtp")
	}
	out, code := runTool(t, 30*time.Second, "QUIT\n", openssl, append(a, args...)...)
	if code != 0 {
		return ""
	}
	var proto, cipher string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Protocol version: "); ok {
			proto = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Ciphersuite: "); ok {
			cipher = strings.TrimSpace(v)
		}
	}
	if proto == "" {
		t.Fatalf("openssl s_client %q succeeded without naming the protocol:\n%s", args, out)
	}
	return proto + " " + cipher
}

// refusesRenegotiation asks for a TLS 1.2 renegotiation (s_client's "R")
// and fails the test unless the appliance refuses it: sslconfig accepts
// only "disabled" for TLS Renegotiation, and this is what enforces it.
func refusesRenegotiation(t *testing.T, openssl, addr string, smtp bool) {
	t.Helper()
	a := []string{"s_client", "-connect", addr, "-brief", "-tls1_2"}
	if smtp {
		a = append(a, "-starttls", "smtp")
	}
	out, code := runTool(t, 30*time.Second, "R\n", openssl, a...)
	if code == 0 || !strings.Contains(out, "RENEGOTIATING") || !strings.Contains(out, "alert unexpected message") {
		t.Fatalf("renegotiation with %s: exit %d\n%s", addr, code, out)
	}
}

// TestSSLConfigPeers drives sslconfig on a running appliance and checks
// each commit with openssl s_client: TLS v1.3 alone refuses a TLS 1.2
// sender and going back accepts it again; the listener accepts exactly the
// suites of its cipher string; an old TLS 1.0 sender gets in once allowed;
// the GUI's HTTPS refuses a version the GUI setting leaves out; neither
// service renegotiates.
func TestSSLConfigPeers(t *testing.T) {
	t.Parallel()
	openssl := needTool(t, "openssl")
	p := newPeerPKI(t)
	dir, a := mtaData(t, useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInPreferred))
	serveMTA(t, dir, a)
	host, _, _ := net.SplitHostPort(a)
	gui := net.JoinHostPort(host, "8443")
	waitPort(t, gui)

	if got := sClient(t, openssl, a, true, "-tls1_2"); !strings.HasPrefix(got, "TLSv1.2 ") {
		t.Fatalf("factory setting: a TLS 1.2 sender got %q", got)
	}
	refusesRenegotiation(t, openssl, a, true)
	refusesRenegotiation(t, openssl, gui, false)
	sslconfigCommit(t, dir, "INBOUND", "4", "")
	if got := sClient(t, openssl, a, true, "-tls1_2"); got != "" {
		t.Fatalf("INBOUND TLS v1.3: a TLS 1.2 sender got %q", got)
	}
	if got := sClient(t, openssl, a, true, "-tls1_3"); !strings.HasPrefix(got, "TLSv1.3 ") {
		t.Fatalf("INBOUND TLS v1.3: a TLS 1.3 sender got %q", got)
	}
	sslconfigCommit(t, dir, "INBOUND", "3-4", "")
	if got := sClient(t, openssl, a, true, "-tls1_2"); !strings.HasPrefix(got, "TLSv1.2 ") {
		t.Fatalf("back to TLS v1.2-1.3: a TLS 1.2 sender got %q", got)
	}

	// The suites offered are exactly the cipher string's: each suite
	// crypto/tls and OpenSSL share is tried alone.
	configured := []string{"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA"}
	sslconfigCommit(t, dir, "INBOUND", "3", strings.Join(configured, ":"))
	all, err := config.ParseCipherList("ALL:!3DES")
	if err != nil {
		t.Fatal(err)
	}
	var accepted []string
	for _, c := range all {
		if got := sClient(t, openssl, a, true, "-tls1_2", "-cipher", c.Name+":@SECLEVEL=0"); got != "" {
			accepted = append(accepted, c.Name)
		}
	}
	slices.Sort(accepted)
	slices.Sort(configured)
	if !slices.Equal(accepted, configured) {
		t.Fatalf("suites accepted %q, configured %q", accepted, configured)
	}

	// An old sender: TLS 1.0 with a CBC suite, refused by the factory
	// setting, accepted once INBOUND allows TLS v1.0.
	old := []string{"-tls1", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"}
	if got := sClient(t, openssl, a, true, old...); got != "" {
		t.Fatalf("TLS v1.2 only: a TLS 1.0 sender got %q", got)
	}
	sslconfigCommit(t, dir, "INBOUND", "1-4", "HIGH:!aNULL")
	if got := sClient(t, openssl, a, true, old...); got != "TLSv1 ECDHE-ECDSA-AES128-SHA" {
		t.Fatalf("TLS v1.0-1.3: a TLS 1.0 sender got %q", got)
	}

	// The GUI's HTTPS: TLS 1.2 until GUI leaves it out.
	if got := sClient(t, openssl, gui, false, "-tls1_2"); !strings.HasPrefix(got, "TLSv1.2 ") {
		t.Fatalf("GUI factory setting: TLS 1.2 got %q", got)
	}
	sslconfigCommit(t, dir, "GUI", "TLS v1.3", "")
	if got := sClient(t, openssl, gui, false, "-tls1_2"); got != "" {
		t.Fatalf("GUI TLS v1.3: TLS 1.2 got %q", got)
	}
	if got := sClient(t, openssl, gui, false, "-tls1_3"); !strings.HasPrefix(got, "TLSv1.3 ") {
		t.Fatalf("GUI TLS v1.3: TLS 1.3 got %q", got)
	}
	// The listener kept its own setting.
	if got := sClient(t, openssl, a, true, "-tls1_2"); !strings.HasPrefix(got, "TLSv1.2 ") {
		t.Fatalf("INBOUND after GUI: TLS 1.2 got %q", got)
	}
}

// TestSSLConfigTestssl: testssl.sh, run against a listener whose sslconfig
// INBOUND allows TLS v1.0 to v1.2 with two suites, finds exactly those
// protocols offered and, per protocol, exactly the suites of the string
// that protocol can use.
func TestSSLConfigTestssl(t *testing.T) {
	t.Parallel()
	testssl := needTool(t, "testssl", "testssl.sh")
	p := newPeerPKI(t)
	setup := useProfile(p.profile(t, "PeerCert", mxHost), config.TLSInPreferred)
	dir, a := mtaData(t, func(c *config.Config) {
		setup(c)
		c.SSL.Inbound = config.SSLService{Method: "tlsv1_0tlsv1_1tlsv1_2",
			Ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA"}
	})
	serveMTA(t, dir, a)
	jsonFile := filepath.Join(t.TempDir(), "testssl.json")
	out, _ := runTool(t, 6*time.Minute, "", testssl, "--quiet", "--color", "0", "--warnings", "off", "--ip", "one",
		"-t", "smtp", "-p", "-E", "--jsonfile", jsonFile, a)
	raw, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatalf("testssl wrote no JSON: %v\n%s", err, out)
	}
	j := string(raw)
	for id, want := range map[string]string{"TLS1": "offered", "TLS1_1": "offered", "TLS1_2": "offered", "TLS1_3": "not offered"} {
		if f := finding(j, id); f != want && !strings.HasPrefix(f, want+" ") {
			t.Errorf("protocol %s: %q, want %q", id, f, want)
		}
	}
	// -E lists each suite offered per protocol as cipher-<proto>_x<hex>.
	got := map[string][]string{}
	for _, line := range strings.Split(j, "\n") {
		if !strings.Contains(line, `"id"           : "cipher-`) {
			continue
		}
		id := strings.TrimSuffix(strings.TrimSpace(strings.SplitN(line, ":", 2)[1]), ",")
		id = strings.Trim(id, `" `)
		proto, suite, _ := strings.Cut(strings.TrimPrefix(id, "cipher-"), "_x")
		got[proto] = append(got[proto], suite)
	}
	want := map[string][]string{"tls1": {"c009"}, "tls1_1": {"c009"}, "tls1_2": {"c009", "c02c"}}
	for proto, suites := range want {
		g := got[proto]
		slices.Sort(g)
		if !slices.Equal(g, suites) {
			t.Errorf("%s: suites offered %q, want %q", proto, g, suites)
		}
	}
	if len(got) != len(want) {
		t.Errorf("protocols with suites: %v", got)
	}
	if t.Failed() {
		t.Logf("testssl output:\n%s", out)
	}
}
