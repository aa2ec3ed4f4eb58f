package pki

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
)

// PublicKeyFingerprint is the SHA-256 of the DER SubjectPublicKeyInfo, in
// the colon-separated form of Info: the same for a private key and for
// every certificate and CSR made for it, so it pairs them without showing
// the key (openssl pkey -pubout -outform DER | openssl dgst -sha256).
func PublicKeyFingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return colonHex(sha256Sum(der))
}

// DescribePEM summarises PEM text for display in change lists and logs
// without revealing secrets: a certificate as its name and SHA-256
// fingerprint, a private key as its algorithm and the fingerprint of its
// public key, a CSR as its subject. Text holding no PEM block gives "".
// Private key material never appears in the result, whatever the input.
func DescribePEM(text string) string {
	if !strings.Contains(text, "-----BEGIN ") {
		return ""
	}
	blocks, err := decodePEM([]byte(text))
	if err != nil || len(blocks) == 0 {
		if strings.Contains(text, "PRIVATE KEY") {
			return "unreadable private key"
		}
		return "unreadable PEM data"
	}
	var parts []string
	for _, b := range blocks {
		parts = append(parts, describeBlock(b))
	}
	return strings.Join(parts, "; ")
}

func describeBlock(b pemBlock) string {
	switch {
	case b.Type == "CERTIFICATE":
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return "unreadable certificate"
		}
		return fmt.Sprintf("certificate %q SHA256 %s", displayName(c), Info(c).FingerprintSHA256)
	case b.Type == "CERTIFICATE REQUEST" || b.Type == "NEW CERTIFICATE REQUEST":
		r, err := x509.ParseCertificateRequest(b.Bytes)
		if err != nil {
			return "unreadable certificate request"
		}
		return fmt.Sprintf("certificate request %q, public key SHA256 %s", r.Subject.String(), PublicKeyFingerprint(r.PublicKey))
	case strings.HasSuffix(b.Type, "PRIVATE KEY"):
		if b.Type == "ENCRYPTED PRIVATE KEY" || x509.IsEncryptedPEMBlock(b.Block) {
			return "encrypted private key"
		}
		k, err := parseKeyDER(b.Bytes, b.Type)
		if err != nil {
			return "unreadable private key"
		}
		return fmt.Sprintf("private key %s, public key SHA256 %s", KeyDescription(k.Public()), PublicKeyFingerprint(k.Public()))
	}
	// The label of an unknown block is not repeated: the text described
	// may be a secret that merely looks like PEM.
	return "PEM data"
}
