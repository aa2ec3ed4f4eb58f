package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"esash/pki"
)

// crlWithExtension is a CRL of a fresh CA carrying ext.
func crlWithExtension(t *testing.T, ext pkix.Extension) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "IDP CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{ext}}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return crl
}

// TestParseCRLScopedIDP: a list scoped by its issuing distribution point
// (only user certificates, only CA certificates, some reasons, indirect,
// attribute certificates) covers part of its issuer's certificates; taken
// for the whole list it would let the others through, so it is refused
// whether or not its issuer marked the extension critical (RFC 5280 says
// it must). A point that only names the distribution point is accepted
// when not critical.
func TestParseCRLScopedIDP(t *testing.T) {
	oid := asn1.ObjectIdentifier{2, 5, 29, 28}
	dpName := []byte{0x30, 0x0a, 0xa0, 0x08, 0xa0, 0x06, 0x86, 0x04, 'h', ':', '/', '/'}
	for _, tc := range []struct {
		name   string
		value  []byte
		refuse bool
	}{
		{"only user certificates", []byte{0x30, 0x03, 0x81, 0x01, 0xff}, true},
		{"only CA certificates", []byte{0x30, 0x03, 0x82, 0x01, 0xff}, true},
		{"only some reasons", []byte{0x30, 0x04, 0x83, 0x02, 0x07, 0x80}, true},
		{"indirect", []byte{0x30, 0x03, 0x84, 0x01, 0xff}, true},
		{"attribute certificates", []byte{0x30, 0x03, 0x85, 0x01, 0xff}, true},
		{"malformed", []byte{0x04, 0x00}, true},
		{"distribution point name only", dpName, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pki.ParseCRL(crlWithExtension(t, pkix.Extension{Id: oid, Critical: false, Value: tc.value}))
			if tc.refuse && !errors.Is(err, pki.ErrNoCRL) {
				t.Fatalf("ParseCRL = %v, want refused", err)
			}
			if !tc.refuse && err != nil {
				t.Fatalf("ParseCRL = %v", err)
			}
		})
	}
}
