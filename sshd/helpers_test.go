package sshd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	gossh "golang.org/x/crypto/ssh"

	"esash/commands/passwd"
	"esash/commands/sethostname"
	"esash/commands/userconfig"
	"esash/commands/who"
	"esash/config"
	"esash/shell"
	"esash/store"
)

// The tests run a real server on a loopback address of their own, with
// the real shell and store, and log in with x/crypto/ssh's client, which
// lets them choose source addresses, keys and timings precisely. The
// OpenSSH end-to-end tests are in cmd/esash.

var testNow = time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)

var loopSeq atomic.Uint32

// nextIP hands out a loopback address per test server: 127.43.P.N, P
// from the process so that concurrent test binaries do not collide.
func nextIP() string {
	n := loopSeq.Add(1)
	return fmt.Sprintf("127.43.%d.%d", os.Getpid()%250+1, n%250+1)
}

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

var hostSigner = sync.OnceValue(func() gossh.Signer {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := gossh.NewSignerFromKey(k)
	return s
})

func genKey() gossh.Signer {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	s, err := gossh.NewSignerFromKey(k)
	if err != nil {
		panic(err)
	}
	return s
}

func authorized(s gossh.Signer, comment string) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + comment
}

// hash is bcrypt at its lowest cost: the production cost is slow on
// purpose, and slower still under the race detector.
func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type fixture struct {
	t    testing.TB
	dir  string // the data directory
	db   *store.DB
	sh   *shell.Shell
	srv  *Server
	ip   string
	port int
	log  *logBuffer
	// sessions receives each session as Run gets it (nil: not sent).
	sessions chan Session
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixtureOpts struct {
	limits    Limits
	handshake time.Duration
	idle      time.Duration
	users     []config.User // replace the factory's
	now       func() time.Time
	maxFile   int64 // Options.MaxFileSize
	// before runs on the data directory before the server starts.
	before func(dir string)
}

func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	dir := t.TempDir()
	demo := testDemo(t)
	ip := nextIP()
	db, err := store.Open(filepath.Join(dir, "config.db"), store.Options{
		Now: func() time.Time { return testNow },
		Factory: func() (*config.Config, error) {
			c := config.Factory(demo)
			c.Interfaces[0].IPv4 = ip
			if o.users != nil {
				c.Users = o.users
			}
			return c, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, db: db, ip: ip, port: 2222, log: &logBuffer{}}
	if o.before != nil {
		o.before(dir)
	}
	var srv atomic.Pointer[Server]
	prepare := func(ctx context.Context, c *config.Config) (func(), func(), error) {
		return srv.Load().Prepare(ctx, c)
	}
	f.sh, err = shell.New(db, shell.Options{Prepare: prepare, Now: func() time.Time { return testNow }},
		sethostname.New(), userconfig.New(), passwd.New(), who.New(), who.NewWhoAmI())
	if err != nil {
		t.Fatal(err)
	}
	f.srv, err = New(Options{
		Run: f.serve, DataDir: dir, Head: func() *config.Config { return db.Head().Config },
		Log: f.log.logf, Signers: []gossh.Signer{hostSigner()}, Limits: o.limits,
		HandshakeTimeout: o.handshake, IdleTimeout: o.idle, Now: o.now,
		Files: testFiles{&shell.Session{DataDir: dir}}, MaxFileSize: o.maxFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Store(f.srv)
	if err := f.srv.Start(db.Head().Config); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.srv.Close(context.Background())
		db.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", f.log)
		}
	})
	return f
}

// serve runs a session in the shell as the daemon does.
func (f *fixture) serve(ss Session) (int, error) {
	if f.sessions != nil {
		f.sessions <- ss
	}
	return f.sh.Serve(shell.Conn{
		Ctx:  shell.WithClient(shell.WithRole(ss.Ctx, ss.Role), ss.Client),
		User: ss.User, Source: ss.Source,
		Stdin: ss.Stdin, Stdout: ss.Stdout, Stderr: ss.Stderr,
		Terminal: ss.Terminal, Remote: ss.Terminal,
		Width: ss.Width, Height: ss.Height, OnResize: ss.OnResize,
		Batch: ss.Command,
	})
}

func (f *fixture) addr() string { return net.JoinHostPort(f.ip, fmt.Sprint(f.port)) }

// commit changes the running configuration as a console session would.
func (f *fixture) commit(edit func(c *config.Config)) store.Result {
	f.t.Helper()
	d := store.NewDraft(f.db, "admin", "test")
	d.Update(func(c *config.Config) error { edit(c); return nil })
	res, err := d.Commit(context.Background(), "test", false, func(ctx context.Context, c *config.Config) (func(), func(), error) {
		return f.srv.Prepare(ctx, c)
	})
	if err != nil {
		f.t.Fatalf("commit: %v", err)
	}
	return res
}

// dial opens an SSH connection from src (empty: any loopback).
func (f *fixture) dial(src, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	return dialSSH(f.addr(), src, user, nil, auth...)
}

func dialSSH(addr, src, user string, banner func(string) error, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	cc, chans, reqs, err := gossh.NewClientConn(conn, addr, &gossh.ClientConfig{
		User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		BannerCallback: banner, Timeout: 5 * time.Second,
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return gossh.NewClient(cc, chans, reqs), nil
}

// run runs cmd as an exec request with stdin and returns the output and
// the exit status.
func run(t *testing.T, c *gossh.Client, cmd, stdin string) (string, int) {
	t.Helper()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out logBuffer
	s.Stdout, s.Stderr = &out, &out
	s.Stdin = strings.NewReader(stdin)
	if cmd == "" {
		err = s.Shell()
		if err == nil {
			err = s.Wait()
		}
	} else {
		err = s.Run(cmd)
	}
	code := 0
	if ee, ok := err.(*gossh.ExitError); ok {
		code = ee.ExitStatus()
	} else if err != nil {
		t.Fatalf("%q: %v\n%s", cmd, err, out.String())
	}
	return out.String(), code
}

// stream collects what a reader delivers, in the background.
type stream struct {
	mu  sync.Mutex
	b   bytes.Buffer
	err error
}

func newStream(r io.Reader) *stream {
	st := &stream{}
	go func() {
		p := make([]byte, 4096)
		for {
			n, err := r.Read(p)
			st.mu.Lock()
			st.b.Write(p[:n])
			if err != nil {
				st.err = err
			}
			st.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return st
}

func (st *stream) String() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.b.String()
}

// waitFor waits until the stream has shown want n times in all.
func (st *stream) waitFor(t *testing.T, want string, n int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := st.String()
		if strings.Count(s, want) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s no %d× %q in:\n%s", n, want, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
