package pki_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"esash/pki"
	"esash/pki/crltest"
)

func mustCRL(t *testing.T, data []byte) *x509.RevocationList {
	t.Helper()
	rl, err := pki.ParseCRL(data)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

// TestCRLCheck runs openssl's CA: a revoked certificate fails, another
// passes, an expired or future CRL fails closed, a CRL of an impostor
// of the issuer's name is ignored, and DER reads as PEM does.
func TestCRLCheck(t *testing.T) {
	ca := crltest.NewCA(t, "Test CRL CA")
	good, bad := ca.Issue("good.example.com"), ca.Issue("bad.example.com")
	ca.Revoke(bad)
	crlPEM := ca.CRL(time.Time{}, time.Time{})
	rl := mustCRL(t, []byte(crlPEM))
	if der := mustCRL(t, ca.DER(crlPEM)); string(der.Raw) != string(rl.Raw) {
		t.Fatal("DER and PEM forms differ")
	}
	impostor := crltest.NewCA(t, "Test CRL CA")
	now := time.Now()
	set := pki.NewCRLSet([]*x509.RevocationList{rl})
	for _, tc := range []struct {
		name string
		set  *pki.CRLSet
		path []*x509.Certificate
		now  time.Time
		want error
	}{
		{"not revoked", set, []*x509.Certificate{good.Cert, ca.Cert}, now, nil},
		{"revoked", set, []*x509.Certificate{bad.Cert, ca.Cert}, now, pki.ErrRevoked},
		{"expired CRL", set, []*x509.Certificate{good.Cert, ca.Cert}, now.Add(8 * 24 * time.Hour), pki.ErrCRLExpired},
		{"future CRL", set, []*x509.Certificate{good.Cert, ca.Cert}, now.Add(-time.Hour), pki.ErrCRLNotYetValid},
		{"other issuer unchecked", set, []*x509.Certificate{impostor.Issue("x.example.com").Cert, impostor.Cert}, now, nil},
		{"empty set", pki.NewCRLSet(nil), []*x509.Certificate{bad.Cert, ca.Cert}, now, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.set.Check(tc.path, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	if err := set.Check([]*x509.Certificate{bad.Cert, ca.Cert}, now); !strings.Contains(err.Error(), `"bad.example.com"`) {
		t.Errorf("message does not name the certificate: %v", err)
	}
}

// TestCRLIssuer: the signing CA is found; a CRL of the impostor (same
// name, other key) is refused with ErrCRLSignature; an unknown issuer
// with ErrCRLIssuerUnknown.
func TestCRLIssuer(t *testing.T) {
	ca := crltest.NewCA(t, "Issuer CA")
	impostor := crltest.NewCA(t, "Issuer CA")
	other := crltest.NewCA(t, "Other CA")
	rl := mustCRL(t, []byte(impostor.CRL(time.Time{}, time.Time{})))
	if _, err := pki.CRLIssuer(rl, []*x509.Certificate{other.Cert, ca.Cert}); !errors.Is(err, pki.ErrCRLSignature) {
		t.Fatalf("impostor's CRL: %v", err)
	}
	if _, err := pki.CRLIssuer(rl, []*x509.Certificate{other.Cert}); !errors.Is(err, pki.ErrCRLIssuerUnknown) {
		t.Fatalf("unknown issuer: %v", err)
	}
	if c, err := pki.CRLIssuer(rl, []*x509.Certificate{ca.Cert, impostor.Cert}); err != nil || c != impostor.Cert {
		t.Fatalf("CRLIssuer = %v, %v", c, err)
	}
}

func TestParseCRLRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
		{"garbage DER", "\x30\x03\x02\x01\x01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pki.ParseCRL([]byte(tc.in)); !errors.Is(err, pki.ErrNoCRL) {
				t.Fatalf("ParseCRL = %v", err)
			}
		})
	}
}

// FuzzParseCRL: no input panics, and what parses re-encodes to itself.
func FuzzParseCRL(f *testing.F) {
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n"))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		rl, err := pki.ParseCRL(data)
		if err != nil {
			return
		}
		again, err := pki.ParseCRL(pki.EncodeCRLPEM(rl))
		if err != nil || string(again.Raw) != string(rl.Raw) {
			t.Fatalf("re-encoded CRL: %v", err)
		}
	})
}
