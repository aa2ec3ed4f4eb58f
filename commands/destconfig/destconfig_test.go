package destconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/shell"
	"esash/store"
)

var testNow = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

func demoCert(t testing.TB) config.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "demo"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	return config.Certificate{Name: "Demo",
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))}
}

// appliance is a shell with destconfig over a fresh store whose factory
// configuration edit may change.
type appliance struct {
	sh  *shell.Shell
	dir string
}

func newAppliance(t testing.TB, edit func(c *config.Config)) *appliance {
	t.Helper()
	demo := demoCert(t)
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "config.db"), store.Options{
		Now: func() time.Time { return testNow },
		Factory: func() (*config.Config, error) {
			c := config.Factory(demo)
			if edit != nil {
				edit(c)
			}
			return c, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	sh, err := shell.New(db, shell.Options{Now: func() time.Time { return testNow }}, New())
	if err != nil {
		t.Fatal(err)
	}
	return &appliance{sh: sh, dir: dir}
}

// term is an interactive reader fed from lines: invalid answers are asked
// again instead of ending the session.
type term struct {
	lines []string
	out   io.Writer
	n     int
}

func (f *term) ReadLine(p string) (string, error) {
	io.WriteString(f.out, p)
	if len(f.lines) == 0 {
		io.WriteString(f.out, "\n")
		return "", io.EOF
	}
	l := f.lines[0]
	f.lines, f.n = f.lines[1:], f.n+1
	io.WriteString(f.out, l+"\n")
	return l, nil
}
func (f *term) ReadCommand(p string) (string, error) { return f.ReadLine(p) }
func (f *term) ReadSecret(p string) (string, error)  { return f.ReadLine(p) }
func (f *term) ReadKey(string) error                 { return nil }
func (f *term) Interactive() bool                    { return true }
func (f *term) Line() int                            { return f.n }
func (f *term) Close() error                         { return nil }

// session runs input and returns the output and the session (its draft).
func (a *appliance) session(input string, interactive bool, out io.Writer) (*shell.Session, int) {
	var in shell.LineReader = shell.NewScriptReader(strings.NewReader(input), out)
	if interactive {
		in = &term{lines: strings.Split(strings.TrimSuffix(input, "\n"), "\n"), out: out}
	}
	s := a.sh.NewSession(shell.SessionConfig{In: in, Out: out, Err: out, User: "admin", Source: "test", DataDir: a.dir})
	return s, a.sh.Run(s)
}

func withEntries(n int) func(c *config.Config) {
	return func(c *config.Config) {
		for i := range n {
			e := config.DestControl{Domain: fmt.Sprintf("d%05d.example.com", i)}
			switch i % 4 {
			case 1:
				e.TLS = config.TLSOutRequired
			case 2:
				e.MaxConcurrency, e.RecipientLimit, e.RecipientMinutes = 10+i%90, 100, 60
			case 3:
				e.Domain = ".sub" + e.Domain
				e.DANE = config.DANEOpportunistic
			}
			c.Destinations.Entries = append(c.Destinations.Entries, e)
		}
	}
}

// TestInteractive: on a terminal a bad answer is asked again, and a
// refused import brings the menu back with nothing staged: the entry added
// before it is the only change.
func TestInteractive(t *testing.T) {
	a := newAppliance(t, nil)
	os.WriteFile(filepath.Join(a.dir, "configuration", "bad.ini"), []byte("[DEFAULT]\ntls = sometimes\n"), 0o600)
	var out bytes.Buffer
	a.session("destconfig\nnew\nbad_name.example.com\nok.example.com\n"+strings.Repeat("\n", 10)+
		"import\nbad.ini\nimport\nmissing.ini\nimport\n../etc/passwd\n\n\nshowchanges\n", true, &out)
	got := out.String()
	for _, want := range []string{
		"[]> bad_name.example.com\nInvalid hostname format: valid characters are letters, digits, hyphens and dots.\nEnter the domain you wish to configure.\n[]> ok.example.com\n",
		"Import failed: line 2: The value of tls must be one of off, on, require, on_verify, require_verify, not \"sometimes\". Nothing was imported.\n",
		"Error reading file: the file \"missing.ini\" does not exist in the configuration directory.\n",
		"[]> ../etc/passwd\nThe value must be a file name in the configuration directory, without '/' or '..'.\nEnter the name of the file to import.\n[]> \n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	changes := got[strings.LastIndex(got, "> showchanges\n"):]
	if !strings.Contains(changes, "destinations.entries[ok.example.com]") || strings.Count(changes, "destinations.") != 1 {
		t.Errorf("staged changes after the refused imports:\n%s", changes)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	a := newAppliance(t, withEntries(200))
	var out bytes.Buffer
	s, code := a.session("destconfig\nexport\nall.ini\nclear\nimport\nall.ini\n\n", false, &out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if chs := s.Draft.Changes(); len(chs) != 0 {
		t.Errorf("export then import changed %d settings, first %s", len(chs), chs[0].Path)
	}
}

// Benchmarks of the command through a real session over a store holding
// 10,000 destination entries (go test -bench . ./commands/destconfig).

func benchSession(b *testing.B, a *appliance, input string, check func(out string)) {
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		_, code := a.session(input, false, &out)
		if code != 0 && code != 2 {
			b.Fatalf("exit %d: %s", code, out.String()[max(0, out.Len()-500):])
		}
		if check != nil {
			check(out.String())
		}
	}
}

func BenchmarkList10k(b *testing.B) {
	a := newAppliance(b, withEntries(10000))
	benchSession(b, a, "destconfig\nlist\n\n", func(out string) {
		if !strings.Contains(out, "d09998.example.com") {
			b.Fatal("LIST misses an entry")
		}
	})
}

func BenchmarkDetail10k(b *testing.B) {
	a := newAppliance(b, withEntries(10000))
	b.Run("all", func(b *testing.B) { benchSession(b, a, "destconfig\ndetail\nall\n\n", nil) })
	b.Run("one", func(b *testing.B) { benchSession(b, a, "destconfig\ndetail\nmx.subd09999.example.com\n\n", nil) })
}

func BenchmarkImport10k(b *testing.B) {
	a := newAppliance(b, nil)
	c := config.Factory(config.Certificate{})
	withEntries(10000)(c)
	file := config.FormatDestinations(&c.Destinations)
	if err := os.WriteFile(filepath.Join(a.dir, "configuration", "big.ini"), file, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	benchSession(b, a, "destconfig\nimport\nbig.ini\n\n", func(out string) {
		if !strings.Contains(out, "Imported 10000 entries") {
			b.Fatal("import failed")
		}
	})
}
