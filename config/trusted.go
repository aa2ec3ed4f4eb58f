package config

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Pool is the set of roots certconfig's CERTAUTHORITY enables: the
// system's trust store (from system, which may be nil: then none) and the
// custom list. Every verifier of peers uses it (delivery, client
// certificates, the LDAP and web security tests) so that they trust the
// same CAs. A custom entry that holds no certificate is an error naming
// it; the commit check refuses such entries, so this is a damaged store.
func (t TrustedCAs) Pool(system func() (*x509.CertPool, error)) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if t.SystemEnabled && system != nil {
		if sys, err := system(); err == nil && sys != nil {
			pool = sys.Clone()
		}
	}
	if !t.CustomEnabled {
		return pool, nil
	}
	for _, ca := range t.Custom {
		n := 0
		for rest := []byte(ca.PEM); ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("certificate authority %s: %w", ca.Name, err)
			}
			pool.AddCert(c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("certificate authority %s: no certificate in its PEM", ca.Name)
		}
	}
	return pool, nil
}
