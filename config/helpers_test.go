package config

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// testNow is the clock of every validation in these tests; certificates
// are made relative to it, so nothing depends on the real date.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newCert makes a self-signed ECDSA certificate profile valid from
// notBefore to notAfter. The key is generated at test time: no key is
// committed to the repository.
func newCert(t testing.TB, name string, notBefore, notAfter time.Time) Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name + ".example.com"},
		DNSNames:     []string{name + ".example.com"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return Certificate{Name: name, CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), KeyPEM: keyPEM(t, key)}
}

func keyPEM(t testing.TB, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// validCert is a profile valid for a year around testNow.
func validCert(t testing.TB, name string) Certificate {
	return newCert(t, name, testNow.Add(-24*time.Hour), testNow.Add(365*24*time.Hour))
}

// factory is the factory configuration with a freshly generated Demo
// certificate.
func factory(t testing.TB) *Config {
	t.Helper()
	return Factory(validCert(t, "Demo"))
}

// withEntries adds n destination entries to c (and returns c).
func withEntries(c *Config, n int) *Config {
	for i := range n {
		e := DestControl{Domain: fmt.Sprintf("d%05d.example.com", i)}
		switch i % 4 {
		case 1:
			e.TLS = TLSOutRequired
		case 2:
			e.MaxConcurrency, e.MaxMsgsPerConn = 10+i%90, 20
		case 3:
			e.Domain = ".sub" + e.Domain
			e.DANE = "opportunistic"
		}
		c.Destinations.Entries = append(c.Destinations.Entries, e)
	}
	return c
}

// canon is c as JSON with every empty list written the same way, nil or
// not: the setting-level equality Diff uses.
func canon(t testing.TB, c *Config) string {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(nullToEmpty(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// nullToEmpty rewrites JSON nulls as empty lists: Config has no pointers,
// maps or interfaces, so a null can only be a nil slice.
func nullToEmpty(v any) any {
	switch v := v.(type) {
	case nil:
		return []any{}
	case map[string]any:
		for k, e := range v {
			v[k] = nullToEmpty(e)
		}
	case []any:
		for i, e := range v {
			v[i] = nullToEmpty(e)
		}
	}
	return v
}

// assertSame fails the test when got and want differ as settings, naming
// the differing paths.
func assertSame(t testing.TB, what string, got, want *Config) {
	t.Helper()
	assertCanon(t, what, got, canon(t, want), want)
}

// assertCanon is assertSame with canon(want) already at hand.
func assertCanon(t testing.TB, what string, got *Config, cw string, want *Config) {
	t.Helper()
	cg := canon(t, got)
	if cg == cw {
		return
	}
	var paths []string
	for _, ch := range Diff(want, got) {
		paths = append(paths, string(ch.Op)+" "+ch.Path)
	}
	i := 0
	for i < len(cg) && i < len(cw) && cg[i] == cw[i] {
		i++
	}
	t.Errorf("%s: configurations differ; Diff(want, got) = %v; JSON differs at byte %d:\n got …%s…\nwant …%s…",
		what, paths, i, excerpt(cg, i), excerpt(cw, i))
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-60), min(len(s), i+60)
	return s[lo:hi]
}

// paths lists "op path" for each change, for messages and comparisons.
func paths(chs []Change) []string {
	out := make([]string, len(chs))
	for i, ch := range chs {
		out[i] = string(ch.Op) + " " + ch.Path
	}
	return out
}
