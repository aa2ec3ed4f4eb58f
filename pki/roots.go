package pki

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The places crypto/x509 reads the system trust store from on Linux, in
// its order: the first bundle file found, then every file of the
// directories. SSL_CERT_FILE and SSL_CERT_DIR override them, as for Go
// and OpenSSL.
var (
	systemRootFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",
		"/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem",
		"/etc/pki/tls/cacert.pem",
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
		"/etc/ssl/cert.pem",
	}
	systemRootDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

var systemRootCerts = sync.OnceValues(loadSystemRootCertificates)

// SystemRootCertificates lists the operating system's trusted roots, each
// once, in the order the trust store holds them, so they can be printed
// and exported. The list is read once per process; it is empty where the
// store is not a set of PEM files (SystemRoots still works there).
func SystemRootCertificates() ([]*x509.Certificate, error) {
	certs, err := systemRootCerts()
	return append([]*x509.Certificate(nil), certs...), err
}

func loadSystemRootCertificates() ([]*x509.Certificate, error) {
	files := systemRootFiles
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	dirs := systemRootDirs
	if d, ok := os.LookupEnv("SSL_CERT_DIR"); ok {
		dirs = filepath.SplitList(d)
	}
	var out []*x509.Certificate
	seen := map[string]bool{}
	add := func(data []byte) {
		for _, c := range parseLenient(data) {
			if k := string(c.Raw); !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
	}
	for _, f := range files {
		if data, err := os.ReadFile(f); err == nil {
			add(data)
			break
		}
	}
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(d, e.Name())); err == nil {
				add(data)
			}
		}
	}
	return out, nil
}

// parseLenient returns the certificates of a trust store file, skipping
// blocks that do not parse the way x509.CertPool.AppendCertsFromPEM does:
// one bad entry in a distribution's bundle must not hide the others.
func parseLenient(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for _, b := range splitPEM(data) {
		if c, err := x509.ParseCertificate(b); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// TrustPool is the set of roots verification uses: the system roots when
// system is set, plus custom.
func TrustPool(system bool, custom []*x509.Certificate) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if system {
		sys, err := SystemRoots()
		if err != nil {
			return nil, err
		}
		pool = sys
	}
	for _, c := range custom {
		pool.AddCert(c)
	}
	return pool, nil
}

// splitPEM returns the DER of every CERTIFICATE block pem.Decode finds.
func splitPEM(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		b, rest := pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" && len(b.Headers) == 0 {
			out = append(out, b.Bytes)
		}
		data = rest
	}
	return out
}
