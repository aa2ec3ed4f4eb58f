// Package shelltest builds appliances for command tests: a configuration
// store in a temporary data directory, a shell over it with the commands
// under test, and a fake interactive terminal.
package shelltest

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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/shell"
	"esash/store"
)

// Now is the fixed clock of test appliances.
var Now = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

// DemoCertificate is a self-signed "Demo" certificate profile valid
// around now, for the factory configuration.
func DemoCertificate(t testing.TB, now time.Time) config.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "demo"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return config.Certificate{Name: "Demo",
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))}
}

// Options adjust a test appliance; the zero value is the factory
// configuration at the fixed clock Now.
type Options struct {
	// Clock is the store's and the shell's clock (nil: Now, fixed).
	Clock func() time.Time
	// Demo is the factory's Demo certificate (nil: DemoCertificate).
	Demo *config.Certificate
	// Factory, when set, edits the factory configuration.
	Factory func(*config.Config)
}

func (o Options) clock() func() time.Time {
	if o.Clock != nil {
		return o.Clock
	}
	return func() time.Time { return Now }
}

// NewStore opens a fresh store in a temporary directory, holding the
// factory configuration; it is closed when the test ends.
func NewStore(t testing.TB) *store.DB {
	t.Helper()
	return OpenStore(t, t.TempDir(), Options{})
}

// OpenStore opens a fresh store in dir (its config.db); it is closed when
// the test ends.
func OpenStore(t testing.TB, dir string, o Options) *store.DB {
	t.Helper()
	clock := o.clock()
	var demo config.Certificate
	if o.Demo != nil {
		demo = *o.Demo
	} else {
		demo = DemoCertificate(t, clock())
	}
	db, err := store.Open(filepath.Join(dir, "config.db"), store.Options{
		Now: clock,
		Factory: func() (*config.Config, error) {
			c := config.Factory(demo)
			if o.Factory != nil {
				o.Factory(c)
			}
			return c, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Appliance is a store and a shell in a temporary data directory, with
// its configuration directory (Dir/configuration) made.
type Appliance struct {
	Dir   string
	DB    *store.DB
	Shell *shell.Shell
	// Source is what sessions record as their origin ("test" unless set).
	Source string
}

// NewAppliance makes an appliance whose shell runs cmds.
func NewAppliance(t testing.TB, o Options, cmds ...shell.Command) *Appliance {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "configuration"), 0o700); err != nil {
		t.Fatal(err)
	}
	db := OpenStore(t, dir, o)
	sh, err := shell.New(db, shell.Options{Now: o.clock()}, cmds...)
	if err != nil {
		t.Fatal(err)
	}
	return &Appliance{Dir: dir, DB: db, Shell: sh, Source: "test"}
}

// Session runs a session of user admin reading in and writing to out
// until its input ends, and returns it with its exit status.
func (a *Appliance) Session(in shell.LineReader, out io.Writer) (*shell.Session, int) {
	s := a.Shell.NewSession(shell.SessionConfig{In: in, Out: out, Err: out,
		User: "admin", Source: a.Source, DataDir: a.Dir})
	return s, a.Shell.Run(s)
}

// Run runs input as typed on a terminal (interactive: a bad answer is
// asked again) or as a script (a bad answer ends it), and returns what the
// session printed, its exit status and the session.
func (a *Appliance) Run(interactive bool, input string) (string, int, *shell.Session) {
	var out bytes.Buffer
	var in shell.LineReader
	if interactive {
		in = NewTerm(input, &out)
	} else {
		in = shell.NewScriptReader(strings.NewReader(input), &out)
	}
	s, code := a.Session(in, &out)
	return out.String(), code, s
}

// RunSession runs input through a new appliance with cmds, interactive or
// as a script, and returns what the session printed, its exit status and
// the session.
func RunSession(t testing.TB, interactive bool, input string, cmds ...shell.Command) (string, int, *shell.Session) {
	t.Helper()
	return NewAppliance(t, Options{}, cmds...).Run(interactive, input)
}

// Term is an interactive LineReader fed from a list of lines, echoing
// them as a terminal shows what is typed: "^C" stands for Ctrl-C, the end
// of the list for Ctrl-D, and secrets are not echoed.
type Term struct {
	Lines []string
	Out   io.Writer
	N     int // lines read
	Keys  int // keys waited for (ReadKey)
}

// NewTerm is a Term typing the lines of input.
func NewTerm(input string, out io.Writer) *Term {
	return &Term{Lines: strings.Split(strings.TrimSuffix(input, "\n"), "\n"), Out: out}
}

func (f *Term) next() (string, error) {
	if len(f.Lines) == 0 {
		return "", io.EOF
	}
	l := f.Lines[0]
	f.Lines = f.Lines[1:]
	f.N++
	if l == "^C" {
		return "", shell.ErrInterrupt
	}
	return l, nil
}

// ReadLine implements shell.LineReader.
func (f *Term) ReadLine(p string) (string, error) {
	io.WriteString(f.Out, p)
	l, err := f.next()
	switch {
	case err == io.EOF:
		io.WriteString(f.Out, "^D\n")
	case err != nil:
		io.WriteString(f.Out, "^C\n")
	default:
		io.WriteString(f.Out, l+"\n")
	}
	return l, err
}

// ReadCommand implements shell.LineReader.
func (f *Term) ReadCommand(p string) (string, error) { return f.ReadLine(p) }

// ReadSecret implements shell.LineReader: the prompt, not the answer.
func (f *Term) ReadSecret(p string) (string, error) {
	io.WriteString(f.Out, p+"\n")
	return f.next()
}

// ReadKey implements shell.LineReader.
func (f *Term) ReadKey(p string) error {
	f.Keys++
	io.WriteString(f.Out, p+"\n")
	return nil
}

// Interactive implements shell.LineReader: a Term is a terminal.
func (f *Term) Interactive() bool { return true }

// Line implements shell.LineReader.
func (f *Term) Line() int { return f.N }

// Close implements shell.LineReader.
func (f *Term) Close() error { return nil }

var _ shell.LineReader = (*Term)(nil)
