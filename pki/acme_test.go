package pki

import (
	"testing"
	"time"
)

func TestACMEPlaceholder(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	certPEM, keyPEM, err := ACMEPlaceholder([]string{"mail.example.com", "mx.example.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKey(keyPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := certs[0]
	if !KeyMatches(c, key) {
		t.Error("the key does not match the placeholder")
	}
	if c.Subject.CommonName != "mail.example.com" || VerifyHostname(c, "mx.example.com") != nil || VerifyHostname(c, "mail.example.com") != nil {
		t.Errorf("names: CN %q SANs %v", c.Subject.CommonName, c.DNSNames)
	}
	if want := now.AddDate(0, 0, ACMEPlaceholderDays); !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
	if _, err := NewACMEAccountKey(); err != nil {
		t.Fatal(err)
	}
}
