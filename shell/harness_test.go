package shell

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/store"

	goldenfile "esash/internal/golden"
)

var testNow = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

func testDemo(t testing.TB) config.Certificate {
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

func openTestStore(t testing.TB) *store.DB {
	t.Helper()
	demo := testDemo(t)
	db, err := store.Open(filepath.Join(t.TempDir(), "config.db"), store.Options{
		Now:     func() time.Time { return testNow },
		Factory: func() (*config.Config, error) { return config.Factory(demo), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fakeTerm is an interactive LineReader fed from a list: "^C" stands for
// Ctrl-C. It echoes like a terminal would show the typed line.
type fakeTerm struct {
	lines []string
	out   io.Writer
	n     int
	keys  int
}

func (f *fakeTerm) ReadLine(p string) (string, error) {
	io.WriteString(f.out, p)
	if len(f.lines) == 0 {
		io.WriteString(f.out, "^D\n")
		return "", io.EOF
	}
	l := f.lines[0]
	f.lines = f.lines[1:]
	f.n++
	if l == "^C" {
		io.WriteString(f.out, "^C\n")
		return "", ErrInterrupt
	}
	io.WriteString(f.out, l+"\n")
	return l, nil
}
func (f *fakeTerm) ReadCommand(p string) (string, error) { return f.ReadLine(p) }
func (f *fakeTerm) ReadSecret(p string) (string, error) {
	io.WriteString(f.out, p+"\n")
	if len(f.lines) == 0 {
		return "", io.EOF
	}
	l := f.lines[0]
	f.lines = f.lines[1:]
	return l, nil
}
func (f *fakeTerm) ReadKey(p string) error {
	f.keys++
	io.WriteString(f.out, p+"\n")
	return nil
}
func (f *fakeTerm) Interactive() bool { return true }
func (f *fakeTerm) Line() int         { return f.n }
func (f *fakeTerm) Close() error      { return nil }

// testCmd is a command defined by a function, for exercising the dialog
// engine without a real command.
type testCmd struct {
	name string
	run  func(s *Session, args []string) error
}

func (c testCmd) Name() string                        { return c.name }
func (c testCmd) Summary() string                     { return "test command " + c.name }
func (c testCmd) Run(s *Session, args []string) error { return c.run(s, args) }

// runSession runs input through a shell with cmds, interactive or as a
// script, and returns what the session printed and its exit status.
func runSession(t *testing.T, interactive bool, input string, cmds ...Command) (string, int, *Session) {
	t.Helper()
	db := openTestStore(t)
	sh, err := New(db, Options{Now: func() time.Time { return testNow }}, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var in LineReader
	if interactive {
		in = &fakeTerm{lines: strings.Split(strings.TrimSuffix(input, "\n"), "\n"), out: &out}
	} else {
		in = NewScriptReader(strings.NewReader(input), &out)
	}
	s := sh.NewSession(SessionConfig{In: in, Out: &out, Err: &out, User: "admin", Source: "test",
		Height: func() int { return 6 }})
	code := sh.Run(s)
	return out.String(), code, s
}

// golden compares got with testdata/dialog/<name>.golden; ESASH_UPDATE=1
// rewrites it.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, filepath.Join("testdata", "dialog", name+".golden"), got)
}
