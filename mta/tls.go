package mta

import (
	"crypto/tls"
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

// alertText names a TLS alert description as OpenSSL does in logs.
func alertText(desc byte) string {
	s := tls.AlertError(desc).Error()
	return strings.TrimPrefix(s, "tls: ")
}
