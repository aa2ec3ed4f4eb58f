package pki

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCSRFromCertificateOpenSSL(t *testing.T) {
	dir := t.TempDir()
	opensslPath(t)
	key, err := GenerateKey(RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := SelfSigned(key, Subject{CommonName: "mail.example.com", Organization: "Example", Country: "KR"}, 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	csr, err := CSRFromCertificate(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "r.csr", csr)
	out := openssl(t, dir, "req", "-in", "r.csr", "-verify", "-noout", "-text", "-nameopt", "RFC2253")
	for _, w := range []string{"verify OK", "CN=mail.example.com,O=Example,C=KR", "DNS:mail.example.com"} {
		if !strings.Contains(out, w) {
			t.Errorf("openssl req lacks %q:\n%s", w, out)
		}
	}
	parsed, err := ParseCSR(csr)
	if err != nil {
		t.Fatal(err)
	}
	if PublicKeyFingerprint(parsed.PublicKey) != PublicKeyFingerprint(key.Public()) {
		t.Error("CSR key differs")
	}
	other, _ := GenerateKey(ECDSAP256)
	if _, err := CSRFromCertificate(other, cert); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("mismatched key: %v", err)
	}
	if _, err := CSRFromCertificate(nil, cert); !errors.Is(err, ErrNoKey) {
		t.Errorf("nil key: %v", err)
	}
}

func TestParseCSR(t *testing.T) {
	key, _ := GenerateKey(ECDSAP256)
	csr, err := CreateCSR(key, Subject{CommonName: "a.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(csr)
	bad := append([]byte(nil), b.Bytes...)
	bad[len(bad)-3] ^= 0xff // inside the signature
	tests := []struct {
		name string
		in   []byte
		err  error
	}{
		{"good", csr, nil},
		{"bad signature", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: bad}), ErrMalformedCertificate},
		{"no request", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ErrNoCertificate},
		{"truncated", csr[:40], ErrMalformedPEM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCSR(tc.in)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestDescribePEM(t *testing.T) {
	leaf := issue(t, nil, certOpts{cn: "mail.example.com"})
	keyPEM, _ := EncodePrivateKeyPEM(leaf.key)
	csr, _ := CreateCSR(leaf.key, Subject{CommonName: "mail.example.com"})
	fp := Info(leaf.cert).FingerprintSHA256
	pub := PublicKeyFingerprint(leaf.key.Public())
	tests := []struct {
		name, in, want string
	}{
		{"not pem", "hello", ""},
		{"certificate", string(EncodeCertificatePEM(leaf.cert)), `certificate "mail.example.com" SHA256 ` + fp},
		{"key", string(keyPEM), "private key ECDSA P-256, public key SHA256 " + pub},
		{"csr", string(csr), `certificate request "CN=mail.example.com", public key SHA256 ` + pub},
		{"encrypted", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "encrypted private key"},
		{"garbage key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "unreadable private key"},
		{"truncated key", string(keyPEM[:60]), "unreadable private key"},
		{"two blocks", string(EncodeCertificatePEM(leaf.cert)) + string(keyPEM), `certificate "mail.example.com" SHA256 ` + fp + "; private key ECDSA P-256, public key SHA256 " + pub},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DescribePEM(tc.in)
			if got != tc.want {
				t.Errorf("DescribePEM = %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "BEGIN") {
				t.Errorf("PEM in the description: %q", got)
			}
		})
	}
	// The certificate's public key and the key's have the same fingerprint.
	if PublicKeyFingerprint(leaf.cert.PublicKey) != pub {
		t.Error("certificate and key public fingerprints differ")
	}
}

func TestIsFQDN(t *testing.T) {
	for name, want := range map[string]bool{
		"mail.example.com": true, "mail.example.com.": true, "*.example.com": true, "a-b.example.co": true,
		"mail": false, "": false, "*.com": false, "1.2.3.4": false, "Example Relay": false,
		"mail..example.com": false, "-a.example.com": false, "m*.example.com": false, "example.123": false,
	} {
		if got := IsFQDN(name); got != want {
			t.Errorf("IsFQDN(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCheckSize(t *testing.T) {
	if err := CheckSize(MaxInputSize); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	if err := CheckSize(10 << 20); !errors.Is(err, ErrTooLarge) {
		t.Errorf("10 MB: %v", err)
	}
}

func TestSubjectValidate(t *testing.T) {
	long := strings.Repeat("x", 65)
	tests := []struct {
		name string
		s    Subject
		ok   bool
	}{
		{"minimal", Subject{CommonName: "a.example.com"}, true},
		{"long organization", Subject{CommonName: "a", Organization: long}, false},
		{"long unit", Subject{CommonName: "a", OrganizationalUnit: long}, false},
		{"long locality", Subject{CommonName: "a", Locality: strings.Repeat("x", 129)}, false},
		{"long state", Subject{CommonName: "a", State: strings.Repeat("x", 129)}, false},
		{"email", Subject{CommonName: "a", EmailAddresses: []string{"jane@example.com"}}, true},
		{"bad email", Subject{CommonName: "a", EmailAddresses: []string{"jane"}}, false},
		{"bad dns", Subject{CommonName: "a", DNSNames: []string{"not a name"}}, false},
	}
	for _, tc := range tests {
		err := tc.s.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("%s: %v is not ErrInvalidSubject", tc.name, err)
		}
	}
}

func TestSelfSignedSMIMEOpenSSL(t *testing.T) {
	dir := t.TempDir()
	opensslPath(t)
	key, _ := GenerateKey(ECDSAP256)
	subj := Subject{CommonName: "Jane Doe", SMIME: true,
		EmailAddresses: []string{"jane@example.com"}, DNSNames: []string{"mail.example.com", "MAIL.example.com."}}
	cert, err := SelfSigned(key, subj, 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "s.pem", EncodeCertificatePEM(cert))
	out := openssl(t, dir, "x509", "-in", "s.pem", "-noout", "-text")
	for _, w := range []string{"E-mail Protection", "email:jane@example.com", "DNS:mail.example.com", "CN = Jane Doe"} {
		if !strings.Contains(out, w) {
			t.Errorf("openssl x509 -text lacks %q:\n%s", w, out)
		}
	}
	if strings.Count(out, "DNS:mail.example.com") != 1 {
		t.Errorf("repeated DNS name:\n%s", out)
	}
	csr, err := CreateCSR(key, subj)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "s.csr", csr)
	if out := openssl(t, dir, "req", "-in", "s.csr", "-noout", "-text"); !strings.Contains(out, "email:jane@example.com") {
		t.Errorf("CSR lacks the e-mail SAN:\n%s", out)
	}
}

func TestLoadSystemRootCertificates(t *testing.T) {
	dir := t.TempDir()
	a := issue(t, nil, certOpts{cn: "Root A", isCA: true})
	b := issue(t, nil, certOpts{cn: "Root B", isCA: true})
	bundle := append(EncodeCertificatePEM(a.cert, b.cert), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")...)
	file := filepath.Join(dir, "bundle.pem")
	if err := os.WriteFile(file, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	os.Mkdir(certDir, 0o700)
	os.WriteFile(filepath.Join(certDir, "a.pem"), EncodeCertificatePEM(a.cert), 0o600)
	t.Setenv("SSL_CERT_FILE", file)
	t.Setenv("SSL_CERT_DIR", certDir)
	got, err := loadSystemRootCertificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[0].Equal(a.cert) || !got[1].Equal(b.cert) {
		t.Errorf("got %d certificates, want Root A and Root B once each (the bad block skipped)", len(got))
	}
}

func TestSystemRootCertificates(t *testing.T) {
	certs, err := SystemRootCertificates()
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) == 0 {
		t.Fatal("no PEM trust store: make test installs ca-certificates")
	}
	pool, err := TrustPool(true, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A root of the listed store verifies against the pool.
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, CurrentTime: certs[0].NotBefore.Add(time.Hour),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("%s does not verify against the system pool: %v", certs[0].Subject, err)
	}
}

func TestTrustPoolCustomOnly(t *testing.T) {
	root := issue(t, nil, certOpts{cn: "Custom Root", isCA: true})
	leaf := issue(t, root, certOpts{cn: "mail.example.com"})
	pool, err := TrustPool(false, []*x509.Certificate{root.cert})
	if err != nil {
		t.Fatal(err)
	}
	r, err := BuildChain(leaf.cert, nil, pool, testNow)
	if err != nil || !r.Trusted {
		t.Errorf("custom root not trusted: %v", err)
	}
	empty, _ := TrustPool(false, nil)
	if _, err := BuildChain(leaf.cert, nil, empty, testNow); !errors.Is(err, ErrUntrusted) {
		t.Errorf("empty pool: %v", err)
	}
}
