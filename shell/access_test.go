package shell

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"esash/accounts"
	"esash/config"
	"esash/store"
)

// readCmd declares AccessRead, and stages anyway when asked to: the shell
// must not let a read-only session keep what it staged.
type readCmd struct{ testCmd }

func (readCmd) Access() Access { return AccessRead }

type adminCmd struct{ testCmd }

func (adminCmd) Access() Access { return AccessAdmin }

func roleShell(t *testing.T) *Shell {
	t.Helper()
	db := openTestStore(t)
	stage := func(s *Session, args []string) error {
		return s.Draft.Update(func(c *config.Config) error { c.Hostname = args[0]; return nil })
	}
	sh, err := New(db, Options{Now: func() time.Time { return testNow }},
		testCmd{"sethost", stage},
		readCmd{testCmd{"sneaky", stage}},
		readCmd{testCmd{"look", func(s *Session, _ []string) error { s.Println("looked"); return nil }}},
		adminCmd{testCmd{"accounts", func(s *Session, _ []string) error { s.Println("accounts"); return nil }}},
	)
	if err != nil {
		t.Fatal(err)
	}
	// Accounts for each role.
	d := store.NewDraft(sh.db, "admin", "test")
	d.Update(func(c *config.Config) error {
		c.Users = append(c.Users,
			config.User{Name: "op", Role: config.RoleOperator},
			config.User{Name: "ro", Role: config.RoleReadOnly})
		return nil
	})
	if _, err := d.Commit(context.Background(), "accounts", false, nil); err != nil {
		t.Fatal(err)
	}
	return sh
}

func roleSession(sh *Shell, user string, role config.Role, input string) (*Session, *bytes.Buffer) {
	var out bytes.Buffer
	ctx := context.Background()
	if role != "" {
		ctx = WithRole(ctx, role)
	}
	s := sh.NewSession(SessionConfig{Ctx: ctx, In: NewScriptReader(strings.NewReader(input), &out),
		Out: &out, Err: &out, User: user, Source: "ssh:127.0.0.1"})
	return s, &out
}

func TestRoles(t *testing.T) {
	sh := roleShell(t)
	cases := []struct {
		user    string
		role    config.Role
		line    string
		allowed bool
	}{
		{"admin", "", "accounts", true}, // the console is the administrator
		{"admin", config.RoleAdmin, "accounts", true},
		{"op", config.RoleOperator, "sethost op.example.com", true},
		{"op", config.RoleOperator, "accounts", false},
		{"op", config.RoleOperator, "look", true},
		{"ro", config.RoleReadOnly, "look", true},
		{"ro", config.RoleReadOnly, "help", true},
		{"ro", config.RoleReadOnly, "showchanges", true},
		{"ro", config.RoleReadOnly, "sethost ro.example.com", false},
		{"ro", config.RoleReadOnly, "commit", false},
		{"ro", config.RoleReadOnly, "clear", false},
		{"ro", config.RoleReadOnly, "accounts", false},
		{"ro", config.RoleReadOnly, "sneaky ro.example.com", false},
		{"gone", config.RoleAdmin, "look", false}, // the account was deleted
	}
	for _, c := range cases {
		s, out := roleSession(sh, c.user, c.role, "")
		err := sh.exec(s, c.line)
		if c.allowed && err != nil {
			t.Errorf("%s (%s) %q: %v", c.user, c.role, c.line, err)
		}
		if !c.allowed && !errors.Is(err, ErrDenied) && !errors.Is(err, accounts.ErrNoAccount) {
			t.Errorf("%s (%s) %q: allowed (err %v)\n%s", c.user, c.role, c.line, err, out)
		}
		if c.role == config.RoleReadOnly && s.Draft.Changed() {
			t.Errorf("%s %q left changes staged", c.user, c.line)
		}
	}
	// The message is AsyncOS's.
	s, out := roleSession(sh, "ro", config.RoleReadOnly, "commit\n")
	if code := sh.Run(s); code != 1 || !strings.Contains(out.String(), "You are not in the correct access group to use this command") {
		t.Errorf("read-only commit in a script: %d\n%s", code, out)
	}
	// Anyone may leave, even an account deleted meanwhile.
	s, _ = roleSession(sh, "gone", config.RoleAdmin, "")
	var ex exitRequest
	if err := sh.exec(s, "exit"); !errors.As(err, &ex) {
		t.Errorf("exit of a deleted account: %v", err)
	}
}

func TestSessionList(t *testing.T) {
	sh := roleShell(t)
	a, _ := roleSession(sh, "admin", "", "")
	b, _ := roleSession(sh, "op", config.RoleOperator, "")
	untrackA := sh.sessions.track(a)
	untrackB := sh.sessions.track(b)
	if err := sh.exec(b, "sethost b.example.com"); err != nil {
		t.Fatal(err)
	}
	got := a.Sessions()
	if len(got) != 2 || got[0].User != "admin" || !got[0].Self || got[1].User != "op" || got[1].Changes != 1 ||
		got[1].Role != config.RoleOperator || got[1].Source != "ssh:127.0.0.1" || got[1].Self {
		t.Fatalf("sessions: %+v", got)
	}
	untrackB()
	if got := sh.Sessions(); len(got) != 1 {
		t.Fatalf("after one left: %+v", got)
	}
	untrackA()
}

func TestCommitNow(t *testing.T) {
	sh := roleShell(t)
	s, _ := roleSession(sh, "ro", config.RoleReadOnly, "")
	if err := s.CommitNow("passwd", func(c *config.Config) error {
		accounts.FindUser(c, "ro").PasswordHash = "x"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	h := s.Head()
	if accounts.FindUser(h.Config, "ro").PasswordHash != "x" || h.Meta.User != "ro" || h.Meta.Source != "ssh:127.0.0.1" {
		t.Fatalf("head: %+v", h.Meta)
	}
	if s.Draft.Changed() {
		t.Fatal("CommitNow staged in the session's draft")
	}
}
