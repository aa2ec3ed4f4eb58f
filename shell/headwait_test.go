package shell

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// TestLoginAndPromptDoNotWaitForCommit is issue 18's reproduced defect as
// an administrator meets it: while another administrator's commit is held
// in its prepare step, a new session starts, shows its prompt, runs a
// command that reads the running configuration and ends. None of it may
// wait for the commit (the bound is for a busy machine: a session that
// waits never finishes while the commit is held).
func TestLoginAndPromptDoNotWaitForCommit(t *testing.T) {
	db := openTestStore(t)
	host := db.Head().Config.Hostname
	entered, release := make(chan struct{}), make(chan struct{})
	d := store.NewDraft(db, "alice", "console")
	if err := d.Update(func(c *config.Config) error { c.Hostname = "held.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	committed := make(chan error, 1)
	go func() {
		_, err := d.Commit(context.Background(), "held", false, func(context.Context, *config.Config) (func(), func(), error) {
			close(entered)
			<-release
			return func() {}, func() {}, nil
		})
		committed <- err
	}()
	<-entered

	show := testCmd{name: "showhost", run: func(s *Session, _ []string) error {
		s.Printf("running %s\n", s.Head().Config.Hostname)
		return nil
	}}
	sh, err := New(db, Options{Now: func() time.Time { return testNow }}, show)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() {
		s := sh.NewSession(SessionConfig{In: &fakeTerm{lines: []string{"showhost"}, out: &out}, Out: &out, Err: &out, User: "bob", Source: "ssh:127.0.0.1"})
		done <- sh.Run(s)
	}()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("session exit %d:\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Error("a login and its prompt waited for a commit held in prepare")
		close(release)
		<-committed
		return
	}
	if !strings.Contains(out.String(), host+"> ") || !strings.Contains(out.String(), "running "+host) {
		t.Errorf("session during the held commit printed:\n%s\nwant the prompt and hostname %q of the running revision", out.String(), host)
	}
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
}
