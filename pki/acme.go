package pki

import (
	"time"
)

// ACMEPlaceholderDays is the validity of the self-signed certificate an
// ACME profile holds until the CA issues the real one: a public CA's
// lifetime, so that the expiry alerts (30 days before) speak only when
// issuance has failed for two months, not at once for every new profile.
const ACMEPlaceholderDays = 90

// ACMEPlaceholder is the self-signed certificate and PKCS#8 key (PEM) an
// ACME profile is created with: the first name as common name, all of
// them as subjectAltNames, an ECDSA P-256 key (fast to make; the issued
// certificate gets a fresh key of the profile's type).
func ACMEPlaceholder(names []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		return nil, nil, err
	}
	subj := Subject{CommonName: names[0], DNSNames: names[1:]}
	cert, err := SelfSigned(key, subj, ACMEPlaceholderDays, now)
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err = EncodePrivateKeyPEM(key); err != nil {
		return nil, nil, err
	}
	return EncodeCertificatePEM(cert), keyPEM, nil
}

// NewACMEAccountKey is a new ACME account key (ECDSA P-256, PKCS#8 PEM).
func NewACMEAccountKey() ([]byte, error) {
	key, err := GenerateKey(ECDSAP256)
	if err != nil {
		return nil, err
	}
	return EncodePrivateKeyPEM(key)
}
