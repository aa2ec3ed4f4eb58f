package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

// TestValidateCRLScopedIDP: the commit check refuses a list scoped by a
// non-critical issuing distribution point (here: only user certificates),
// as the import and the MTA do (pki.ParseCRL): stored, it would be
// skipped by the MTA while the configuration says it is in force.
func TestValidateCRLScopedIDP(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Scoped CA"},
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
	idp := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Value: []byte{0x30, 0x03, 0x81, 0x01, 0xff}}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{idp}}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := factory(t)
	cfg.CRLs = []CRL{{Name: "scoped", PEM: string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))}}
	for _, p := range Validate(cfg, time.Now()) {
		if strings.HasPrefix(p.Path, "crls[scoped].crl") && !p.Warning {
			return
		}
	}
	t.Fatal("a CRL scoped to user certificates passed the commit check")
}
