package shell

import (
	"context"
	"io"
	"testing"
	"time"

	"esash/config"
	"esash/store"
)

// signalReader tells on reading each time its reader is asked for input:
// the session waits at its prompt.
type signalReader struct {
	r       io.Reader
	reading chan struct{}
}

func (s signalReader) Read(p []byte) (int, error) {
	select {
	case s.reading <- struct{}{}:
	default:
	}
	return s.r.Read(p)
}

// TestDraftRefreshedWhenCommandArrives: a session that sat at its prompt
// while another administrator (or, on a cluster, another machine)
// committed edits the configuration as it is when its command arrives,
// not as it was when the prompt was shown. Otherwise its dialogs show
// stale values and setting a value back to what the session last saw is
// "no data to commit" while the other value runs.
func TestDraftRefreshedWhenCommandArrives(t *testing.T) {
	db := openTestStore(t)
	seen := make(chan string)
	sh, err := New(db, Options{Now: func() time.Time { return testNow }},
		testCmd{"showhost", func(s *Session, _ []string) error { seen <- s.Draft.Config().Hostname; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	in := signalReader{r: pr, reading: make(chan struct{}, 1)}
	alice := sh.NewSession(SessionConfig{In: NewScriptReader(in, io.Discard), Out: io.Discard, Err: io.Discard, User: "alice", Source: "test"})
	done := make(chan int)
	go func() { done <- sh.Run(alice) }()
	atPrompt := func() {
		t.Helper()
		select {
		case <-in.reading:
		case <-time.After(30 * time.Second):
			t.Fatal("the session does not wait for input")
		}
	}
	show := func() string {
		t.Helper()
		if _, err := io.WriteString(pw, "showhost\n"); err != nil {
			t.Fatal(err)
		}
		select {
		case h := <-seen:
			return h
		case <-time.After(30 * time.Second):
			t.Fatal("showhost did not run")
			return ""
		}
	}
	atPrompt()
	before := show()
	atPrompt()
	// Bob commits while Alice waits at her prompt.
	d := store.NewDraft(db, "bob", "test")
	if err := d.Update(func(c *config.Config) error { c.Hostname = "bob.example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Commit(context.Background(), "bob", false, nil); err != nil {
		t.Fatal(err)
	}
	if got := show(); got != "bob.example.com" {
		t.Errorf("alice's command after bob's commit sees hostname %q (before it: %q), want bob.example.com", got, before)
	}
	pw.Close()
	<-done
}
