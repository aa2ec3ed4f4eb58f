package loadconfig_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/commands/ldapconfig"
	"esash/commands/loadconfig"
	"esash/commands/saveconfig"
	"esash/commands/sethostname"
	"esash/commands/showconfig"
	"esash/config"
	"esash/shell"
	"esash/store"
)

var now = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// appliance is a store and shell in a temporary data directory.
type appliance struct {
	dir string
	db  *store.DB
	sh  *shell.Shell
}

func newAppliance(t *testing.T) *appliance {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "demo"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	demo := config.Certificate{Name: "Demo",
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "configuration"), 0o700)
	db, err := store.Open(filepath.Join(dir, "config.db"), store.Options{
		Now:     func() time.Time { return now },
		Factory: func() (*config.Config, error) { return config.Factory(demo), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sh, err := shell.New(db, shell.Options{Now: func() time.Time { return now }},
		ldapconfig.New(), saveconfig.New(), showconfig.New(), loadconfig.New(), sethostname.New())
	if err != nil {
		t.Fatal(err)
	}
	return &appliance{dir: dir, db: db, sh: sh}
}

// run feeds a script to a session and returns what it printed.
func (a *appliance) run(t *testing.T, script string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	s := a.sh.NewSession(shell.SessionConfig{
		In: shell.NewScriptReader(strings.NewReader(script), &out), Out: &out, Err: &out,
		User: "admin", Source: "script", DataDir: a.dir,
	})
	code := a.sh.Run(s)
	return out.String(), code
}

const ldapServer = "ldapconfig\nnew\ncorp\nldap.example.com\nn\n2\ncn=esa\nbind-secret-1\nbind-secret-1\nn\n2\n\n\n\n\ncommit ldap\n"

// TestAudit: every export and load is in the audit trail, the plain one
// included, and no entry holds a secret.
func TestAudit(t *testing.T) {
	a := newAppliance(t)
	if out, code := a.run(t, ldapServer+"saveconfig 3\nshowconfig 1\n"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	b := newAppliance(t)
	name := config.ExportFileName(now)
	data, err := os.ReadFile(filepath.Join(a.dir, "configuration", name))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.dir, "configuration", "backup.xml"), data, 0o600)
	if out, code := b.run(t, "loadconfig backup.xml\ncommit loaded\n"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var got []string
	for _, app := range []*appliance{a, b} {
		entries, err := app.db.AuditLog(10)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			got = append(got, e.Action+": "+e.Detail)
			if strings.Contains(e.Detail, "bind-secret-1") || strings.Contains(e.Detail, "PRIVATE KEY") {
				t.Errorf("audit entry holds a secret: %+v", e)
			}
		}
	}
	for _, want := range []string{
		"export: saveconfig " + name + ", passphrases plain",
		"export: showconfig, passphrases masked",
		"load: loadconfig backup.xml (passphrases plain): ",
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no audit entry %q in %q", want, got)
		}
	}
	// The loaded configuration is the saved one.
	if d := config.Diff(a.db.Head().Config, b.db.Head().Config); len(d) != 0 {
		t.Errorf("loaded configuration differs: %v", d)
	}
}

// TestLoadLeavesRunningConfig: loadconfig stages; only commit applies.
func TestLoadLeavesRunningConfig(t *testing.T) {
	a := newAppliance(t)
	a.run(t, "saveconfig 1\n")
	before := a.db.Head().Rev
	out, code := a.run(t, "sethostname\nmail1.example.com\ncommit renamed\nloadconfig "+config.ExportFileName(now)+"\n")
	if code != 2 || !strings.Contains(out, "Values have been loaded.") {
		t.Fatalf("exit %d (want 2: staged, not committed):\n%s", code, out)
	}
	if h := a.db.Head(); h.Rev != before+1 || h.Config.Hostname != "mail1.example.com" {
		t.Errorf("running configuration changed by loadconfig: rev %d hostname %s", h.Rev, h.Config.Hostname)
	}
}
