package certconfig

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
	"esash/shell/shelltest"
)

// testNow is the clock of tests that do not hand certificates to openssl.
var testNow = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// env is an appliance with certconfig: a store in a temporary data
// directory and a shell over it.
type env struct {
	*shelltest.Appliance
	t   testing.TB
	now time.Time
}

func newEnv(t testing.TB, now time.Time) *env {
	t.Helper()
	return newEnvClock(t, func() time.Time { return now })
}

// newEnvClock is newEnv with a clock that may move (time.Now for tests
// whose certificates openssl makes while they run).
func newEnvClock(t testing.TB, clock func() time.Time) *env {
	t.Helper()
	now := clock()
	demo := demoProfileFor(t, now)
	a := shelltest.NewAppliance(t, shelltest.Options{Clock: clock, Demo: &demo}, New())
	return &env{Appliance: a, t: t, now: now}
}

func demoProfileFor(t testing.TB, now time.Time) config.Certificate {
	t.Helper()
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.SelfSigned(key, pki.Subject{CommonName: "esa.example.com", OrganizationalUnit: "Demo Certificate"}, 3650, now)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, _ := pki.EncodePrivateKeyPEM(key)
	return config.Certificate{Name: "Demo", CertPEM: string(pki.EncodeCertificatePEM(cert)), KeyPEM: string(keyPEM)}
}

// script runs input as a script session and returns its output, exit
// status and session.
func (e *env) script(input string) (string, int, *shell.Session) {
	return e.Run(false, input)
}

// terminal runs lines as typed on a terminal: invalid answers are asked
// again, refusals bring the menu back.
func (e *env) terminal(lines []string) (string, int, *shell.Session) {
	var out bytes.Buffer
	s, code := e.Session(&shelltest.Term{Lines: lines, Out: &out}, &out)
	return out.String(), code, s
}

// A tiny PKI for tests.

type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial int64 = 100

func ecKey(t testing.TB) crypto.Signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs a certificate for key (a new one when nil) with parent (self
// when nil).
func issue(t testing.TB, parent *testCert, cn string, ca bool, from, to time.Time) *testCert {
	t.Helper()
	key := ecKey(t)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
		NotBefore: from, NotAfter: to, BasicConstraintsValid: true, IsCA: ca,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if !ca {
		tmpl.DNSNames = []string{cn}
	} else {
		tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageCertSign, nil
	}
	signer, pc := key, tmpl
	if parent != nil {
		signer, pc = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pc, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{c, key}
}

func (c *testCert) certPEM() string { return string(pki.EncodeCertificatePEM(c.cert)) }

func (c *testCert) keyPEM() string {
	der, _ := x509.MarshalPKCS8PrivateKey(c.key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// pkiSet is a root, an intermediate and leaves valid at testNow.
type pkiSet struct {
	root, inter, otherInter, leaf, expired, future, soon *testCert
}

func newPKI(t testing.TB) pkiSet {
	t.Helper()
	y := func(n int) time.Time { return testNow.AddDate(n, 0, 0) }
	var p pkiSet
	p.root = issue(t, nil, "Test Root CA", true, y(-2), y(20))
	p.inter = issue(t, p.root, "Test Intermediate CA", true, y(-2), y(10))
	otherRoot := issue(t, nil, "Other Root CA", true, y(-2), y(20))
	p.otherInter = issue(t, otherRoot, "Other Intermediate CA", true, y(-2), y(10))
	p.leaf = issue(t, p.inter, "mail.example.com", false, y(-1), y(1))
	p.expired = issue(t, p.inter, "old.example.com", false, y(-2), y(-1))
	p.future = issue(t, p.inter, "future.example.com", false, y(1), y(2))
	p.soon = issue(t, p.inter, "soon.example.com", false, y(-1), testNow.AddDate(0, 0, 10))
	return p
}

// trustRoot stages the test root in the custom list and commits it.
func (e *env) trustRoot(p pkiSet) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.Dir, "configuration", "root.pem"), []byte(p.root.certPEM()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	out, code, _ := e.script("certconfig\ncertauthority\ncustom\nimport\nroot.pem\nN\n\n\n\ncommit root\n")
	if code != 0 || !strings.Contains(out, "Changes committed") {
		e.t.Fatalf("importing the root: %d\n%s", code, out)
	}
}

func lines(parts ...string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, strings.Split(strings.TrimSuffix(p, "\n"), "\n")...)
	}
	return out
}

// opensslPath skips the test when the real binary is not installed
// (scripts/testdeps.sh installs it).
func opensslPath(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not installed: make test installs it (scripts/testdeps.sh)")
	}
	return p
}

func openssl(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := opensslErr(t, dir, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func opensslErr(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(opensslPath(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
