package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

// Subject is the distinguished name certconfig prompts for.
type Subject struct {
	CommonName         string
	Organization       string
	OrganizationalUnit string
	Locality           string
	State              string
	Country            string
	// EmailAddresses and DNSNames are subjectAltName entries added to the
	// one derived from the common name (the S/MIME type of NEW asks for
	// them).
	EmailAddresses []string
	DNSNames       []string
	// SMIME issues the certificate for e-mail protection (S/MIME) instead
	// of TLS server and client authentication.
	SMIME bool
}

// Name converts s to a pkix.Name, trimming pasted whitespace and leaving
// out empty attributes so they do not appear as empty RDNs.
func (s Subject) Name() pkix.Name {
	one := func(v string) []string {
		if v = strings.TrimSpace(v); v == "" {
			return nil
		}
		return []string{v}
	}
	return pkix.Name{
		CommonName:         strings.TrimSpace(s.CommonName),
		Organization:       one(s.Organization),
		OrganizationalUnit: one(s.OrganizationalUnit),
		Locality:           one(s.Locality),
		Province:           one(s.State),
		Country:            one(strings.ToUpper(s.Country)),
	}
}

// Validate checks the limits CAs and OpenSSL enforce, so the administrator
// hears about them now instead of from the CA after submitting a CSR.
func (s Subject) Validate() error {
	cn := strings.TrimSpace(s.CommonName)
	switch {
	case cn == "":
		return fmt.Errorf("%w: common name is required", ErrInvalidSubject)
	case len(cn) > 64: // RFC 5280 ub-common-name
		return fmt.Errorf("%w: common name is longer than 64 characters", ErrInvalidSubject)
	}
	if c := strings.TrimSpace(s.Country); c != "" {
		if len(c) != 2 || !isASCIILetter(c[0]) || !isASCIILetter(c[1]) {
			return fmt.Errorf("%w: country %q must be a two-letter ISO 3166 code", ErrInvalidSubject, c)
		}
	}
	// RFC 5280 upper bounds; OpenSSL and CAs refuse longer values.
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"organization", s.Organization, 64},
		{"organizational unit", s.OrganizationalUnit, 64},
		{"locality", s.Locality, 128},
		{"state", s.State, 128},
	} {
		if len(strings.TrimSpace(f.v)) > f.max {
			return fmt.Errorf("%w: %s is longer than %d characters", ErrInvalidSubject, f.name, f.max)
		}
	}
	for _, e := range s.EmailAddresses {
		if local, domain, ok := strings.Cut(e, "@"); !ok || local == "" || strings.ContainsAny(e, " <>") || !looksLikeHostname(domain) {
			return fmt.Errorf("%w: %q is not an e-mail address", ErrInvalidSubject, e)
		}
	}
	for _, d := range s.DNSNames {
		if !looksLikeHostname(d) {
			return fmt.Errorf("%w: %q is not a DNS name", ErrInvalidSubject, d)
		}
	}
	return nil
}

func isASCIILetter(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// SelfSigned issues a certificate for key signed by key itself, valid from
// five minutes before now (to absorb clock skew between peers) for days
// days.
func SelfSigned(key crypto.Signer, subj Subject, days int, now time.Time) (*x509.Certificate, error) {
	if key == nil {
		return nil, fmt.Errorf("self-signed certificate: %w", ErrNoKey)
	}
	if err := subj.Validate(); err != nil {
		return nil, err
	}
	if days <= 0 {
		return nil, fmt.Errorf("%w: %d days", ErrInvalidValidity, days)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now = now.UTC() // AddDate in a local zone would shift across DST changes
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subj.Name(),
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	if subj.SMIME {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageClientAuth}
	}
	// Key encipherment only makes sense for RSA (static RSA key exchange);
	// strict TLS stacks reject ECDSA certificates that claim it.
	if _, ok := key.Public().(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	tmpl.DNSNames, tmpl.IPAddresses, tmpl.EmailAddresses = subj.sans()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating self-signed certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// CreateCSR returns a PEM "CERTIFICATE REQUEST" signed by key. The common
// name is repeated as a SAN because public CAs ignore the CN of a CSR.
func CreateCSR(key crypto.Signer, subj Subject) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("certificate request: %w", ErrNoKey)
	}
	if err := subj.Validate(); err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: subj.Name()}
	tmpl.DNSNames, tmpl.IPAddresses, tmpl.EmailAddresses = subj.sans()
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("creating certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// randomSerial returns a non-zero 128-bit serial; RFC 5280 requires it to
// be positive and CA/B rules want at least 64 unpredictable bits.
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("generating serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// sans is every subjectAltName of s: what the common name implies, then
// the extra DNS names (without repeats) and e-mail addresses.
func (s Subject) sans() ([]string, []net.IP, []string) {
	dns, ips := sansFor(s.CommonName)
	for _, d := range s.DNSNames {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if !slices.Contains(dns, d) {
			dns = append(dns, d)
		}
	}
	var emails []string
	for _, e := range s.EmailAddresses {
		emails = append(emails, strings.TrimSpace(e))
	}
	return dns, ips, emails
}

// sansFor derives subjectAltName entries from a common name, because
// clients ignore the CN when any SAN is present and most ignore it always.
func sansFor(cn string) ([]string, []net.IP) {
	cn = strings.TrimSpace(cn)
	if ip := net.ParseIP(cn); ip != nil {
		return nil, []net.IP{ip}
	}
	if looksLikeHostname(cn) {
		return []string{strings.ToLower(strings.TrimSuffix(cn, "."))}, nil
	}
	return nil, nil
}

// looksLikeHostname accepts LDH names (optionally with a leading "*."
// wildcard) so that a CN like "Example Corp Mail" does not become a bogus
// DNS SAN.
func looksLikeHostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) >= 3 {
			continue
		}
		if !isLDHLabel(l) {
			return false
		}
	}
	// A purely numeric last label is a mistyped IP address or a number,
	// never a real top-level domain.
	last := labels[len(labels)-1]
	return strings.Trim(last, "0123456789") != ""
}

func isLDHLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(isASCIILetter(c) || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
