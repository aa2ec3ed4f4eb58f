package shell

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// setCmd stages one setting, as a real command would at the end of its dialog.
func setCmd(name string, set func(c *config.Config, v string)) Command {
	return testCmd{name, func(s *Session, args []string) error {
		return s.Draft.Update(func(c *config.Config) error { set(c, args[0]); return nil })
	}}
}

// TestTwoSessionsCommit: two administrators with drafts from the same
// revision. Disjoint changes merge, and the commit says over whose; the
// same setting changed differently is refused with base/theirs/ours.
func TestTwoSessionsCommit(t *testing.T) {
	db := openTestStore(t)
	sh, err := New(db, Options{Now: func() time.Time { return testNow }},
		setCmd("sethost", func(c *config.Config, v string) { c.Hostname = v }),
		setCmd("setfrom", func(c *config.Config, v string) { c.Alerts.From = v }),
	)
	if err != nil {
		t.Fatal(err)
	}
	session := func(user, input string) (*Session, *bytes.Buffer) {
		var out bytes.Buffer
		s := sh.NewSession(SessionConfig{In: NewScriptReader(strings.NewReader(input), &out), Out: &out, Err: &out, User: user, Source: "test"})
		return s, &out
	}
	run := func(s *Session, line string) {
		t.Helper()
		if done, code := sh.runLine(s, line); done {
			t.Fatalf("%s ended the session with %d", line, code)
		}
	}

	t.Run("disjoint changes merge", func(t *testing.T) {
		alice, aout := session("alice", "")
		bob, bout := session("bob", "")
		run(alice, "sethost alice.example.com")
		run(bob, "setfrom alerts@example.com")
		run(bob, `commit "bob"`)
		run(alice, `commit "alice"`)
		if !strings.Contains(bout.String(), "Changes committed:") {
			t.Fatalf("bob: %s", bout)
		}
		want := "Your changes were merged over revision 2 by bob."
		if !strings.Contains(aout.String(), want) {
			t.Fatalf("alice's commit output lacks %q:\n%s", want, aout)
		}
		head := db.Head()
		if head.Rev != 3 || head.Config.Hostname != "alice.example.com" || head.Config.Alerts.From != "alerts@example.com" {
			t.Fatalf("head rev %d hostname %q from %q", head.Rev, head.Config.Hostname, head.Config.Alerts.From)
		}
		if head.Meta.Merged != "merged over revision 2 by bob" {
			t.Errorf("revision meta: %q", head.Meta.Merged)
		}
	})

	t.Run("same setting conflicts", func(t *testing.T) {
		alice, aout := session("alice", "")
		bob, _ := session("bob", "")
		run(alice, "sethost a2.example.com")
		run(bob, "sethost b2.example.com")
		run(bob, `commit "bob"`)
		if done, code := sh.runLine(alice, `commit "alice"`); !done || code != 1 {
			t.Fatalf("conflicting commit in a script: done %v code %d", done, code)
		}
		for _, want := range []string{
			"Commit refused: 1 of your changes conflict with changes committed since your session began (now revision 4).",
			"  hostname\n",
			`    base:   "alice.example.com"`,
			`    theirs: "b2.example.com" (committed by bob)`,
			`    ours:   "a2.example.com"`,
		} {
			if !strings.Contains(aout.String(), want) {
				t.Errorf("conflict report lacks %q:\n%s", want, aout)
			}
		}
		if h := db.Head(); h.Rev != 4 || h.Config.Hostname != "b2.example.com" {
			t.Errorf("head after refusal: rev %d hostname %q", h.Rev, h.Config.Hostname)
		}
	})

	t.Run("idle session follows the head", func(t *testing.T) {
		carol, cout := session("carol", "showchanges\n")
		sh.Run(carol)
		if !strings.Contains(cout.String(), "b2.example.com> showchanges") {
			t.Errorf("prompt does not show the committed hostname:\n%s", cout)
		}
	})
}
