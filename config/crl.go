package config

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRL is one certificate revocation list of certconfig's CRL menu: a list
// imported from a file or pasted, or a distribution point the MTA fetches
// again before the list's nextUpdate (mta/crl.go). Every verification of
// a peer's chain (client certificates on listeners, Verify destinations,
// tlsverify) looks its certificates up in their issuer's CRL.
type CRL struct {
	Name string `json:"name" cfg:"key"`
	// URL is the distribution point (http or https); "" for a list
	// imported from a file or pasted, which never changes by itself.
	URL string `json:"url,omitempty"`
	// PEM is the list as imported, or as fetched from URL when it was
	// added: the MTA uses it until a newer one is fetched.
	PEM string `json:"crl"`
}

// CRLLifetimeWithoutNextUpdate is how long a CRL without nextUpdate
// vouches after its thisUpdate (or its last fetch): pki's constant, which
// this package cannot import (mta.TestCRLLifetimeAgrees holds them equal).
const CRLLifetimeWithoutNextUpdate = 7 * 24 * time.Hour

// MaxCRLURL bounds a distribution point's URL.
const MaxCRLURL = 1024

// CheckCRLURL validates a distribution point: an absolute http or https
// URL with a host and no user name or password; "" when valid.
func CheckCRLURL(s string) string {
	if len(s) > MaxCRLURL {
		return fmt.Sprintf("The URL must be at most %d characters long.", MaxCRLURL)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "The URL must begin with http:// or https:// followed by a host name, such as http://crl.example.com/ca.crl."
	}
	if u.User != nil {
		return "The URL must not contain a user name or password."
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "The URL must not contain spaces."
	}
	return ""
}

// Object identifiers of the CRL extensions the appliance can apply.
var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidIssuingDP      = asn1.ObjectIdentifier{2, 5, 29, 28}
)

// ParseCRLPEM reads the PEM of a CRL entry. A critical extension the
// appliance does not apply (a delta CRL, a partitioned list) is refused:
// such a list would be taken for the issuer's complete one.
func ParseCRLPEM(s string) (*x509.RevocationList, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "X509 CRL" {
		return nil, fmt.Errorf("no PEM block of type X509 CRL")
	}
	rl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("invalid CRL: %w", err)
	}
	for _, e := range rl.Extensions {
		if e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID) {
			return nil, fmt.Errorf("the CRL has the critical extension %s, which the appliance does not apply", e.Id)
		}
		if e.Id.Equal(oidIssuingDP) && scopedIDP(e.Value) {
			return nil, fmt.Errorf("the CRL is scoped by its issuing distribution point (only some certificates or reasons), which the appliance does not apply")
		}
	}
	return rl, nil
}

// scopedIDP reports whether an issuing distribution point limits the list
// to some certificates or reasons (or is malformed): anything but the
// point's name ([0]). Critical or not (issuers must mark it critical), a
// scoped list must not be taken for the issuer's complete one. The same
// rule as pki.ParseCRL's, which this package cannot import.
func scopedIDP(value []byte) bool {
	in := cryptobyte.String(value)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return true
	}
	for !seq.Empty() {
		var field cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&field, &tag) || tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
			return true
		}
	}
	return false
}

// crls checks certconfig's CRL entries: names, URLs, lists that parse,
// and a list whose issuer is in the custom CA list signed by it (the
// import checks the system roots and the profiles' intermediates too;
// this catches a file loaded with loadconfig).
func (c *checker) crls(cfg *Config) {
	keys := make([]string, len(cfg.CRLs))
	for i, e := range cfg.CRLs {
		keys[i] = e.Name
	}
	c.names("crls", keys, CheckName)
	var cas []*x509.Certificate
	for _, ca := range cfg.CAs.Custom {
		if cs, err := parseCerts(ca.PEM); err == nil {
			cas = append(cas, cs...)
		}
	}
	for _, e := range cfg.CRLs {
		p := itemPath("crls", e.Name)
		if e.URL != "" {
			if r := CheckCRLURL(e.URL); r != "" {
				c.errf(p+".url", "%s", r)
			}
		}
		rl, err := ParseCRLPEM(e.PEM)
		if err != nil {
			c.errf(p+".crl", "%v", err)
			continue
		}
		if r := crlSignedByCustom(rl, cas); r != "" {
			c.errf(p+".crl", "%s", r)
		}
		if e.URL == "" && !rl.NextUpdate.IsZero() && c.now.After(rl.NextUpdate) {
			c.warnf(p+".crl", "the CRL of %q was due for renewal on %s: certificates it covers fail verification (Required - Verify, client certificates) until a newer CRL is imported", rl.Issuer.CommonName, rl.NextUpdate.UTC().Format(time.DateOnly))
		}
		if due := rl.ThisUpdate.Add(CRLLifetimeWithoutNextUpdate); e.URL == "" && rl.NextUpdate.IsZero() && c.now.After(due) {
			c.warnf(p+".crl", "the CRL of %q has no nextUpdate and was issued on %s; such a list is due for renewal %d days after it was issued, on %s: certificates it covers fail verification (Required - Verify, client certificates) until a newer CRL is imported", rl.Issuer.CommonName, rl.ThisUpdate.UTC().Format(time.DateOnly), int(CRLLifetimeWithoutNextUpdate/(24*time.Hour)), due.UTC().Format(time.DateOnly))
		}
	}
}

// crlSignedByCustom is "" unless custom CAs carry the CRL's issuer name
// and none of them signed it.
func crlSignedByCustom(rl *x509.RevocationList, cas []*x509.Certificate) string {
	named := false
	for _, ca := range cas {
		if !bytes.Equal(ca.RawSubject, rl.RawIssuer) {
			continue
		}
		named = true
		if rl.CheckSignatureFrom(ca) == nil {
			return ""
		}
	}
	if named {
		return fmt.Sprintf("the CRL is not signed by the custom certificate authority %q of its issuer's name", rl.Issuer.String())
	}
	return ""
}
