package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// DecodePKCS12 reads a .p12/.pfx file. The leaf is the certificate that
// matches the key, wherever it sits in the file, because Windows and Java
// exports do not always put it first; chain holds the other certificates
// in file order. legacy reports that the file uses RC2 or 3DES (OpenSSL
// "-legacy", older Windows), which OpenSSL 3 cannot read without its
// legacy provider, so the caller can suggest re-exporting.
func DecodePKCS12(data []byte, password string) (key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, legacy bool, err error) {
	return DecodePKCS12Context(context.Background(), data, password)
}

// DecodePKCS12Context is DecodePKCS12 that stops when ctx is done (the
// administrator's session ended): the key derivations, capped but still
// seconds of CPU for a hostile file, look at ctx every few thousand
// iterations (our patched go-pkcs12, third_party/go-pkcs12). The error
// then wraps ErrStopped and ctx.Err().
func DecodePKCS12Context(ctx context.Context, data []byte, password string) (key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, legacy bool, err error) {
	if err := checkPKCS12Work(data); err != nil {
		return nil, nil, nil, false, err
	}
	k, first, rest, err := pkcs12.DecodeChainContext(ctx, data, password)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, nil, false, fmt.Errorf("%w: reading PKCS#12: %w", ErrStopped, ctx.Err())
		}
		return nil, nil, nil, false, pkcs12Error(err)
	}
	legacy, err = pfxIsLegacy(data)
	if err != nil {
		return nil, nil, nil, false, fmt.Errorf("%w: %w", ErrMalformedPKCS12, err)
	}
	if key, err = signerFrom(k); err != nil {
		return nil, nil, nil, legacy, err
	}
	certs := append([]*x509.Certificate{first}, rest...)
	for i, c := range certs {
		if KeyMatches(c, key) {
			chain = append(append(chain, certs[:i]...), certs[i+1:]...)
			return key, c, chain, legacy, nil
		}
	}
	return nil, nil, nil, legacy, fmt.Errorf("%w: no certificate in the file belongs to the key", ErrKeyMismatch)
}

// pkcs12Error maps go-pkcs12's errors onto ours. The library reports a
// missing key or certificate, and key-bag decryption failures, only as
// plain strings, hence the string matching.
func pkcs12Error(err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption),
		strings.Contains(msg, pkcs12.ErrDecryption.Error()):
		return ErrBadPassphrase
	case strings.Contains(msg, "private key missing"):
		return ErrNoKey
	case strings.Contains(msg, "certificate missing"):
		return ErrNoCertificate
	}
	return fmt.Errorf("%w: %w", ErrMalformedPKCS12, err)
}

// EncodePKCS12 writes a PKCS#12 file with PBES2/AES-256 and an HMAC-SHA-256
// MAC, which OpenSSL 3, Windows Server 2019+ and Java 12+ read without
// legacy options.
func EncodePKCS12(key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, password string) ([]byte, error) {
	if key == nil {
		return nil, ErrNoKey
	}
	if leaf == nil {
		return nil, ErrNoCertificate
	}
	if !KeyMatches(leaf, key) {
		return nil, ErrKeyMismatch
	}
	der, err := pkcs12.Modern.Encode(key, leaf, chain, password)
	if err != nil {
		return nil, fmt.Errorf("encoding PKCS#12: %w", err)
	}
	return der, nil
}

// The structures below are the outer, unencrypted layers of RFC 7292; only
// the algorithm identifiers are read, to tell legacy from modern files.

var (
	oidDataContentType          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedDataContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidPKCS8ShroudedKeyBag      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
)

type pfxPDU struct {
	Version  int
	AuthSafe pfxContentInfo
	MacData  asn1.RawValue `asn1:"optional"`
}

type pfxContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type pfxEncryptedData struct {
	Version              int
	EncryptedContentInfo struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   pkix.AlgorithmIdentifier
		Content     asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type pfxSafeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes asn1.RawValue `asn1:"optional"`
}

// pfxIsLegacy reports whether any encrypted part of the PFX (certificate
// safe or shrouded key bag) uses a pre-PBES2 scheme.
func pfxIsLegacy(data []byte) (bool, error) {
	var pfx pfxPDU
	if _, err := asn1.Unmarshal(data, &pfx); err != nil {
		return false, fmt.Errorf("PFX: %w", err)
	}
	if !pfx.AuthSafe.ContentType.Equal(oidDataContentType) {
		return false, fmt.Errorf("PFX: unsupported authSafe content type %s", pfx.AuthSafe.ContentType)
	}
	var safeDER []byte
	if _, err := asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &safeDER); err != nil {
		return false, fmt.Errorf("PFX authSafe: %w", err)
	}
	var safe []pfxContentInfo
	if _, err := asn1.Unmarshal(safeDER, &safe); err != nil {
		return false, fmt.Errorf("PFX authSafe: %w", err)
	}
	for _, ci := range safe {
		switch {
		case ci.ContentType.Equal(oidEncryptedDataContentType):
			var ed pfxEncryptedData
			if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil {
				return false, fmt.Errorf("PFX encryptedData: %w", err)
			}
			if isPBES1(ed.EncryptedContentInfo.Algorithm.Algorithm) {
				return true, nil
			}
		case ci.ContentType.Equal(oidDataContentType):
			legacy, err := bagsAreLegacy(ci.Content.Bytes)
			if err != nil || legacy {
				return legacy, err
			}
		}
	}
	return false, nil
}

func bagsAreLegacy(content []byte) (bool, error) {
	var bagsDER []byte
	if _, err := asn1.Unmarshal(content, &bagsDER); err != nil {
		return false, fmt.Errorf("PFX data: %w", err)
	}
	var bags []pfxSafeBag
	if _, err := asn1.Unmarshal(bagsDER, &bags); err != nil {
		return false, fmt.Errorf("PFX safe bags: %w", err)
	}
	for _, b := range bags {
		if !b.ID.Equal(oidPKCS8ShroudedKeyBag) {
			continue
		}
		var info encryptedPrivateKeyInfo
		if _, err := asn1.Unmarshal(b.Value.Bytes, &info); err != nil {
			return false, fmt.Errorf("PFX key bag: %w", err)
		}
		if isPBES1(info.Algorithm.Algorithm) {
			return true, nil
		}
	}
	return false, nil
}
