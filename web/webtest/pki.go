package webtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// PKI is a root, an intermediate it signs and a leaf the intermediate
// signs, made at test time: no key is ever stored in the repository.
type PKI struct {
	Root, Inter, Leaf          *x509.Certificate
	RootPEM, InterPEM, LeafPEM string
	LeafKeyPEM                 string // PKCS#8
}

// NewPKI makes a chain whose CAs are named after name and whose leaf is
// for hosts (the first is its Common Name), valid from an hour ago.
func NewPKI(t testing.TB, name string, hosts ...string) *PKI {
	t.Helper()
	now := time.Now()
	mk := func(tmpl, parent *x509.Certificate, pub, signer any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		return n
	}
	p := &PKI{}
	rootKey, interKey, leafKey := key(), key(), key()
	rootT := &x509.Certificate{SerialNumber: serial(),
		Subject:   pkix.Name{CommonName: name + " Test Root CA", Organization: []string{"esash tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.Root = mk(rootT, rootT, &rootKey.PublicKey, rootKey)
	interT := &x509.Certificate{SerialNumber: serial(),
		Subject:   pkix.Name{CommonName: name + " Test Intermediate CA", Organization: []string{"esash tests"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(20 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	p.Inter = mk(interT, p.Root, &interKey.PublicKey, rootKey)
	leafT := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	p.Leaf = mk(leafT, p.Inter, &leafKey.PublicKey, interKey)
	p.RootPEM, p.InterPEM, p.LeafPEM = CertPEM(p.Root), CertPEM(p.Inter), CertPEM(p.Leaf)
	kd, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		t.Fatal(err)
	}
	p.LeafKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	return p
}

// CertPEM encodes one certificate.
func CertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// Pool trusts the root only.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.Root)
	return pool
}
