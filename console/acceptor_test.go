package console

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// acceptorOn serves a unix socket in a fresh directory with serve.
func acceptorOn(t *testing.T, serve func(context.Context, net.Conn)) (*Acceptor, string, chan error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "esash.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAcceptor(ln, serve)
	served := make(chan error, 1)
	go func() { served <- a.Serve(context.Background()) }()
	return a, sock, served
}

// dialed connects to sock and waits until the console is being served.
func dialed(t *testing.T, sock string, running *atomic.Int32, want int32) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for end := time.Now().Add(time.Minute); running.Load() < want; {
		if time.Now().After(end) {
			t.Fatal("the console was never served")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

// Serve's context ends the accepting, not the consoles: Close does.
func TestAcceptorServeStopsAccepting(t *testing.T) {
	var running atomic.Int32
	sock := filepath.Join(t.TempDir(), "esash.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAcceptor(ln, func(ctx context.Context, conn net.Conn) {
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
	})
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()
	dialed(t, sock, &running, 1)
	stop()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Fatal("still accepting after Serve's context ended")
	}
	if n := running.Load(); n != 1 {
		t.Fatalf("%d consoles running after Serve returned, want 1 (until Close)", n)
	}
	if err := a.Close(context.Background()); err != nil || running.Load() != 0 {
		t.Fatalf("Close: %v, %d running", err, running.Load())
	}
}

func TestAcceptorClose(t *testing.T) {
	cases := []struct {
		name string
		// obeysCtx: the console ends when its context does (a shell);
		// otherwise only when its connection is closed.
		obeysCtx bool
		expired  bool
		want     string
	}{
		{"consoles end with their context", true, false, ""},
		{"stuck consoles are cut and named", false, true, "console: close: abandoned 2 consoles: context deadline exceeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var running atomic.Int32
			a, sock, served := acceptorOn(t, func(ctx context.Context, conn net.Conn) {
				running.Add(1)
				defer running.Add(-1)
				if tc.obeysCtx {
					<-ctx.Done()
					return
				}
				io.Copy(io.Discard, conn)
			})
			dialed(t, sock, &running, 1)
			dialed(t, sock, &running, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			if tc.expired {
				ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			}
			defer cancel()
			err := a.Close(ctx)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, context.DeadlineExceeded)) {
				t.Fatalf("Close: %v, want %q", err, tc.want)
			}
			if n := running.Load(); n != 0 {
				t.Fatalf("Close returned with %d consoles running", n)
			}
			if err := <-served; err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if err := a.Close(ctx); err != nil {
				t.Fatalf("second Close: %v", err)
			}
		})
	}
}
