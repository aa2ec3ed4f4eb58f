package main

import (
	"fmt"
	"time"

	"esash/config"
	"esash/pki"
)

// demoCertificate makes the factory "Demo" profile: generated on the
// appliance at first start, so no two appliances share a key and none is
// shipped in the source. Self-signed, as AsyncOS's, and only good for
// testing TLS. ECDSA P-256 keeps first start fast.
func demoCertificate(now time.Time) (config.Certificate, error) {
	key, err := pki.GenerateKey(pki.ECDSAP256)
	if err != nil {
		return config.Certificate{}, fmt.Errorf("demo certificate: %w", err)
	}
	subj := pki.Subject{CommonName: "esa.example.com", Organization: "esash",
		OrganizationalUnit: "Demo Certificate", Country: "US"}
	cert, err := pki.SelfSigned(key, subj, 3650, now)
	if err != nil {
		return config.Certificate{}, fmt.Errorf("demo certificate: %w", err)
	}
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		return config.Certificate{}, fmt.Errorf("demo certificate: %w", err)
	}
	return config.Certificate{
		Name:    "Demo",
		CertPEM: string(pki.EncodeCertificatePEM(cert)),
		KeyPEM:  string(keyPEM),
	}, nil
}
