package pki

import (
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSelfSigned(t *testing.T) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		subj     Subject
		days     int
		wantDNS  []string
		wantIPs  []net.IP
		wantErr  error
		wantName string
	}{
		{name: "hostname", subj: Subject{CommonName: "Mail.Example.com", Organization: "Example", Country: "us"}, days: 365,
			wantDNS: []string{"mail.example.com"}, wantName: "CN=Mail.Example.com,O=Example,C=US"},
		{name: "wildcard", subj: Subject{CommonName: "*.example.com"}, days: 30, wantDNS: []string{"*.example.com"}},
		{name: "trailing dot", subj: Subject{CommonName: "mx.example.com."}, days: 1, wantDNS: []string{"mx.example.com"}},
		{name: "ip address", subj: Subject{CommonName: "192.0.2.25"}, days: 1, wantIPs: []net.IP{net.ParseIP("192.0.2.25")}},
		{name: "not a hostname", subj: Subject{CommonName: "Example Corp Mail Gateway"}, days: 1},
		{name: "numeric", subj: Subject{CommonName: "12345"}, days: 1},
		{name: "zero days", subj: Subject{CommonName: "a.example"}, days: 0, wantErr: ErrInvalidValidity},
		{name: "no cn", subj: Subject{Organization: "Example"}, days: 1, wantErr: ErrInvalidSubject},
		{name: "long cn", subj: Subject{CommonName: strings.Repeat("a", 65)}, days: 1, wantErr: ErrInvalidSubject},
		{name: "bad country", subj: Subject{CommonName: "a.example", Country: "USA"}, days: 1, wantErr: ErrInvalidSubject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := SelfSigned(key, tc.subj, tc.days, testNow)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cert.DNSNames, tc.wantDNS) {
				t.Errorf("DNSNames = %q, want %q", cert.DNSNames, tc.wantDNS)
			}
			if !slices.EqualFunc(cert.IPAddresses, tc.wantIPs, net.IP.Equal) {
				t.Errorf("IPAddresses = %v, want %v", cert.IPAddresses, tc.wantIPs)
			}
			if tc.wantName != "" && cert.Subject.String() != tc.wantName {
				t.Errorf("Subject = %q, want %q", cert.Subject, tc.wantName)
			}
			if !cert.NotBefore.Equal(testNow.Add(-5 * time.Minute)) {
				t.Errorf("NotBefore = %v", cert.NotBefore)
			}
			if want := testNow.AddDate(0, 0, tc.days); !cert.NotAfter.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", cert.NotAfter, want)
			}
			if !cert.BasicConstraintsValid || cert.IsCA {
				t.Error("want BasicConstraints CA:FALSE")
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
				t.Errorf("ExtKeyUsage = %v", cert.ExtKeyUsage)
			}
			if cert.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v, want digitalSignature only for ECDSA", cert.KeyUsage)
			}
			if !serialBitsOK(cert.SerialNumber) {
				t.Errorf("serial %v not a positive 128-bit number", cert.SerialNumber)
			}
			if !isSelfSigned(cert) {
				t.Error("certificate does not verify against itself")
			}
		})
	}
	t.Run("nil key", func(t *testing.T) {
		if _, err := SelfSigned(nil, Subject{CommonName: "a.example"}, 1, testNow); !errors.Is(err, ErrNoKey) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSelfSignedOpenSSL(t *testing.T) {
	dir := t.TempDir()
	opensslPath(t)
	tests := []struct {
		name string
		kt   KeyType
		want []string
	}{
		{"rsa", RSA2048, []string{"Public-Key: (2048 bit)", "Digital Signature, Key Encipherment"}},
		{"ecdsa p384", ECDSAP384, []string{"Public-Key: (384 bit)", "NIST CURVE: P-384"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := GenerateKey(tc.kt)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := SelfSigned(key, Subject{CommonName: "mail.example.com", Organization: "Example Inc", Country: "US"}, 365, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			f := tc.name + ".pem"
			writeFile(t, dir, f, EncodeCertificatePEM(cert))
			text := openssl(t, dir, "x509", "-in", f, "-noout", "-text")
			want := append([]string{
				"CN = mail.example.com", "CA:FALSE", "DNS:mail.example.com",
				"TLS Web Server Authentication, TLS Web Client Authentication",
			}, tc.want...)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			fp := openssl(t, dir, "x509", "-in", f, "-noout", "-fingerprint", "-sha256")
			if want := "sha256 Fingerprint=" + Info(cert).FingerprintSHA256; !strings.EqualFold(strings.TrimSpace(fp), want) {
				t.Errorf("openssl fingerprint %q, Info gives %q", strings.TrimSpace(fp), want)
			}
			// A self-signed leaf must be usable as its own trust anchor.
			openssl(t, dir, "verify", "-CAfile", f, "-partial_chain", f)
		})
	}
}

func TestCreateCSROpenSSL(t *testing.T) {
	dir := t.TempDir()
	opensslPath(t)
	tests := []struct {
		name string
		kt   KeyType
		subj Subject
		want []string
	}{
		{"rsa2048", RSA2048, Subject{CommonName: "mail.example.com", Organization: "Example", OrganizationalUnit: "IT",
			Locality: "San Jose", State: "California", Country: "US"},
			[]string{"CN=mail.example.com", "ST=California", "L=San Jose", "OU=IT", "DNS:mail.example.com"}},
		{"p256", ECDSAP256, Subject{CommonName: "smtp.example.org"}, []string{"CN=smtp.example.org", "DNS:smtp.example.org"}},
		{"p384 no san", ECDSAP384, Subject{CommonName: "Example relay"}, []string{"CN=Example relay"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, err := GenerateKey(tc.kt)
			if err != nil {
				t.Fatal(err)
			}
			csr, err := CreateCSR(key, tc.subj)
			if err != nil {
				t.Fatal(err)
			}
			f := strings.ReplaceAll(tc.name, " ", "_") + ".csr"
			writeFile(t, dir, f, csr)
			out := openssl(t, dir, "req", "-in", f, "-verify", "-noout", "-text", "-nameopt", "sep_comma_plus")
			for _, w := range append(tc.want, "verify OK") {
				if !strings.Contains(out, w) {
					t.Errorf("openssl req output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("invalid subject", func(t *testing.T) {
		key, _ := GenerateKey(ECDSAP256)
		if _, err := CreateCSR(key, Subject{}); !errors.Is(err, ErrInvalidSubject) {
			t.Errorf("err = %v", err)
		}
	})
}
