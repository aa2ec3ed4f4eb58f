package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// startUpload begins a login whose form body has not all arrived: its
// handler is running, reading the body, until the client sends the rest.
func startUpload(t *testing.T, s *Server, ip string) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addrPort(ip, 8443), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "POST /login HTTP/1.1\r\nHost: "+host+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\nuser=admin")
	for end := time.Now().Add(time.Minute); s.inflight.Load() == 0; {
		if time.Now().After(end) {
			t.Fatal("the request never reached its handler")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c
}

// Close lets a request being handled finish before it returns.
func TestCloseWaitsForRequests(t *testing.T) {
	ip := testIP()
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	s := newServer(t, testConfig(t, ip, p, other), Options{})
	c := startUpload(t, s, ip)
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		closed <- s.Close(ctx)
	}()
	io.WriteString(c, strings.Repeat("x", 30)) // the rest of the body
	resp, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(resp, "HTTP/1.1 ") {
		t.Fatalf("response: %q %v", resp, err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := s.inflight.Load(); n != 0 {
		t.Fatalf("Close returned with %d requests being handled", n)
	}
}

// Close with a context already over cuts the request and names it.
func TestCloseAbandonsRequests(t *testing.T) {
	ip := testIP()
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	s := newServer(t, testConfig(t, ip, p, other), Options{})
	startUpload(t, s, ip)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := s.Close(ctx)
	if err == nil || err.Error() != "web: close: abandoned 1 request: context deadline exceeded" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
}
