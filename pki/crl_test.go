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
	set := pki.NewCRLSet([]pki.CRLList{{List: rl}}, nil)
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
		{"empty set", pki.NewCRLSet(nil, nil), []*x509.Certificate{bad.Cert, ca.Cert}, now, nil},
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

// TestCRLKeyRollover: a CA that rolled its key over (same name, new key,
// openssl's database kept) signs its CRL with the new key; the list covers
// the certificates the old key issued when the new certificate is trusted,
// and is ignored when it is not (a key of the name the appliance does not
// trust speaks for no one). CRLIssuer finds the new key's certificate
// whichever order the candidates come in.
func TestCRLKeyRollover(t *testing.T) {
	ca := crltest.NewCA(t, "Rollover CA")
	oldCA := ca.Cert
	good, bad := ca.Issue("good.example.com"), ca.Issue("bad.example.com")
	ca.Revoke(bad)
	ca.Rekey()
	newCA := ca.Cert
	fresh := ca.Issue("fresh.example.com")
	ca.Revoke(fresh)
	rl := mustCRL(t, []byte(ca.CRL(time.Time{}, time.Time{})))
	if rl.CheckSignatureFrom(oldCA) == nil {
		t.Fatal("the CRL verifies with the old key: not a rollover")
	}
	now := time.Now()
	trusted := pki.NewCRLSet([]pki.CRLList{{List: rl}}, []*x509.Certificate{oldCA, newCA})
	untrusted := pki.NewCRLSet([]pki.CRLList{{List: rl}}, []*x509.Certificate{oldCA})
	for _, tc := range []struct {
		name string
		set  *pki.CRLSet
		path []*x509.Certificate
		now  time.Time
		want error
	}{
		{"old key's certificate revoked", trusted, []*x509.Certificate{bad.Cert, oldCA}, now, pki.ErrRevoked},
		{"old key's certificate not revoked", trusted, []*x509.Certificate{good.Cert, oldCA}, now, nil},
		{"old key's certificate, expired list", trusted, []*x509.Certificate{good.Cert, oldCA}, now.Add(8 * 24 * time.Hour), pki.ErrCRLExpired},
		{"new key's certificate revoked", trusted, []*x509.Certificate{fresh.Cert, newCA}, now, pki.ErrRevoked},
		{"new key not trusted: list ignored for the old key's", untrusted, []*x509.Certificate{bad.Cert, oldCA}, now, nil},
		{"new key not trusted: the new key's own path", untrusted, []*x509.Certificate{fresh.Cert, newCA}, now, pki.ErrRevoked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.set.Check(tc.path, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
		})
	}
	for _, cands := range [][]*x509.Certificate{{oldCA, newCA}, {newCA, oldCA}} {
		if c, err := pki.CRLIssuer(rl, cands); err != nil || c != newCA {
			t.Fatalf("CRLIssuer = %v, %v; want the new key's certificate", c, err)
		}
	}
}

// TestCRLWithoutNextUpdate: a list without nextUpdate (openssl's, the
// field stripped) vouches for CRLLifetimeWithoutNextUpdate after its
// thisUpdate, or after the last fetch that found it current; then Check
// fails closed and PRINT's status says Expired.
func TestCRLWithoutNextUpdate(t *testing.T) {
	ca := crltest.NewCA(t, "No Next Update CA")
	good := ca.Issue("good.example.com")
	issued := time.Now().Add(-time.Minute).Truncate(time.Second)
	rl := mustCRL(t, []byte(ca.CRLWithoutNextUpdate(issued)))
	life := pki.CRLLifetimeWithoutNextUpdate
	path := []*x509.Certificate{good.Cert, ca.Cert}
	imported := pki.NewCRLSet([]pki.CRLList{{List: rl}}, nil)
	fetched := pki.NewCRLSet([]pki.CRLList{{List: rl, Confirmed: issued.Add(life)}}, nil)
	for _, tc := range []struct {
		name string
		set  *pki.CRLSet
		now  time.Time
		want error
	}{
		{"imported, within its lifetime", imported, issued.Add(life - time.Minute), nil},
		{"imported, past its lifetime", imported, issued.Add(life + time.Minute), pki.ErrCRLExpired},
		{"fetched again since: counts from the fetch", fetched, issued.Add(life + time.Minute), nil},
		{"fetched again since, past that", fetched, issued.Add(2*life + time.Minute), pki.ErrCRLExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.set.Check(path, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "no nextUpdate") {
				t.Errorf("the message does not say why: %v", err)
			}
		})
	}
	info := pki.DescribeCRL(rl)
	if got := info.Status(issued.Add(life + time.Minute)); got != pki.StatusExpired {
		t.Errorf("Status past the lifetime = %q", got)
	}
	if got := info.Status(issued.Add(time.Hour)); got != pki.StatusActive {
		t.Errorf("Status within the lifetime = %q", got)
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
