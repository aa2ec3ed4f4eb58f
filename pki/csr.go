package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// CSRFromCertificate returns a PEM "CERTIFICATE REQUEST" for the subject
// and subjectAltNames of cert, signed by key. It is how an existing
// profile is renewed: the CA signs the same key and names again, which is
// what the administrator does when a committed certificate is about to
// expire or comes back from the CA with the wrong chain.
func CSRFromCertificate(key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("certificate request: %w", ErrNoKey)
	}
	if cert == nil {
		return nil, fmt.Errorf("certificate request: %w", ErrNoCertificate)
	}
	if !KeyMatches(cert, key) {
		return nil, fmt.Errorf("certificate request: %w", ErrKeyMismatch)
	}
	tmpl := &x509.CertificateRequest{
		RawSubject:     cert.RawSubject,
		DNSNames:       cert.DNSNames,
		IPAddresses:    cert.IPAddresses,
		EmailAddresses: cert.EmailAddresses,
		URIs:           cert.URIs,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ParseCSR returns the first CERTIFICATE REQUEST in pemData after checking
// its self-signature.
func ParseCSR(pemData []byte) (*x509.CertificateRequest, error) {
	blocks, err := decodePEM(pemData)
	if err != nil {
		return nil, err
	}
	for _, b := range blocks {
		if b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST" {
			continue
		}
		csr, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", b.where(), ErrMalformedCertificate, err)
		}
		if err := csr.CheckSignature(); err != nil {
			return nil, fmt.Errorf("%s: %w: bad self-signature: %w", b.where(), ErrMalformedCertificate, err)
		}
		return csr, nil
	}
	return nil, fmt.Errorf("%w: no CERTIFICATE REQUEST block", ErrNoCertificate)
}
