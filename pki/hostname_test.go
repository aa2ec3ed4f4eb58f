package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"testing"
)

func TestVerifyHostname(t *testing.T) {
	withSANs := func(cn string, dns ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	}
	tests := []struct {
		name string
		cert *x509.Certificate
		host string
		ok   bool
	}{
		{"exact san", withSANs("", "mail.example.com"), "mail.example.com", true},
		{"case and trailing dot", withSANs("", "Mail.Example.COM"), "MAIL.example.com.", true},
		{"second san", withSANs("", "a.example.com", "b.example.com"), "b.example.com", true},
		{"wildcard one label", withSANs("", "*.example.com"), "mail.example.com", true},
		{"wildcard not two labels", withSANs("", "*.example.com"), "a.mail.example.com", false},
		{"wildcard not bare domain", withSANs("", "*.example.com"), "example.com", false},
		{"wildcard not empty label", withSANs("", "*.example.com"), ".example.com", false},
		{"wildcard tld refused", withSANs("", "*.com"), "example.com", false},
		{"partial wildcard refused", withSANs("", "m*.example.com"), "mail.example.com", false},
		{"wildcard not leftmost", withSANs("", "mail.*.com"), "mail.example.com", false},
		{"cn ignored when san present", withSANs("mail.example.com", "other.example.com"), "mail.example.com", false},
		{"cn used without san", withSANs("mail.example.com"), "mail.example.com", true},
		{"cn wildcard without san", withSANs("*.example.com"), "mx.example.com", true},
		{"no names", withSANs(""), "mail.example.com", false},
		{"empty host", withSANs("", "mail.example.com"), "", false},
		{"ip san", &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}}, "192.0.2.1", true},
		{"bracketed ipv6", &x509.Certificate{IPAddresses: []net.IP{net.ParseIP("2001:db8::1")}}, "[2001:db8::1]", true},
		{"ip not matched by cn", withSANs("192.0.2.1"), "192.0.2.1", false},
		{"ip not matched by wildcard", withSANs("", "*.2.1"), "192.0.2.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyHostname(tc.cert, tc.host)
			if tc.ok && err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrHostnameMismatch) {
				t.Errorf("err = %v, want ErrHostnameMismatch", err)
			}
		})
	}
	if err := VerifyHostname(nil, "a"); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("nil cert: err = %v", err)
	}
}
