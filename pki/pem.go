package pki

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// pemBlock is a decoded block plus where it was found, so errors can point
// the administrator at the right part of a pasted bundle.
type pemBlock struct {
	*pem.Block
	num  int // 1-based position among all PEM blocks in the input
	line int // 1-based line of the BEGIN marker after normalisation
}

func (b pemBlock) where() string {
	return fmt.Sprintf("PEM block %d (line %d)", b.num, b.line)
}

// normalizePEM undoes what mail clients, web forms and Windows editors do to
// pasted PEM: CRLF or CR line ends, indentation, trailing blanks and a
// UTF-8 byte order mark. encoding/pem rejects indented BEGIN lines.
func normalizePEM(data []byte) []byte {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimSpace(l)
	}
	return bytes.Join(lines, []byte("\n"))
}

var (
	pemBegin = []byte("-----BEGIN ")
	pemEnd   = []byte("\n-----END ")
)

// indexLineStart finds marker at the start of a line, ignoring mentions of
// it inside surrounding prose.
func indexLineStart(data, marker []byte) int {
	for off := 0; ; {
		i := bytes.Index(data[off:], marker)
		if i < 0 {
			return -1
		}
		if i += off; i == 0 || data[i-1] == '\n' {
			return i
		}
		off = i + 1
	}
}

// decodePEM returns every PEM block in data. Unlike a pem.Decode loop it
// fails on a broken block instead of silently skipping to the next one,
// which would otherwise hide a truncated intermediate in a bundle.
func decodePEM(data []byte) ([]pemBlock, error) {
	data = normalizePEM(data)
	var blocks []pemBlock
	for pos, num := 0, 1; ; num++ {
		i := indexLineStart(data[pos:], pemBegin)
		if i < 0 {
			return blocks, nil
		}
		start := pos + i
		b := pemBlock{num: num, line: 1 + bytes.Count(data[:start], []byte("\n"))}
		j := bytes.Index(data[start:], pemEnd)
		if j < 0 {
			return nil, fmt.Errorf("%s: %w: no END line", b.where(), ErrMalformedPEM)
		}
		endLine := start + j + 1
		if k := indexLineStart(data[start+1:endLine], pemBegin); k >= 0 {
			return nil, fmt.Errorf("%s: %w: no END line before the next BEGIN", b.where(), ErrMalformedPEM)
		}
		stop := len(data)
		if nl := bytes.IndexByte(data[endLine:], '\n'); nl >= 0 {
			stop = endLine + nl + 1
		}
		blk, _ := pem.Decode(data[start:stop])
		if blk == nil {
			return nil, fmt.Errorf("%s: %w: bad base64 or mismatched BEGIN/END lines", b.where(), ErrMalformedPEM)
		}
		b.Block = blk
		blocks = append(blocks, b)
		pos = stop
	}
}

// ParseCertificates returns every CERTIFICATE block in pemData, in order,
// ignoring other blocks (keys, parameters) and any text around them. Input
// without PEM markers is tried as DER so binary .cer uploads also work.
func ParseCertificates(pemData []byte) ([]*x509.Certificate, error) {
	blocks, err := decodePEM(pemData)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if certs, err := x509.ParseCertificates(pemData); err == nil && len(certs) > 0 {
			return certs, nil
		}
		return nil, ErrNoCertificate
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", b.where(), ErrMalformedCertificate, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, nil
}

// EncodeCertificatePEM concatenates certs as CERTIFICATE blocks.
func EncodeCertificatePEM(certs ...*x509.Certificate) []byte {
	var buf bytes.Buffer
	for _, c := range certs {
		if c == nil {
			continue
		}
		// Writing to a bytes.Buffer cannot fail.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return buf.Bytes()
}

// EncodePrivateKeyPEM writes key as an unencrypted PKCS#8 "PRIVATE KEY"
// block, the one encoding every TLS stack reads for both RSA and ECDSA.
func EncodePrivateKeyPEM(key crypto.Signer) ([]byte, error) {
	if key == nil {
		return nil, ErrNoKey
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
