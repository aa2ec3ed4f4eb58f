package sshd

import (
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Issue 12, item 8: work done only for a client (a costly PKCS#12 import)
// must stop when the client leaves. Session.Client is done once the
// client's connection closes, while Session.Ctx (the daemon's life, which
// commits use) is not.
func TestClientContextEndsWithConnection(t *testing.T) {
	f := newFixture(t, fixtureOpts{users: testUsers(t)})
	f.sessions = make(chan Session, 1)
	c, err := f.dial("127.0.0.9", "admin", gossh.PublicKeys(adminKey()))
	if err != nil {
		t.Fatal(err)
	}
	_, out, wait := shellSession(t, c)
	out.waitFor(t, "esa.example.com> ", 1)
	ss := <-f.sessions
	if ss.Client == nil || ss.Client.Err() != nil {
		t.Fatalf("client context missing or done while connected: %v", ss.Client)
	}
	c.Close()
	wait()
	select {
	case <-ss.Client.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("client context not done 30 s after the connection closed")
	}
	if ss.Ctx.Err() != nil {
		t.Fatalf("the daemon's context ended with the client: %v", ss.Ctx.Err())
	}
}
