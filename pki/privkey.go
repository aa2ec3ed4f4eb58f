package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// ParsePrivateKey returns the first private key in pemData. It accepts
// PKCS#1, PKCS#8 and SEC1 keys, legacy OpenSSL-encrypted PEM and encrypted
// PKCS#8. passphrase is called at most once, and only for an encrypted key,
// so that interactive callers prompt only when needed. Only RSA and ECDSA
// keys are returned; Ed25519 and other algorithms the appliance cannot
// serve are refused with ErrUnsupportedKey.
func ParsePrivateKey(pemData []byte, passphrase func() ([]byte, error)) (crypto.Signer, error) {
	return ParsePrivateKeyContext(context.Background(), pemData, passphrase)
}

// ParsePrivateKeyContext is ParsePrivateKey that stops, with ErrStopped,
// when ctx is done (the administrator's session ended) while deriving
// the key of an encrypted PKCS#8 block (up to maxPBKDF2Iterations).
func ParsePrivateKeyContext(ctx context.Context, pemData []byte, passphrase func() ([]byte, error)) (crypto.Signer, error) {
	blocks, err := decodePEM(pemData)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		// Bare DER, as some Windows tools export it; it cannot carry the
		// legacy encryption headers, so only plain encodings are tried.
		if key, err := parseKeyDER(pemData, ""); err == nil {
			return key, nil
		}
		return nil, ErrNoKey
	}
	for _, b := range blocks {
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			key, err := parseKeyBlock(ctx, b, passphrase)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.where(), err)
			}
			return key, nil
		}
	}
	return nil, ErrNoKey
}

func parseKeyBlock(ctx context.Context, b pemBlock, passphrase func() ([]byte, error)) (crypto.Signer, error) {
	switch b.Type {
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
	case "OPENSSH PRIVATE KEY":
		return nil, fmt.Errorf("%w: OpenSSH key format (convert with ssh-keygen -p -m PEM)", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedKey, b.Type)
	}

	if b.Type == "ENCRYPTED PRIVATE KEY" {
		// Parse the parameters before prompting so nobody types a
		// passphrase for a file we could never decrypt.
		dec, err := parseEncryptedPKCS8(b.Bytes)
		if err != nil {
			return nil, err
		}
		pw, err := askPassphrase(passphrase)
		if err != nil {
			return nil, err
		}
		der, err := dec.decrypt(ctx, pw)
		if err != nil {
			return nil, err
		}
		return parseDecryptedKey(der, "PRIVATE KEY")
	}

	// Legacy OpenSSL PEM encryption (RFC 1423) is deprecated for its weak
	// key derivation, but it is what "openssl rsa -aes256 -traditional"
	// still writes and administrators still upload; refusing it helps
	// nobody, since the key is stored re-encoded afterwards anyway.
	if x509.IsEncryptedPEMBlock(b.Block) {
		pw, err := askPassphrase(passphrase)
		if err != nil {
			return nil, err
		}
		der, err := x509.DecryptPEMBlock(b.Block, pw)
		switch {
		case errors.Is(err, x509.IncorrectPasswordError):
			return nil, ErrBadPassphrase
		case err != nil:
			return nil, fmt.Errorf("%w: %w", ErrUnsupportedEncryption, err)
		}
		return parseDecryptedKey(der, b.Type)
	}
	return parseKeyDER(b.Bytes, b.Type)
}

func askPassphrase(passphrase func() ([]byte, error)) ([]byte, error) {
	if passphrase == nil {
		return nil, ErrPassphraseRequired
	}
	pw, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	return pw, nil
}

// parseDecryptedKey tells a wrong passphrase apart from a real but
// unsupported key: CBC padding is right by chance about once in 256 wrong
// passphrases, but garbage is virtually never a well-formed DER SEQUENCE.
func parseDecryptedKey(der []byte, label string) (crypto.Signer, error) {
	key, err := parseKeyDER(der, label)
	if err == nil || errors.Is(err, ErrUnsupportedKey) {
		return key, err
	}
	var seq asn1.RawValue
	if rest, aerr := asn1.Unmarshal(der, &seq); aerr != nil || len(rest) != 0 ||
		seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil, ErrBadPassphrase
	}
	return nil, err
}

// parseKeyDER tries every plain encoding, starting with the one the label
// promises, because mislabelled blocks are common in hand-assembled files.
func parseKeyDER(der []byte, label string) (crypto.Signer, error) {
	type parser func([]byte) (any, error)
	pkcs1 := func(d []byte) (any, error) { return x509.ParsePKCS1PrivateKey(d) }
	sec1 := func(d []byte) (any, error) { return x509.ParseECPrivateKey(d) }
	order := []parser{x509.ParsePKCS8PrivateKey, pkcs1, sec1}
	switch label {
	case "RSA PRIVATE KEY":
		order = []parser{pkcs1, x509.ParsePKCS8PrivateKey, sec1}
	case "EC PRIVATE KEY":
		order = []parser{sec1, x509.ParsePKCS8PrivateKey, pkcs1}
	}
	var first error
	for _, p := range order {
		k, err := p(der)
		if err == nil {
			return signerFrom(k)
		}
		if first == nil {
			first = err
		}
	}
	if err := unsupportedKey(der); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: %w", ErrMalformedKey, first)
}

// pkcs8Names are algorithms x509 cannot parse but which we can name, so the
// administrator learns the key is fine but of the wrong kind.
var pkcs8Names = map[string]string{
	"1.2.840.10040.4.1":     "DSA",
	"1.2.840.113549.1.1.10": "RSA-PSS",
	"1.3.101.110":           "X25519",
	"1.3.101.111":           "X448",
	"1.3.101.112":           "Ed25519",
	"1.3.101.113":           "Ed448",
	"1.2.156.10197.1.301":   "SM2",
}

var (
	oidPublicKeyRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidPublicKeyECDSA = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// knownCurves are the curves crypto/x509 parses; a key on any other curve
// is well-formed but unusable, which deserves a clearer error than a parse
// failure.
var knownCurves = map[string]bool{
	"1.3.132.0.33":        true, // P-224
	"1.2.840.10045.3.1.7": true, // P-256
	"1.3.132.0.34":        true, // P-384
	"1.3.132.0.35":        true, // P-521
}

// unsupportedKey returns an ErrUnsupportedKey error when der is a
// structurally valid PKCS#8 or SEC1 key of an algorithm or curve we do not
// handle, and nil otherwise.
func unsupportedKey(der []byte) error {
	var info struct {
		Version    int
		Algorithm  asn1.RawValue
		PrivateKey []byte
		Rest       asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return unsupportedSEC1(der)
	}
	var alg struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(info.Algorithm.FullBytes, &alg); err != nil {
		return nil
	}
	switch {
	case alg.Algorithm.Equal(oidPublicKeyRSA):
		return nil
	case alg.Algorithm.Equal(oidPublicKeyECDSA):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err == nil && !knownCurves[curve.String()] {
			return fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, curve)
		}
		return nil
	}
	if name, ok := pkcs8Names[alg.Algorithm.String()]; ok {
		return fmt.Errorf("%w: %s", ErrUnsupportedKey, name)
	}
	return fmt.Errorf("%w: algorithm %s", ErrUnsupportedKey, alg.Algorithm)
}

func unsupportedSEC1(der []byte) error {
	var key struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	if _, err := asn1.Unmarshal(der, &key); err != nil || len(key.Curve) == 0 || knownCurves[key.Curve.String()] {
		return nil
	}
	return fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, key.Curve)
}
