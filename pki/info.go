package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math"
	"strings"
	"time"
)

// Certificate statuses as printed by certconfig's listing.
const (
	StatusActive      = "Active"
	StatusExpired     = "Expired"
	StatusNotYetValid = "Not yet valid"
)

// CertInfo is the summary certconfig prints for a certificate.
type CertInfo struct {
	CommonName string
	Subject    string
	// Issuer is the issuer's CN, or its full name when it has no CN.
	Issuer       string
	SerialNumber string // colon-separated uppercase hex
	NotBefore    time.Time
	NotAfter     time.Time
	SelfSigned   bool
	// SANs lists DNS names, then IP addresses, e-mail addresses and URIs.
	SANs         []string
	KeyAlgorithm string // e.g. "RSA 2048", "ECDSA P-256"
	// FingerprintSHA256 is uppercase colon-separated hex, the format of
	// "openssl x509 -fingerprint -sha256", so administrators can compare
	// it with what they see elsewhere.
	FingerprintSHA256 string
}

// Info summarises cert. The clock-dependent parts are methods taking now,
// so a CertInfo can be computed once and rendered at any time.
func Info(cert *x509.Certificate) CertInfo {
	if cert == nil {
		return CertInfo{}
	}
	info := CertInfo{
		CommonName:        cert.Subject.CommonName,
		Subject:           cert.Subject.String(),
		Issuer:            cert.Issuer.CommonName,
		NotBefore:         cert.NotBefore,
		NotAfter:          cert.NotAfter,
		SelfSigned:        isSelfSigned(cert),
		KeyAlgorithm:      KeyDescription(cert.PublicKey),
		FingerprintSHA256: colonHex(sha256Sum(cert.Raw)),
	}
	if info.Issuer == "" {
		info.Issuer = cert.Issuer.String()
	}
	if cert.SerialNumber != nil {
		info.SerialNumber = colonHex(cert.SerialNumber.Bytes())
	}
	info.SANs = append(info.SANs, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		info.SANs = append(info.SANs, ip.String())
	}
	info.SANs = append(info.SANs, cert.EmailAddresses...)
	for _, u := range cert.URIs {
		info.SANs = append(info.SANs, u.String())
	}
	return info
}

// DaysLeft returns whole days until NotAfter, rounded down, so it is 0 on
// the last day and negative once expired.
func (i CertInfo) DaysLeft(now time.Time) int {
	return int(math.Floor(i.NotAfter.Sub(now).Hours() / 24))
}

// Status returns StatusActive, StatusExpired or StatusNotYetValid. Both
// bounds are inclusive, as in RFC 5280.
func (i CertInfo) Status(now time.Time) string {
	switch {
	case now.After(i.NotAfter):
		return StatusExpired
	case now.Before(i.NotBefore):
		return StatusNotYetValid
	}
	return StatusActive
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}
