package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// pkcs12Fixture is a leaf with an RSA key (the common case for uploads)
// issued through an intermediate, written out for OpenSSL.
type pkcs12Fixture struct {
	dir               string
	key               crypto.Signer
	root, inter, leaf *x509.Certificate
	otherKey          crypto.Signer
}

func newPKCS12Fixture(t *testing.T, kt KeyType) pkcs12Fixture {
	t.Helper()
	now := time.Now()
	root := issue(t, nil, certOpts{cn: "P12 Root", isCA: true, notBefore: now.Add(-time.Hour), notAfter: now.AddDate(1, 0, 0)})
	inter := issue(t, root, certOpts{cn: "P12 Intermediate", isCA: true, notBefore: now.Add(-time.Hour), notAfter: now.AddDate(1, 0, 0)})
	key, err := GenerateKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	other, err := GenerateKey(ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	// The leaf is signed by the intermediate but carries key.
	leafSelf, err := SelfSigned(key, Subject{CommonName: "mail.example.com"}, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *leafSelf
	tmpl.AuthorityKeyId = nil
	tmpl.SignatureAlgorithm = x509.UnknownSignatureAlgorithm // let the issuer's key decide
	der, err := x509.CreateCertificate(nil, &tmpl, inter.cert, key.Public(), inter.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	f := pkcs12Fixture{dir: t.TempDir(), key: key, root: root.cert, inter: inter.cert, leaf: leaf, otherKey: other}
	keyPEM, err := EncodePrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, f.dir, "key.pem", keyPEM)
	writeFile(t, f.dir, "leaf.pem", EncodeCertificatePEM(leaf))
	writeFile(t, f.dir, "chain.pem", EncodeCertificatePEM(inter.cert, root.cert))
	return f
}

func TestDecodePKCS12OpenSSL(t *testing.T) {
	opensslPath(t)
	for _, kt := range []KeyType{RSA2048, ECDSAP256} {
		t.Run(kt.String(), func(t *testing.T) {
			f := newPKCS12Fixture(t, kt)
			export := []string{"pkcs12", "-export", "-inkey", "key.pem", "-in", "leaf.pem", "-certfile", "chain.pem", "-passout", "pass:x"}
			tests := []struct {
				name       string
				args       []string // extra openssl pkcs12 -export arguments; nil means "write with go-pkcs12" below
				build      func(t *testing.T) []byte
				password   string
				wantLegacy bool
				wantChain  int
				wantErr    error
			}{
				{name: "modern default", args: []string{}, password: "x", wantChain: 2},
				{name: "legacy flag", args: []string{"-legacy"}, password: "x", wantLegacy: true, wantChain: 2},
				{name: "explicit 3des sha1 mac", args: []string{"-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"},
					password: "x", wantLegacy: true, wantChain: 2},
				{name: "3des key only", args: []string{"-keypbe", "PBE-SHA1-3DES"}, password: "x", wantLegacy: true, wantChain: 2},
				{name: "unencrypted certs", args: []string{"-certpbe", "NONE"}, password: "x", wantChain: 2},
				{name: "wrong password", args: []string{}, password: "y", wantErr: ErrBadPassphrase},
				{name: "legacy wrong password", args: []string{"-legacy"}, password: "", wantErr: ErrBadPassphrase},
				{name: "no key", args: []string{"-nokeys"}, password: "x", wantErr: ErrNoKey},
				{name: "leaf not first", password: "p", wantChain: 2, build: func(t *testing.T) []byte {
					b, err := pkcs12.Modern.Encode(f.key, f.inter, []*x509.Certificate{f.root, f.leaf}, "p")
					if err != nil {
						t.Fatal(err)
					}
					return b
				}},
				{name: "key matches no certificate", password: "p", wantErr: ErrKeyMismatch, build: func(t *testing.T) []byte {
					b, err := pkcs12.Modern.Encode(f.otherKey, f.leaf, []*x509.Certificate{f.inter}, "p")
					if err != nil {
						t.Fatal(err)
					}
					return b
				}},
				{name: "not pkcs12", password: "x", wantErr: ErrMalformedPKCS12, build: func(*testing.T) []byte {
					return EncodeCertificatePEM(f.leaf)
				}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					var data []byte
					if tc.build != nil {
						data = tc.build(t)
					} else {
						out := strings.ReplaceAll(tc.name, " ", "_") + ".p12"
						args := append(append(append([]string{}, export...), tc.args...), "-out", out)
						if tc.wantErr == ErrNoKey {
							args = []string{"pkcs12", "-export", "-nokeys", "-in", "leaf.pem", "-passout", "pass:x", "-out", out}
						}
						openssl(t, f.dir, args...)
						data = readFile(t, f.dir, out)
					}
					key, leaf, chain, legacy, err := DecodePKCS12(data, tc.password)
					if tc.wantErr != nil {
						if !errors.Is(err, tc.wantErr) {
							t.Fatalf("err = %v, want %v", err, tc.wantErr)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if legacy != tc.wantLegacy {
						t.Errorf("legacy = %v, want %v", legacy, tc.wantLegacy)
					}
					if !leaf.Equal(f.leaf) || !KeyMatches(leaf, key) {
						t.Error("leaf or key wrong")
					}
					if len(chain) != tc.wantChain {
						t.Errorf("chain has %d certificates, want %d", len(chain), tc.wantChain)
					}
					for _, c := range chain {
						if c.Equal(f.leaf) {
							t.Error("leaf repeated in chain")
						}
					}
				})
			}
		})
	}
}

func TestDecodePKCS12Ed25519(t *testing.T) {
	dir := t.TempDir()
	openssl(t, dir, "genpkey", "-algorithm", "ed25519", "-out", "ed.pem")
	openssl(t, dir, "req", "-x509", "-key", "ed.pem", "-subj", "/CN=ed.example", "-days", "1", "-out", "ed.crt")
	openssl(t, dir, "pkcs12", "-export", "-inkey", "ed.pem", "-in", "ed.crt", "-passout", "pass:x", "-out", "ed.p12")
	if _, _, _, _, err := DecodePKCS12(readFile(t, dir, "ed.p12"), "x"); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("err = %v, want ErrUnsupportedKey", err)
	}
}

// TestEncodePKCS12OpenSSL checks our output is readable by OpenSSL 3
// without -legacy, which is the whole point of using PBES2/AES.
func TestEncodePKCS12OpenSSL(t *testing.T) {
	opensslPath(t)
	tests := []struct {
		name     string
		kt       KeyType
		password string
	}{
		{"rsa", RSA2048, "x"},
		{"ecdsa", ECDSAP384, "x"},
		{"unicode password", ECDSAP256, "pässwörd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newPKCS12Fixture(t, tc.kt)
			p12, err := EncodePKCS12(f.key, f.leaf, []*x509.Certificate{f.inter, f.root}, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, f.dir, "out.p12", p12)
			pwFile := writeFile(t, f.dir, "pw.txt", []byte(tc.password+"\n"))
			info := openssl(t, f.dir, "pkcs12", "-in", "out.p12", "-info", "-noout", "-passin", "file:"+pwFile)
			if !strings.Contains(info, "AES-256-CBC") || strings.Contains(info, "3DES") || strings.Contains(info, "RC2") {
				t.Errorf("unexpected algorithms:\n%s", info)
			}
			openssl(t, f.dir, "pkcs12", "-in", "out.p12", "-nodes", "-passin", "file:"+pwFile, "-out", "out.pem")
			pemOut := readFile(t, f.dir, "out.pem")
			certs, err := ParseCertificates(pemOut)
			if err != nil {
				t.Fatal(err)
			}
			if len(certs) != 3 || !certs[0].Equal(f.leaf) {
				t.Errorf("OpenSSL extracted %d certificates, leaf first = %v", len(certs), len(certs) > 0 && certs[0].Equal(f.leaf))
			}
			key, err := ParsePrivateKey(pemOut, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !KeyMatches(f.leaf, key) {
				t.Error("OpenSSL extracted a different key")
			}

			// And back through our own decoder.
			k2, leaf, chain, legacy, err := DecodePKCS12(p12, tc.password)
			if err != nil || legacy || !leaf.Equal(f.leaf) || len(chain) != 2 || !KeyMatches(leaf, k2) {
				t.Errorf("round trip: legacy=%v chain=%d err=%v", legacy, len(chain), err)
			}
		})
	}
	t.Run("mismatch", func(t *testing.T) {
		f := newPKCS12Fixture(t, ECDSAP256)
		if _, err := EncodePKCS12(f.otherKey, f.leaf, nil, "x"); !errors.Is(err, ErrKeyMismatch) {
			t.Errorf("err = %v, want ErrKeyMismatch", err)
		}
		if _, err := EncodePKCS12(f.key, nil, nil, "x"); !errors.Is(err, ErrNoCertificate) {
			t.Errorf("err = %v, want ErrNoCertificate", err)
		}
	})
}
