package mta

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// freeV6Port is a port free on [::1] now (the IPv4 side of the tests uses
// an address of its own, so the same port is free there too).
func freeV6Port(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("IPv6 loopback: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestListenerIPv6: a listener serves every address of its interface:
// mail comes in over IPv6 as over IPv4, logged with the address it came
// to; the listener's connection limit holds across both; removing the
// IPv6 address closes that socket and leaves the IPv4 one serving.
func TestListenerIPv6(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Interfaces[0].IPv6, cfg.Interfaces[0].IPv6Prefix = "::1", 128
	cfg.Listeners[0].Port = freeV6Port(t)
	dir := t.TempDir()
	s := startMTA(t, dir, cfg)
	v6 := net.JoinHostPort("::1", strconv.Itoa(cfg.Listeners[0].Port))

	if err := send(t, v6, nil, "a@x.test", []string{"b@y.test"}, "over IPv6\r\n"); err != nil {
		t.Fatalf("IPv6: %v", err)
	}
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "over IPv4\r\n"); err != nil {
		t.Fatalf("IPv4: %v", err)
	}
	// A real client over IPv6: swaks (installed by make test).
	out, err := exec.Command("swaks", "-6", "--server", v6, "--from", "a@x.test", "--to", "b@y.test",
		"--ehlo", "swaks.test", "--timeout", "10").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "<-  250 ") {
		t.Fatalf("swaks over IPv6: %v\n%s", err, out)
	}
	l := s.Queue().List()
	if len(l) != 3 || l[0].RemoteIP != "::1" || !strings.HasPrefix(l[1].RemoteIP, "127.") || l[2].RemoteIP != "::1" || l[2].HELO != "swaks.test" {
		t.Fatalf("queued: %+v", l)
	}
	waitLog(t, dir, "interface Management (::1) address ::1")
	waitLog(t, dir, "interface Management ("+cfg.Interfaces[0].IPv4+") address 127.")

	// One connection allowed on the listener: held on IPv4, refused on IPv6.
	one := *cfg
	one.Listeners = append([]config.Listener(nil), cfg.Listeners...)
	one.Listeners[0].MaxConnections = 1
	apply(t, s, &one)
	// The earlier sessions' slots are given back when the server has
	// closed them, which may follow the client's QUIT by a moment: the
	// first connection may meet one still counted (a flake seen in make
	// test), so it is tried again until the earlier ones are gone.
	var held *rawConn
	for deadline := time.Now().Add(5 * time.Second); ; {
		held = dialRaw(t, addr(cfg))
		r := held.reply()
		if strings.HasPrefix(r, "220") {
			break
		}
		held.c.Close()
		if !strings.HasPrefix(r, "421 4.4.5") || time.Now().After(deadline) {
			t.Fatalf("first connection: %q", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
	refused := dialRaw(t, v6)
	if r := refused.reply(); !strings.HasPrefix(r, "421 4.4.5") {
		t.Fatalf("second connection, over IPv6: %q, want 421 4.4.5 (the limit is the listener's)", r)
	}
	held.c.Close()
	refused.c.Close()

	// Without the IPv6 address: that socket closes, IPv4 serves on.
	v4only := one
	v4only.Interfaces = append([]config.Interface(nil), one.Interfaces...)
	v4only.Interfaces[0].IPv6, v4only.Interfaces[0].IPv6Prefix = "", 0
	apply(t, s, &v4only)
	if c, err := net.DialTimeout("tcp", v6, time.Second); err == nil {
		c.Close()
		t.Fatal("IPv6 socket still open after the address was removed")
	}
	waitIdle(t, s)
	if err := send(t, addr(cfg), nil, "a@x.test", []string{"b@y.test"}, "still IPv4\r\n"); err != nil {
		t.Fatalf("IPv4 after removing IPv6: %v", err)
	}
}
