package resolver

import (
	"context"
	"net"
	"testing"
	"time"

	"esash/resolver/dnstest"
)

// TestDial: a name is resolved through dnsconfig's servers (the signed
// zone's A record points at a listener here), not the system's.
func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.4.252.9:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	srv := dnstest.Start(t, dnstest.Zone{Origin: "dial.test", Records: []string{"ldap IN A 127.4.252.9"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	c, err := Dial(ctx, localConfig(srv.Resolver), &net.Dialer{}, "tcp", net.JoinHostPort("ldap.dial.test", port))
	if err != nil {
		t.Fatalf("Dial through the configured resolver: %v", err)
	}
	c.Close()
	if _, err := Dial(ctx, localConfig(srv.Resolver), &net.Dialer{}, "tcp", "nowhere.dial.test:389"); err == nil {
		t.Error("a name the configured resolver does not know was dialled")
	}
}
