package pki

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"unicode"
)

// KeyType is one of the key algorithms certconfig offers when generating a
// key.
type KeyType int

// The zero value is RSA2048 because that is what the appliance proposes
// when the administrator accepts the default.
const (
	RSA2048 KeyType = iota
	RSA4096
	ECDSAP256
	ECDSAP384
)

// String returns the label the appliance prints in its key size prompt.
func (t KeyType) String() string {
	switch t {
	case RSA2048:
		return "2048"
	case RSA4096:
		return "4096"
	case ECDSAP256:
		return "ECDSA P-256"
	case ECDSAP384:
		return "ECDSA P-384"
	}
	return fmt.Sprintf("KeyType(%d)", int(t))
}

// ParseKeyType accepts the String form and the spellings administrators
// bring from OpenSSL ("rsa:2048", "prime256v1", "secp384r1", "P-256").
func ParseKeyType(s string) (KeyType, error) {
	norm := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '_', ':':
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	switch norm {
	case "2048", "rsa2048":
		return RSA2048, nil
	case "4096", "rsa4096":
		return RSA4096, nil
	case "ecdsap256", "ecp256", "p256", "ecdsa256", "prime256v1", "secp256r1":
		return ECDSAP256, nil
	case "ecdsap384", "ecp384", "p384", "ecdsa384", "secp384r1":
		return ECDSAP384, nil
	}
	return RSA2048, fmt.Errorf("%w %q (want 2048, 4096, ECDSA P-256 or ECDSA P-384)", ErrUnknownKeyType, s)
}

// GenerateKey creates a new private key of type t.
func GenerateKey(t KeyType) (crypto.Signer, error) {
	var (
		key crypto.Signer
		err error
	)
	// Each branch assigns through a concrete variable so that a failed
	// generation returns a nil interface, not a typed nil pointer.
	switch t {
	case RSA2048, RSA4096:
		bits := 2048
		if t == RSA4096 {
			bits = 4096
		}
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, bits); err == nil {
			key = k
		}
	case ECDSAP256, ECDSAP384:
		curve := elliptic.P256()
		if t == ECDSAP384 {
			curve = elliptic.P384()
		}
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(curve, rand.Reader); err == nil {
			key = k
		}
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnknownKeyType, t)
	}
	if err != nil {
		return nil, fmt.Errorf("generating %v key: %w", t, err)
	}
	return key, nil
}

// KeyMatches reports whether key is the private half of cert's public key.
func KeyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	if cert == nil || key == nil {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// KeyDescription names a public key the way the appliance lists it, e.g.
// "RSA 2048" or "ECDSA P-256".
func KeyDescription(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdh.PublicKey:
		return "ECDH"
	}
	return fmt.Sprintf("unknown (%T)", pub)
}

// signerFrom narrows whatever a parser returned to the key types the
// appliance's TLS stack can use; everything else must be refused up front
// rather than failing later in the middle of an SMTP handshake.
func signerFrom(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey, *ed25519.PrivateKey:
		return nil, fmt.Errorf("%w: Ed25519 (only RSA and ECDSA keys are supported)", ErrUnsupportedKey)
	case *ecdh.PrivateKey:
		return nil, fmt.Errorf("%w: X25519/ECDH keys cannot sign", ErrUnsupportedKey)
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
}
