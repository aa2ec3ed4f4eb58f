package shelltest

import (
	"strings"
	"testing"

	"esash/config"
	"esash/shell"
)

type askCmd struct{}

func (askCmd) Name() string    { return "ask" }
func (askCmd) Summary() string { return "ask a name" }
func (askCmd) Run(s *shell.Session, _ []string) error {
	v, err := s.Ask("Enter a name:", "", func(a string) string {
		if a == "bad" {
			return "The value must not be bad."
		}
		return ""
	})
	if err != nil {
		return err
	}
	s.Printf("name=%s\n", v)
	return nil
}

// TestRunSession: on the Term a bad answer is asked again; in a script it
// ends the session.
func TestRunSession(t *testing.T) {
	out, _, _ := RunSession(t, true, "ask\nbad\ngood\n", askCmd{})
	if want := "[]> bad\nThe value must not be bad.\nEnter a name:\n[]> good\nname=good\n"; !strings.Contains(out, want) {
		t.Errorf("terminal output lacks %q:\n%s", want, out)
	}
	if !strings.HasSuffix(out, "^D\n") {
		t.Errorf("the end of a Term's lines is not shown as ^D:\n%s", out)
	}
	out, code, _ := RunSession(t, false, "ask\nbad\ngood\n", askCmd{})
	if code == 0 || strings.Contains(out, "name=") {
		t.Errorf("script went on after a bad answer (exit %d):\n%s", code, out)
	}
}

// TestFactory: Options.Factory edits the configuration the store starts
// with.
func TestFactory(t *testing.T) {
	a := NewAppliance(t, Options{Factory: func(c *config.Config) { c.Hostname = "factory.example.com" }})
	if h := a.DB.Head().Config.Hostname; h != "factory.example.com" {
		t.Errorf("hostname %q", h)
	}
	if NewStore(t).Head().Config.Hostname == "" {
		t.Error("NewStore has no factory hostname")
	}
}
