package sshd

import (
	"context"
	"errors"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Close cuts the connections and returns once the shell sessions they
// carried have ended; a second Close is a no-op.
func TestCloseWaitsForSessions(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	c, err := f.dial("127.0.0.5", "admin", gossh.Password(adminPass))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := s.StdinPipe() // open: the shell waits for input
	defer in.Close()
	out, _ := s.StdoutPipe()
	if err := s.RequestPty("xterm", 30, 90, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	st := newStream(out)
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "> ", 1)
	if n := f.srv.running.Load(); n != 1 {
		t.Fatalf("%d sessions running, want 1; output %q", n, st.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := f.srv.running.Load(); n != 0 {
		t.Fatalf("Close returned with %d sessions running", n)
	}
	if err := f.srv.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Prepare with a context already over binds nothing and says why.
func TestPrepareHonoursContext(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	cfg := f.db.Head().Config.Clone()
	cfg.Interfaces[0].SSH.Port = 2223
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := f.srv.Prepare(ctx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare: %v, want context.Canceled", err)
	}
}
