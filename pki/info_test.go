package pki

import (
	"crypto/x509"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestInfo(t *testing.T) {
	root := issue(t, nil, certOpts{cn: "Test Root", isCA: true})
	leaf := issue(t, root, certOpts{cn: "mail.example.com", dnsNames: []string{"mail.example.com", "mx.example.com"}})

	t.Run("issued", func(t *testing.T) {
		i := Info(leaf.cert)
		if i.CommonName != "mail.example.com" || i.Issuer != "Test Root" || i.SelfSigned {
			t.Errorf("got %+v", i)
		}
		if !slices.Equal(i.SANs, []string{"mail.example.com", "mx.example.com"}) {
			t.Errorf("SANs = %q", i.SANs)
		}
		if i.KeyAlgorithm != "ECDSA P-256" {
			t.Errorf("KeyAlgorithm = %q", i.KeyAlgorithm)
		}
		if len(i.FingerprintSHA256) != 32*3-1 {
			t.Errorf("FingerprintSHA256 = %q", i.FingerprintSHA256)
		}
	})
	t.Run("self-signed root", func(t *testing.T) {
		if i := Info(root.cert); !i.SelfSigned || i.Issuer != "Test Root" {
			t.Errorf("got %+v", i)
		}
	})
	t.Run("issuer without CN and mixed SANs", func(t *testing.T) {
		c := *leaf.cert
		c.Issuer.CommonName = ""
		c.IPAddresses = []net.IP{net.ParseIP("192.0.2.1")}
		c.EmailAddresses = []string{"postmaster@example.com"}
		c.URIs = []*url.URL{{Scheme: "https", Host: "example.com"}}
		i := Info(&c)
		if i.Issuer != "O=esash test" {
			t.Errorf("Issuer = %q", i.Issuer)
		}
		want := []string{"mail.example.com", "mx.example.com", "192.0.2.1", "postmaster@example.com", "https://example.com"}
		if !slices.Equal(i.SANs, want) {
			t.Errorf("SANs = %q, want %q", i.SANs, want)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if i := Info(nil); i.CommonName != "" {
			t.Errorf("got %+v", i)
		}
	})
}

func TestStatusAndDaysLeft(t *testing.T) {
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	info := Info(&x509.Certificate{NotBefore: notBefore, NotAfter: notAfter})
	tests := []struct {
		name       string
		now        time.Time
		wantStatus string
		wantDays   int
	}{
		{"active", notAfter.AddDate(0, 0, -10), StatusActive, 10},
		{"last day", notAfter.Add(-time.Hour), StatusActive, 0},
		{"exactly at NotAfter", notAfter, StatusActive, 0},
		{"just expired", notAfter.Add(time.Second), StatusExpired, -1},
		{"long expired", notAfter.AddDate(0, 0, 30), StatusExpired, -30},
		{"exactly at NotBefore", notBefore, StatusActive, 364},
		{"not yet valid", notBefore.Add(-time.Second), StatusNotYetValid, 364},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := info.Status(tc.now); got != tc.wantStatus {
				t.Errorf("Status = %q, want %q", got, tc.wantStatus)
			}
			if got := info.DaysLeft(tc.now); got != tc.wantDays {
				t.Errorf("DaysLeft = %d, want %d", got, tc.wantDays)
			}
		})
	}
}
