// Package crltest runs a small certificate authority with the openssl
// command for tests of certificate revocation: `openssl ca` issues and
// revokes certificates and `openssl ca -gencrl` writes the CRLs, in the
// test's temporary directory, so that the appliance is tested against
// lists made by the tool administrators use rather than by itself.
package crltest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CA is one openssl certificate authority with its database.
type CA struct {
	Dir     string
	Name    string
	CertPEM string
	Cert    *x509.Certificate
	t       testing.TB
	seq     int
}

// Leaf is a certificate the CA issued, with its key.
type Leaf struct {
	CertPEM, KeyPEM string
	Cert            *x509.Certificate
	CertFile        string
}

// TLS is the leaf as a TLS certificate (the leaf alone: the CA is the
// peer's trusted root).
func (l Leaf) TLS(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair([]byte(l.CertPEM), []byte(l.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const cnf = `[ req ]
distinguished_name = dn
[ dn ]
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = %s
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 3650
default_crl_days = 7
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ usr_cert ]
basicConstraints = CA:false
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $ENV::SAN
[ crl_ext ]
authorityKeyIdentifier = keyid
`

// NewCA makes a CA called name (its common name) in a directory of its
// own under t.TempDir. Two CAs of one name have different keys: the
// second is the "wrong CA" of a CRL signed by an impostor.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	dir := t.TempDir()
	ca := &CA{Dir: dir, Name: name, t: t}
	must(t, os.Mkdir(filepath.Join(dir, "newcerts"), 0o700))
	must(t, os.WriteFile(filepath.Join(dir, "index.txt"), nil, 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "serial"), []byte("1000\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "crlnumber"), []byte("01\n"), 0o600))
	must(t, os.WriteFile(ca.cnf(), []byte(fmt.Sprintf(cnf, dir)), 0o600))
	ca.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, "ca.key"), "-out", filepath.Join(dir, "ca.pem"),
		"-subj", "/CN="+name, "-days", "3650", "-config", ca.cnf(), "-extensions", "v3_ca",
		"-set_serial", "1")
	ca.CertPEM = read(t, filepath.Join(dir, "ca.pem"))
	ca.Cert = parse(t, ca.CertPEM)
	return ca
}

func (ca *CA) cnf() string { return filepath.Join(ca.Dir, "openssl.cnf") }

func (ca *CA) run(args ...string) string {
	ca.t.Helper()
	cmd := exec.Command("openssl", args...)
	// The configuration's usr_cert section reads $ENV::SAN, which
	// openssl resolves whenever it loads the file.
	cmd.Env = append(os.Environ(), "SAN=DNS:unused.invalid")
	out, err := cmd.CombinedOutput()
	if err != nil {
		ca.t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Issue makes a certificate for cn with the DNS names dns (cn when none),
// valid from a day ago for ten years.
func (ca *CA) Issue(cn string, dns ...string) Leaf {
	ca.t.Helper()
	ca.seq++
	base := filepath.Join(ca.Dir, fmt.Sprintf("leaf%d", ca.seq))
	if len(dns) == 0 {
		dns = []string{cn}
	}
	san := "DNS:" + strings.Join(dns, ",DNS:")
	ca.run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", base+".key", "-out", base+".csr", "-subj", "/CN="+cn, "-config", ca.cnf())
	cmd := exec.Command("openssl", "ca", "-batch", "-config", ca.cnf(), "-extensions", "usr_cert",
		"-startdate", time.Now().Add(-24*time.Hour).UTC().Format("20060102150405Z"),
		"-in", base+".csr", "-out", base+".pem", "-notext")
	cmd.Env = append(os.Environ(), "SAN="+san)
	if out, err := cmd.CombinedOutput(); err != nil {
		ca.t.Fatalf("openssl ca: %v\n%s", err, out)
	}
	l := Leaf{CertPEM: read(ca.t, base+".pem"), KeyPEM: read(ca.t, base+".key"), CertFile: base + ".pem"}
	l.Cert = parse(ca.t, l.CertPEM)
	return l
}

// Revoke marks l revoked (key compromise) in the CA's database; the next
// CRL lists it.
func (ca *CA) Revoke(l Leaf) {
	ca.t.Helper()
	ca.run("ca", "-config", ca.cnf(), "-revoke", l.CertFile, "-crl_reason", "keyCompromise")
}

// CRL writes the CA's CRL (PEM) valid from last to next, and returns it.
// A zero last is now; a zero next is seven days after last.
func (ca *CA) CRL(last, next time.Time) string {
	ca.t.Helper()
	ca.seq++
	out := filepath.Join(ca.Dir, fmt.Sprintf("crl%d.pem", ca.seq))
	if last.IsZero() {
		last = time.Now().Add(-time.Minute)
	}
	if next.IsZero() {
		next = last.Add(7 * 24 * time.Hour)
	}
	ca.run("ca", "-config", ca.cnf(), "-gencrl", "-crlexts", "crl_ext", "-out", out,
		"-crl_lastupdate", last.UTC().Format("20060102150405Z"),
		"-crl_nextupdate", next.UTC().Format("20060102150405Z"))
	return read(ca.t, out)
}

// Rekey rolls the CA over to a new key: a new self-signed certificate of
// the same name (serial 2), which signs the CRLs from then on, as CAs do
// when their key is renewed; the database, and so the revocations of the
// certificates the old key issued, is kept. Cert and CertPEM become the
// new certificate.
func (ca *CA) Rekey() {
	ca.t.Helper()
	ca.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(ca.Dir, "ca.key"), "-out", filepath.Join(ca.Dir, "ca.pem"),
		"-subj", "/CN="+ca.Name, "-days", "3650", "-config", ca.cnf(), "-extensions", "v3_ca",
		"-set_serial", "2")
	ca.CertPEM = read(ca.t, filepath.Join(ca.Dir, "ca.pem"))
	ca.Cert = parse(ca.t, ca.CertPEM)
}

// CRLWithoutNextUpdate is the CA's CRL issued at last (zero: now) with
// no nextUpdate field, which RFC 5280 requires but some CAs omit. openssl
// ca always writes one: the list openssl made is stripped of it and signed
// again with the CA's key (ECDSA with SHA-256, as openssl signed it).
func (ca *CA) CRLWithoutNextUpdate(last time.Time) string {
	ca.t.Helper()
	b, _ := pem.Decode([]byte(ca.CRL(last, time.Time{})))
	in := cryptobyte.String(b.Bytes)
	var list, tbs, fields cryptobyte.String
	var sigAlg cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !list.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) {
		ca.t.Fatal("crltest: openssl's CRL does not parse")
	}
	if !tbs.ReadASN1(&fields, cbasn1.SEQUENCE) {
		ca.t.Fatal("crltest: openssl's tbsCertList does not parse")
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(tb *cryptobyte.Builder) {
		// [version,] signature, issuer, thisUpdate; then nextUpdate,
		// the second time, is dropped; the rest is copied.
		for times := 0; !fields.Empty(); {
			var el cryptobyte.String
			var tag cbasn1.Tag
			if !fields.ReadAnyASN1Element(&el, &tag) {
				ca.t.Fatal("crltest: bad tbsCertList field")
			}
			if tag == cbasn1.UTCTime || tag == cbasn1.GeneralizedTime {
				if times++; times == 2 {
					continue
				}
			}
			tb.AddBytes(el)
		}
	})
	newTBS := out.BytesOrPanic()
	keyBlock, _ := pem.Decode([]byte(read(ca.t, filepath.Join(ca.Dir, "ca.key"))))
	key, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	must(ca.t, err)
	sum := sha256.Sum256(newTBS)
	sig, err := key.(crypto.Signer).Sign(rand.Reader, sum[:], crypto.SHA256)
	must(ca.t, err)
	var crl cryptobyte.Builder
	crl.AddASN1(cbasn1.SEQUENCE, func(cb *cryptobyte.Builder) {
		cb.AddBytes(newTBS)
		cb.AddBytes(sigAlg)
		cb.AddASN1BitString(sig)
	})
	der := crl.BytesOrPanic()
	rl, err := x509.ParseRevocationList(der)
	must(ca.t, err)
	if !rl.NextUpdate.IsZero() {
		ca.t.Fatal("crltest: the stripped CRL still has a nextUpdate")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))
}

// DER is the DER form of a PEM CRL (openssl crl -outform DER).
func (ca *CA) DER(crlPEM string) []byte {
	ca.t.Helper()
	in := filepath.Join(ca.Dir, "der-in.pem")
	out := filepath.Join(ca.Dir, "der-out.crl")
	must(ca.t, os.WriteFile(in, []byte(crlPEM), 0o600))
	ca.run("crl", "-in", in, "-outform", "DER", "-out", out)
	b, err := os.ReadFile(out)
	must(ca.t, err)
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

func parse(t testing.TB, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	must(t, err)
	return c
}
