package pki

import "errors"

// Sentinel errors live here so that callers (the CLI and its tests) can
// match on them with errors.Is without importing anything but this package.
// Returned errors wrap them with details about which input was at fault.
var (
	// ErrUnknownKeyType is returned for a key type name or value that
	// certconfig does not offer.
	ErrUnknownKeyType = errors.New("unknown key type")

	// ErrInvalidSubject is returned when a subject cannot go into a
	// certificate (missing common name, bad country code, ...).
	ErrInvalidSubject = errors.New("invalid subject")

	// ErrInvalidValidity is returned when a certificate lifetime is not a
	// positive number of days.
	ErrInvalidValidity = errors.New("invalid validity period")

	// ErrNoCertificate is returned when the input holds no certificate.
	ErrNoCertificate = errors.New("no certificate found")

	// ErrMalformedPEM is returned when a PEM block is truncated, has bad
	// base64 or mismatched BEGIN/END lines.
	ErrMalformedPEM = errors.New("malformed PEM block")

	// ErrMalformedCertificate is returned when a certificate block does
	// not hold a parseable X.509 certificate.
	ErrMalformedCertificate = errors.New("malformed certificate")

	// ErrNoKey is returned when the input (PEM or PKCS#12) holds no
	// private key.
	ErrNoKey = errors.New("no private key found")

	// ErrMalformedKey is returned when a private key block cannot be
	// parsed in any of the supported encodings.
	ErrMalformedKey = errors.New("malformed private key")

	// ErrUnsupportedKey is returned for well-formed keys the appliance
	// cannot use, such as Ed25519, DSA or RSA-PSS-only keys.
	ErrUnsupportedKey = errors.New("unsupported private key type")

	// ErrUnsupportedEncryption is returned for encrypted keys whose
	// encryption scheme is not implemented (scrypt, PBES1, ...).
	ErrUnsupportedEncryption = errors.New("unsupported private key encryption")

	// ErrStopped is returned when the caller's context ended (the
	// administrator's session closed) before a costly decode finished.
	ErrStopped = errors.New("stopped: the session ended")

	// ErrPassphraseRequired is returned when a key is encrypted but the
	// caller supplied no passphrase callback.
	ErrPassphraseRequired = errors.New("private key is encrypted and no passphrase was supplied")

	// ErrBadPassphrase is returned when decryption of a key or PKCS#12
	// file fails in a way that means the passphrase is wrong.
	ErrBadPassphrase = errors.New("incorrect passphrase")

	// ErrKeyMismatch is returned when a private key does not belong to
	// the certificate it is paired with.
	ErrKeyMismatch = errors.New("private key does not match certificate")

	// ErrMalformedPKCS12 is returned for PKCS#12 files that cannot be
	// decoded for reasons other than a wrong password.
	ErrMalformedPKCS12 = errors.New("malformed PKCS#12 file")

	// ErrUntrusted is returned when a chain does not lead to a trusted
	// root. The wording is OpenSSL's, which administrators will search for.
	ErrUntrusted = errors.New("unable to get local issuer certificate")

	// ErrExpired is returned when a certificate on the path has expired.
	ErrExpired = errors.New("certificate has expired")

	// ErrNotYetValid is returned when a certificate on the path is not
	// valid yet.
	ErrNotYetValid = errors.New("certificate is not yet valid")

	// ErrInvalidChain is returned for chain failures other than trust and
	// validity period, such as violated name constraints.
	ErrInvalidChain = errors.New("invalid certificate chain")

	// ErrHostnameMismatch is returned when a certificate is not valid for
	// a host name.
	ErrHostnameMismatch = errors.New("certificate is not valid for host name")

	// ErrNoCRL is returned when the input holds no certificate
	// revocation list (PEM "X509 CRL" or DER).
	ErrNoCRL = errors.New("no certificate revocation list found")

	// ErrCRLIssuerUnknown is returned when no certificate authority
	// known to the appliance has the subject a CRL names as its issuer.
	ErrCRLIssuerUnknown = errors.New("the CRL's issuer is not a known certificate authority")

	// ErrCRLSignature is returned when a certificate authority of the
	// CRL's issuer name exists but its key did not sign the CRL.
	ErrCRLSignature = errors.New("the CRL is not signed by its issuer's certificate authority")

	// ErrRevoked is returned when a certificate on a verified path is
	// listed in its issuer's CRL. The wording is OpenSSL's.
	ErrRevoked = errors.New("certificate revoked")

	// ErrCRLExpired is returned when the newest CRL of an issuer is past
	// its nextUpdate: the revocation status of the certificates it
	// covers is unknown. The wording is OpenSSL's.
	ErrCRLExpired = errors.New("CRL has expired")

	// ErrCRLNotYetValid is returned when every CRL of an issuer has a
	// thisUpdate in the future. The wording is OpenSSL's.
	ErrCRLNotYetValid = errors.New("CRL is not yet valid")
)
