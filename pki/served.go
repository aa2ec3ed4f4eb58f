package pki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ServedCertificate turns a certificate profile (leaf PEM, intermediates,
// key) into what a TLS server or client presents: the leaf and its
// intermediates in the order given, without duplicates and never a
// self-signed root — peers must have the root already, and sending it only
// hides a chain that is incomplete.
func ServedCertificate(certPEM string, intermediates []string, keyPEM string) (*tls.Certificate, error) {
	if keyPEM == "" {
		return nil, errors.New("it has no private key (a signing request is pending)")
	}
	certs, err := ParseCertificates([]byte(certPEM))
	if err != nil {
		return nil, err
	}
	for _, in := range intermediates {
		more, err := ParseCertificates([]byte(in))
		if err != nil {
			return nil, fmt.Errorf("intermediate: %w", err)
		}
		certs = append(certs, more...)
	}
	var chain bytes.Buffer
	seen := map[string]bool{}
	for i, c := range certs {
		if i > 0 && (IsSelfSignedRoot(c) || seen[string(c.Raw)]) {
			continue
		}
		seen[string(c.Raw)] = true
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	pair, err := tls.X509KeyPair(chain.Bytes(), []byte(keyPEM))
	if err != nil {
		return nil, err
	}
	return &pair, nil
}

// IsSelfSignedRoot reports a certificate that issued itself.
func IsSelfSignedRoot(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}
