package main

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// The appliance's Close stops every service it started and reports what
// they abandoned: an SMTP session that never ends is cut and named.
func TestApplianceCloseNamesAbandonedSessions(t *testing.T) {
	t.Setenv("ESASH_FACTORY_IP", nextLoopback())
	a, err := openAppliance(options{dataDir: t.TempDir(), now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	addrs := a.mta.Listening()
	if len(addrs) == 0 {
		a.Close()
		t.Fatal("the factory configuration serves no SMTP listener")
	}
	c, err := net.DialTimeout("tcp", addrs[0], time.Minute)
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(c)
	if banner, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(banner, "220") {
		a.Close()
		t.Fatalf("banner %q %v", banner, err)
	}
	a.grace = time.Millisecond // the session is idle: it would never end by itself
	err = a.Close()
	if err == nil || !strings.Contains(err.Error(), "mta: close: abandoned 1 session of generation 1: context deadline exceeded") {
		t.Fatalf("Close: %v", err)
	}
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("the session still answers after Close: %q", line)
	}
}
