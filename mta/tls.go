package mta

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"esash/config"
	"esash/pki"
)

// cipherName names a negotiated suite as AsyncOS (OpenSSL) logs it. The
// suites offered are the sslconfig policy's (config.TLSPolicy).
func cipherName(id uint16) string {
	return config.CipherSuiteName(id)
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS10:
		return "TLSv1"
	}
	return fmt.Sprintf("0x%04x", v)
}

// loadCertificate is what a handshake serves for a certificate profile.
func loadCertificate(ct config.Certificate) (*tls.Certificate, error) {
	return pki.ServedCertificate(ct.CertPEM, ct.Intermediates, ct.KeyPEM)
}

// clientRoots is the pool a "verify client certificate" policy trusts:
// the system roots and the custom list, as certconfig enables them.
func clientRoots(cfg *config.Config, system func() (*x509.CertPool, error)) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if cfg.CAs.SystemEnabled && system != nil {
		if sys, err := system(); err == nil && sys != nil {
			pool = sys.Clone()
		}
	}
	if cfg.CAs.CustomEnabled {
		for _, ca := range cfg.CAs.Custom {
			cs, err := pki.ParseCertificates([]byte(ca.PEM))
			if err != nil {
				return nil, fmt.Errorf("certificate authority %s: %w", ca.Name, err)
			}
			for _, c := range cs {
				pool.AddCert(c)
			}
		}
	}
	return pool, nil
}

// verifyClient checks a client's certificate chain against roots.
func verifyClient(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("client certificate not verified: %w", err)
	}
	return nil
}

// alertText names a TLS alert description as OpenSSL does in logs.
func alertText(desc byte) string {
	s := tls.AlertError(desc).Error()
	return strings.TrimPrefix(s, "tls: ")
}
