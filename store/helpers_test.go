package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"esash/config"
)

// testNow is where the test clock starts; certificates are made relative
// to it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a test clock that moves one second per reading, so revisions
// and audit entries have distinct, predictable times.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// newCert makes a self-signed ECDSA certificate profile; keys are made at
// test time, none is committed.
func newCert(t testing.TB, name string, notBefore, notAfter time.Time) config.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return config.Certificate{
		Name:    name,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})),
	}
}

func validCert(t testing.TB, name string) config.Certificate {
	return newCert(t, name, testNow.Add(-24*time.Hour), testNow.Add(365*24*time.Hour))
}

func expiredCert(t testing.TB, name string) config.Certificate {
	return newCert(t, name, testNow.Add(-730*24*time.Hour), testNow.Add(-365*24*time.Hour))
}

// factoryFunc is an Options.Factory with a Demo certificate made once.
func factoryFunc(t testing.TB) func() (*config.Config, error) {
	demo := validCert(t, "Demo")
	return func() (*config.Config, error) { return config.Factory(demo), nil }
}

// noFactory fails the test if a database that should exist is created.
func noFactory(t testing.TB) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		t.Error("Factory called for an existing database")
		return nil, errors.New("no factory")
	}
}

// openDB opens (or creates) the database at path. Cleanup checks the
// file's consistency and closes it.
func openDB(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	if opts.Factory == nil {
		opts.Factory = factoryFunc(t)
	}
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		checkConsistent(t, db)
		db.Close()
	})
	return db
}

// newDB is a fresh database in a temporary directory.
func newDB(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.db")
	return openDB(t, path, Options{}), path
}

// checkConsistent runs bbolt's page check on an open database, as bbolt's
// own test helper does after every test.
func checkConsistent(t testing.TB, db *DB) {
	t.Helper()
	err := db.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			t.Errorf("bbolt check: %v", err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, bolt.ErrDatabaseNotOpen) {
		t.Errorf("bbolt check: %v", err)
	}
}

// canon is c as JSON with nil and empty lists written alike: equality of
// settings, which is what the store promises to keep.
func canon(t testing.TB, c *config.Config) string {
	t.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(nullToEmpty(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func nullToEmpty(v any) any {
	switch v := v.(type) {
	case nil:
		return []any{}
	case map[string]any:
		for k, e := range v {
			v[k] = nullToEmpty(e)
		}
	case []any:
		for i, e := range v {
			v[i] = nullToEmpty(e)
		}
	}
	return v
}

// assertSame fails when two configurations differ as settings.
func assertSame(t testing.TB, what string, got, want *config.Config) {
	t.Helper()
	if canon(t, got) == canon(t, want) {
		return
	}
	var ps []string
	for _, ch := range config.Diff(want, got) {
		ps = append(ps, string(ch.Op)+" "+ch.Path)
	}
	if len(ps) == 0 {
		ps = []string{"(only the order of a list)"}
	}
	t.Errorf("%s: configurations differ at %q", what, ps)
}

// stage makes an edit in a draft and fails the test if it cannot.
func stage(t testing.TB, d *Draft, fn func(c *config.Config)) {
	t.Helper()
	if err := d.Update(func(c *config.Config) error { fn(c); return nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// commit commits a draft and fails the test if it cannot.
func commit(t testing.TB, d *Draft, comment string) Result {
	t.Helper()
	res, err := d.Commit(context.Background(), comment, false, nil)
	if err != nil {
		t.Fatalf("commit %q by %s: %v", comment, d.User, err)
	}
	return res
}

// entry is destination entry i, as the history and crash tests add them.
func entry(i int) config.DestControl {
	return config.DestControl{Domain: fmt.Sprintf("d%d.example.com", i)}
}
