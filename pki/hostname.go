package pki

import (
	"crypto/x509"
	"fmt"
	"net"
	"strings"
)

// VerifyHostname checks that cert is valid for name following RFC 6125:
// DNS SANs are authoritative, the subject CN is consulted only when there
// are none, and a wildcard may only be the whole left-most label. This
// differs from x509.Certificate.VerifyHostname, which ignores the CN
// entirely; the appliance still meets internal relays with CN-only
// certificates and must describe them the way peers' MTAs will.
func VerifyHostname(cert *x509.Certificate, name string) error {
	if cert == nil {
		return ErrNoCertificate
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if host == "" {
		return fmt.Errorf("%w: empty host name", ErrHostnameMismatch)
	}
	// IP addresses are only ever matched against IP SANs: a wildcard or a
	// CN that happens to contain digits and dots must not match them.
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		for _, c := range cert.IPAddresses {
			if c.Equal(ip) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s is not among the certificate's IP addresses %v", ErrHostnameMismatch, ip, cert.IPAddresses)
	}
	ids := cert.DNSNames
	if len(ids) == 0 && cert.Subject.CommonName != "" {
		ids = []string{cert.Subject.CommonName}
	}
	for _, id := range ids {
		if matchHostname(id, host) {
			return nil
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("%w: %q (certificate names no host)", ErrHostnameMismatch, host)
	}
	return fmt.Errorf("%w: %q (certificate is for %s)", ErrHostnameMismatch, host, strings.Join(ids, ", "))
}

// matchHostname compares one presented identifier with a lower-cased
// host name.
func matchHostname(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(pattern), "."))
	if pattern == "" {
		return false
	}
	if !strings.HasPrefix(pattern, "*.") {
		return pattern == host
	}
	suffix := pattern[1:] // ".example.com"
	// "*.com" would cover a whole TLD; CAs may not issue it and clients
	// refuse it, so require at least two labels after the wildcard.
	if strings.Count(suffix, ".") < 2 || strings.Contains(suffix, "*") {
		return false
	}
	label, rest, ok := strings.Cut(host, ".")
	return ok && label != "" && "."+rest == suffix
}

// IsFQDN reports whether name is a fully qualified domain name as the
// certconfig FQDN check wants it: at least two letter-digit-hyphen labels,
// a top-level label that is not a number, and optionally "*." as the
// whole first label of a name with at least three labels. A trailing dot
// is allowed.
func IsFQDN(name string) bool {
	n := strings.TrimSuffix(strings.TrimSpace(name), ".")
	return strings.Contains(n, ".") && looksLikeHostname(n)
}
