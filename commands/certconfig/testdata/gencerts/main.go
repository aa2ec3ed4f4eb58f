// Command gencerts writes the certificates and keys the certconfig
// transcripts (cmd/esash/testdata/script/certconfig_*.txtar) embed. The
// transcripts run at the fixed time 2026-11-26T21:00:00Z, so validity
// periods here are absolute dates around it. Run it, then paste the files
// into the transcripts:
//
//	go run ./commands/certconfig/testdata/gencerts -out /tmp/fixtures
//
// The encrypted PKCS#8 key is made by the openssl binary, the one tool
// that writes it.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var out = flag.String("out", "fixtures", "output directory")

type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var serial int64 = 1000

func issue(parent *issued, key crypto.Signer, cn string, ca bool, from, to time.Time, dns ...string) *issued {
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Example Test PKI"}},
		NotBefore:             from,
		NotAfter:              to,
		BasicConstraintsValid: true,
		IsCA:                  ca,
		DNSNames:              dns,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.ExtKeyUsage = nil
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		log.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	return &issued{c, key}
}

func ec() crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

func write(name string, blocks ...*pem.Block) {
	var b []byte
	for _, blk := range blocks {
		b = append(b, pem.EncodeToMemory(blk)...)
	}
	if err := os.WriteFile(filepath.Join(*out, name), b, 0o600); err != nil {
		log.Fatal(err)
	}
}

func certBlock(i *issued) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: i.cert.Raw} }

func pkcs8(k crypto.Signer) *pem.Block {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		log.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func main() {
	flag.Parse()
	if err := os.MkdirAll(*out, 0o700); err != nil {
		log.Fatal(err)
	}
	long := date(2045, 1, 1)
	root := issue(nil, ec(), "Example Root CA", true, date(2025, 1, 1), long)
	inter := issue(root, ec(), "Example Intermediate CA", true, date(2025, 1, 1), date(2035, 1, 1))
	otherRoot := issue(nil, ec(), "Other Root CA", true, date(2025, 1, 1), long)
	otherInter := issue(otherRoot, ec(), "Other Intermediate CA", true, date(2025, 1, 1), date(2035, 1, 1))
	oldRoot := issue(nil, ec(), "Retired Root CA", true, date(2015, 1, 1), date(2025, 1, 1))

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	mail := issue(inter, rsaKey, "mail.example.com", false, date(2026, 1, 1), date(2027, 12, 31), "mail.example.com")
	renewed := issue(inter, rsaKey, "mail.example.com", false, date(2026, 11, 1), date(2028, 11, 1), "mail.example.com")
	esa := issue(inter, ec(), "esa.example.com", false, date(2026, 1, 1), date(2027, 12, 31), "esa.example.com")
	expired := issue(inter, ec(), "old.example.com", false, date(2024, 1, 1), date(2025, 1, 1), "old.example.com")
	future := issue(inter, ec(), "future.example.com", false, date(2027, 1, 1), date(2028, 1, 1), "future.example.com")
	soon := issue(inter, ec(), "soon.example.com", false, date(2026, 1, 1), date(2026, 12, 10), "soon.example.com")
	other := issue(otherInter, ec(), "other.example.com", false, date(2026, 1, 1), date(2027, 12, 31), "other.example.com")
	self := issue(nil, ec(), "self.example.com", false, date(2026, 1, 1), date(2036, 1, 1), "self.example.com")
	relay := issue(inter, ec(), "Example Relay", false, date(2026, 1, 1), date(2027, 12, 31))

	write("root.pem", certBlock(root))
	write("inter.pem", certBlock(inter))
	write("inter.key", pkcs8(inter.key))
	write("other-root.pem", certBlock(otherRoot))
	write("other-inter.pem", certBlock(otherInter))
	write("retired-root.pem", certBlock(oldRoot))
	write("ca-bundle.pem", certBlock(root), certBlock(otherRoot), certBlock(oldRoot))
	write("mail.pem", certBlock(mail))
	write("mail-renewed.pem", certBlock(renewed))
	write("mail-chain.pem", certBlock(mail), certBlock(inter), certBlock(root))
	write("mail-pkcs1.key", &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	write("mail-pkcs8.key", pkcs8(rsaKey))
	//lint:ignore SA1019 legacy PEM encryption is what the test needs to accept
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), []byte("secret"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		log.Fatal(err)
	}
	write("mail-legacy-enc.key", legacy)
	cmd := exec.Command("openssl", "pkcs8", "-topk8", "-v2", "aes256", "-passout", "pass:secret",
		"-in", filepath.Join(*out, "mail-pkcs8.key"), "-out", filepath.Join(*out, "mail-pkcs8-enc.key"))
	if b, err := cmd.CombinedOutput(); err != nil {
		log.Fatalf("openssl: %v %s", err, b)
	}
	sec1, err := x509.MarshalECPrivateKey(esa.key.(*ecdsa.PrivateKey))
	if err != nil {
		log.Fatal(err)
	}
	write("esa.pem", certBlock(esa))
	write("esa-sec1.key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})
	for _, c := range []struct {
		name string
		i    *issued
	}{{"old", expired}, {"future", future}, {"soon", soon}, {"other", other}, {"self", self}, {"relay", relay}} {
		write(c.name+".pem", certBlock(c.i))
		write(c.name+".key", pkcs8(c.i.key))
	}
}
