package certconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/pki"
)

// TestUserStoryOpenSSL is the seed guide end to end against the real
// openssl: NEW makes a key and CSR, commit, EDIT writes the CSR, a CA made
// by openssl signs it through an intermediate, the signed certificate is
// pasted back with the intermediate and committed, and openssl agrees with
// what esash said about the chain at each step. Then EXPORT is read by
// openssl pkcs12 (OpenSSL 3, no -legacy) and openssl's own PKCS#12 files
// (default and -legacy) import.
func TestUserStoryOpenSSL(t *testing.T) {
	opensslPath(t)
	e := newEnvClock(t, time.Now)
	cfgDir := filepath.Join(e.Dir, "configuration")
	work := t.TempDir()

	// 1. NEW, then commit: the key exists from here on.
	out, code, _ := e.script(strings.Join([]string{
		"certconfig", "certificate", "new", "1", "web", "mail.example.com", "Y",
		"Example Inc", "Mail", "Seoul", "Seoul", "KR", "30", "3", "N", "", "",
		"commit", "new web", "N"}, "\n") + "\n")
	if code != 0 {
		t.Fatalf("NEW: %d\n%s", code, out)
	}

	// 2. EDIT writes the CSR; it verifies and carries the subject entered.
	out, code, _ = e.script("certconfig\ncertificate\nedit\nweb\nN\nN\nN\nY\n\n\n")
	if code != 0 || !strings.Contains(out, "The CSR was written to configuration/web.csr.") {
		t.Fatalf("EDIT CSR: %d\n%s", code, out)
	}
	csrPath := filepath.Join(cfgDir, "web.csr")
	req := openssl(t, work, "req", "-in", csrPath, "-verify", "-noout", "-subject", "-nameopt", "RFC2253")
	for _, want := range []string{"verify OK", "subject=CN=mail.example.com,OU=Mail,O=Example Inc,L=Seoul,ST=Seoul,C=KR"} {
		if !strings.Contains(req, want) {
			t.Errorf("openssl req lacks %q:\n%s", want, req)
		}
	}

	// 3. A CA made by openssl: root, intermediate, and the signed leaf.
	writeFile(t, work, "ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
	writeFile(t, work, "leaf.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n")
	openssl(t, work, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=OpenSSL Test Root CA", "-days", "30",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	openssl(t, work, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "inter.key", "-out", "inter.csr", "-subj", "/CN=OpenSSL Test Intermediate CA")
	openssl(t, work, "x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key",
		"-CAcreateserial", "-days", "20", "-extfile", "ca.ext", "-out", "inter.pem")
	openssl(t, work, "x509", "-req", "-in", csrPath, "-CA", "inter.pem", "-CAkey", "inter.key",
		"-CAcreateserial", "-days", "10", "-copy_extensions", "copy", "-extfile", "leaf.ext", "-out", "leaf.pem")
	leafPEM := readFile(t, work, "leaf.pem")
	interPEM := readFile(t, work, "inter.pem")
	copyFile(t, filepath.Join(work, "root.pem"), filepath.Join(cfgDir, "root.pem"))
	importRoot := "certconfig\ncertauthority\ncustom\nimport\nroot.pem\nN\n\n\n"

	// 4. Without the intermediate both refuse the chain, for the same reason.
	out, code, _ = e.script(importRoot + "certificate\nedit\nweb\nY\n" + leafPEM + ".\nN\nN\n")
	if code != 1 || !strings.Contains(out, "because unable to get local issuer certificate") {
		t.Fatalf("EDIT without intermediate: %d\n%s", code, tail(out))
	}
	if v, err := opensslErr(t, work, "verify", "-CAfile", "root.pem", "leaf.pem"); err == nil || !strings.Contains(v, "unable to get local issuer certificate") {
		t.Errorf("openssl verify without the intermediate: %v\n%s", err, v)
	}

	// 5. With it, both accept; the change commits. The profile had no
	// intermediate before this EDIT, so after the last "add" comes the FQDN
	// question (IAF certconfig.py edit(): add N, then the FQDN answer).
	out, code, _ = e.script(importRoot + "certificate\nedit\nweb\nY\n" + leafPEM + ".\nY\n" + interPEM + ".\nN\nN\n\n\ncommit\nsigned\nN\n")
	if code != 0 || !strings.Contains(out, `Certificate chain of "mail.example.com" verified:`) || !strings.Contains(out, "Changes committed") {
		t.Fatalf("EDIT with intermediate: %d\n%s", code, tail(out))
	}
	if v := openssl(t, work, "verify", "-CAfile", "root.pem", "-untrusted", "inter.pem", "leaf.pem"); !strings.Contains(v, "leaf.pem: OK") {
		t.Errorf("openssl verify: %s", v)
	}
	p, ok := findProfile(e.DB.Head().Config, "web")
	if !ok || len(p.Intermediates) != 1 || !samePEM(t, p.Intermediates[0], interPEM) || !samePEM(t, p.CertPEM, leafPEM) {
		t.Fatalf("committed profile: %+v", p)
	}

	// 6. EXPORT: OpenSSL 3 reads it without -legacy and finds the same key
	// and the chain; the file is the owner's only.
	out, code, _ = e.script("certconfig\ncertificate\nexport\nweb\nweb.p12\nexp0rt\nexp0rt\n\n\n")
	if code != 0 {
		t.Fatalf("EXPORT: %d\n%s", code, tail(out))
	}
	p12 := filepath.Join(cfgDir, "web.p12")
	if st, err := os.Stat(p12); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("web.p12: %v %v", st.Mode(), err)
	}
	info := openssl(t, work, "pkcs12", "-in", p12, "-passin", "pass:exp0rt", "-info", "-nodes", "-out", "exported.pem")
	for _, want := range []string{"PBES2, PBKDF2, AES-256-CBC", "MAC: sha256"} {
		if !strings.Contains(info, want) {
			t.Errorf("openssl pkcs12 -info lacks %q:\n%s", want, info)
		}
	}
	openssl(t, work, "pkey", "-in", "exported.pem", "-pubout", "-out", "exported.pub")
	openssl(t, work, "req", "-in", csrPath, "-pubkey", "-noout", "-out", "csr.pub")
	if a, b := readFile(t, work, "exported.pub"), readFile(t, work, "csr.pub"); a != b {
		t.Errorf("exported key is not the CSR's key:\n%s\n%s", a, b)
	}
	exported, err := pki.ParseCertificates([]byte(readFile(t, work, "exported.pem")))
	if err != nil || len(exported) != 2 {
		t.Fatalf("exported certificates: %v %d", err, len(exported))
	}

	// 7. openssl's own PKCS#12 files import, modern and -legacy.
	openssl(t, work, "pkey", "-in", "exported.pem", "-out", "web.key")
	for _, f := range []struct {
		name   string
		args   []string
		legacy bool
	}{{"modern.p12", nil, false}, {"legacy.p12", []string{"-legacy"}, true}} {
		args := append([]string{"pkcs12", "-export", "-in", "leaf.pem", "-inkey", "web.key", "-certfile", "inter.pem",
			"-passout", "pass:s3cret", "-out", filepath.Join(cfgDir, f.name)}, f.args...)
		openssl(t, work, args...)
		prof := strings.TrimSuffix(f.name, ".p12")
		out, code, _ = e.script("certconfig\ncertificate\nimport\n" + prof + "\n" + f.name + "\ns3cret\nN\n\n\ncommit\nimport\nN\n")
		if code != 0 || !strings.Contains(out, "Certificate profile "+prof+" imported from "+f.name) {
			t.Fatalf("IMPORT %s: %d\n%s", f.name, code, tail(out))
		}
		if got := strings.Contains(out, "legacy encryption"); got != f.legacy {
			t.Errorf("IMPORT %s: legacy warning %v, want %v", f.name, got, f.legacy)
		}
		ip, _ := findProfile(e.DB.Head().Config, prof)
		if ip.KeyPEM != p.KeyPEM || !samePEM(t, ip.CertPEM, leafPEM) || len(ip.Intermediates) != 1 {
			t.Errorf("imported %s differs from the exported profile", f.name)
		}
	}
}

// TestPasteKeyFormatsOpenSSL pastes keys in every encoding openssl writes.
func TestPasteKeyFormatsOpenSSL(t *testing.T) {
	opensslPath(t)
	work := t.TempDir()
	openssl(t, work, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-out", "rsa.pem",
		"-subj", "/CN=self.example.com", "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE")
	openssl(t, work, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "ec.key", "-out", "ec.pem",
		"-subj", "/CN=self.example.com", "-days", "30", "-addext", "basicConstraints=critical,CA:FALSE")
	openssl(t, work, "rsa", "-in", "rsa.key", "-traditional", "-out", "rsa-pkcs1.key")
	openssl(t, work, "ec", "-in", "ec.key", "-out", "ec-sec1.key")
	openssl(t, work, "pkey", "-in", "rsa.key", "-aes256", "-passout", "pass:pw", "-out", "rsa-enc.key")
	openssl(t, work, "rsa", "-in", "rsa.key", "-traditional", "-aes128", "-passout", "pass:pw", "-out", "rsa-legacy-enc.key")
	e := newEnvClock(t, time.Now)
	for _, tc := range []struct{ cert, key, pass string }{
		{"rsa.pem", "rsa.key", ""}, {"rsa.pem", "rsa-pkcs1.key", ""}, {"ec.pem", "ec.key", ""},
		{"ec.pem", "ec-sec1.key", ""}, {"rsa.pem", "rsa-enc.key", "pw\n"}, {"rsa.pem", "rsa-legacy-enc.key", "pw\n"},
	} {
		in := "certconfig\ncertificate\npaste\nx\n" + readFile(t, work, tc.cert) + ".\n" + readFile(t, work, tc.key) + ".\n" + tc.pass + "N\nN\n\n\nclear\nY\n"
		out, code, _ := e.script(in)
		if code != 0 || !strings.Contains(out, "Certificate profile x staged") {
			t.Errorf("%s: %d\n%s", tc.key, code, tail(out))
		}
	}
}

func writeFile(t *testing.T, dir, name, data string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// samePEM compares the certificates of two PEM texts.
func samePEM(t *testing.T, a, b string) bool {
	t.Helper()
	ca, err1 := pki.ParseCertificates([]byte(a))
	cb, err2 := pki.ParseCertificates([]byte(b))
	if err1 != nil || err2 != nil || len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if !ca[i].Equal(cb[i]) {
			return false
		}
	}
	return true
}
