package mta

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// openSession dials a and says EHLO: a session of the generation serving
// now, left open.
func openSession(t *testing.T, a string) *rawConn {
	t.Helper()
	r := dialRaw(t, a)
	r.c.SetDeadline(time.Now().Add(2 * time.Minute))
	if b := r.reply(); !strings.HasPrefix(b, "220 ") {
		t.Fatalf("banner: %q", b)
	}
	if re := r.cmd("EHLO client.test"); !strings.HasPrefix(re, "250") {
		t.Fatalf("EHLO: %q", re)
	}
	return r
}

// newLifecycleMTA is an MTA the test closes itself (startMTA's cleanup
// would close it again, which is allowed but hides what Close returned).
func newLifecycleMTA(t *testing.T, cfg *config.Config) *Server {
	t.Helper()
	s, err := New(Options{DataDir: t.TempDir(), Resolver: noDNS{}, ReadTimeout: 2 * time.Minute, WriteTimeout: 10 * time.Second,
		SystemRoots: func() (*x509.CertPool, error) { return x509.NewCertPool(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Boot(context.Background(), cfg); err != nil {
		t.Fatalf("boot: %v", err)
	}
	return s
}

// settleGoroutines waits (generously: the machine is shared) until no
// more goroutines run than before, and returns the last count.
func settleGoroutines(before int) int {
	n := runtime.NumGoroutine()
	for end := time.Now().Add(30 * time.Second); n > before && time.Now().Before(end); n = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// commitGenerations boots generation 1, opens perGen[0] sessions, commits
// generation 2, opens perGen[1] sessions, and so on.
func commitGenerations(t *testing.T, s *Server, cfg *config.Config, perGen []int) []*rawConn {
	t.Helper()
	var open []*rawConn
	for g, n := range perGen {
		if g > 0 {
			next := cfg.Clone()
			next.Listeners[0].DefaultPolicy.MaxMessageSize = 1000000 + int64(g)
			apply(t, s, next)
		}
		for i := 0; i < n; i++ {
			open = append(open, openSession(t, addr(cfg)))
		}
	}
	return open
}

// Close waits for the sessions of every generation, old ones included,
// and leaves no goroutine behind.
func TestCloseWaitsForEveryGeneration(t *testing.T) {
	before := runtime.NumGoroutine()
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := newLifecycleMTA(t, cfg)
	open := commitGenerations(t, s, cfg, []int{1, 2, 1, 1})
	t.Logf("goroutines: %d before New, %d with %d sessions of 4 generations open", before, runtime.NumGoroutine(), len(open))

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	for _, r := range open[:len(open)-1] {
		if re := r.cmd("QUIT"); !strings.HasPrefix(re, "221") {
			t.Fatalf("QUIT: %q", re)
		}
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the generation-1 session was still open", err)
	default:
	}
	last := open[len(open)-1]
	if re := last.cmd("QUIT"); !strings.HasPrefix(re, "221") {
		t.Fatalf("QUIT: %q", re)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	after := settleGoroutines(before)
	t.Logf("goroutines: %d before New, %d after Close", before, after)
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before New, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// Close with a context already over cuts the sessions it cannot wait for,
// names them in its error, and no session answers afterwards.
func TestCloseAbandonsSessionsByName(t *testing.T) {
	before := runtime.NumGoroutine()
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := newLifecycleMTA(t, cfg)
	open := commitGenerations(t, s, cfg, []int{0, 2, 1})

	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := s.Close(ctx)
	want := "mta: close: abandoned 2 sessions of generation 2, 1 session of generation 3: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Fatalf("Close: %v, want %q", err, want)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v does not wrap the context's error", err)
	}
	for i, r := range open {
		// A session still served would answer (451: the queue is closed).
		r.c.Write([]byte("MAIL FROM:<a@example.com>\r\n"))
		if line, err := r.r.ReadString('\n'); err == nil || !(errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset")) {
			t.Fatalf("session %d after Close: %q, %v; want the connection closed", i, line, err)
		}
	}
	after := settleGoroutines(before)
	t.Logf("goroutines: %d before New, %d after Close", before, after)
	if after > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before New, %d after Close:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// Prepare and Boot with a context already over do nothing and say why:
// the running configuration and its sockets stay as they are.
func TestPrepareHonoursContext(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	s := startMTA(t, t.TempDir(), cfg)
	moved := cfg.Clone()
	moved.Listeners[0].Port = cfg.Listeners[0].Port + 1
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Prepare(ctx, moved); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare: %v, want context.Canceled", err)
	}
	if got := s.Listening(); len(got) != 1 || got[0] != addr(cfg) {
		t.Fatalf("listening %v after a canceled Prepare", got)
	}
	// Nothing is left pending: the next commit goes through.
	apply(t, s, moved)
	if got := s.Listening(); len(got) != 1 || got[0] != addr(moved) {
		t.Fatalf("listening %v after the commit", got)
	}
	fresh := startMTA(t, t.TempDir(), nil)
	if err := fresh.Boot(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Boot: %v, want context.Canceled", err)
	}
}

// tlsverify stops when its context ends, even while a receiver keeps it
// waiting for a greeting that never comes.
func TestTLSVerifyHonoursContext(t *testing.T) {
	p := newPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent: no greeting
		}
	}()
	cfg := outCfg(t, p, config.TLSOutPreferred, nil)
	s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Enabled = false; o.Delivery.Timeout = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan bool, 1)
	var out []string
	go func() {
		done <- s.TLSVerify(ctx, "sink.test", ln.Addr().String(), func(l string) {
			out = append(out, l)
			if strings.HasPrefix(l, "Connected to ") {
				cancel()
			}
		})
	}()
	select {
	case ok := <-done:
		if ok || !strings.Contains(strings.Join(out, "\n"), "TLS verification canceled.") {
			t.Fatalf("canceled tlsverify: %v\n%s", ok, strings.Join(out, "\n"))
		}
	case <-time.After(time.Minute):
		t.Fatal("tlsverify still waiting for the greeting a minute after its context ended")
	}
}
