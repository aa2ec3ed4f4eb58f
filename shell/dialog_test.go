package shell

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"esash/config"
)

func letters(v string) string {
	for _, r := range v {
		if r < 'a' || r > 'z' {
			return "The value must contain only lowercase letters."
		}
	}
	return ""
}

// dialogCommands exercise every helper of the dialog engine.
func dialogCommands() []Command {
	return []Command{
		testCmd{"ask", func(s *Session, _ []string) error {
			v, err := s.Ask("Enter a name:", "x", letters)
			if err != nil {
				return err
			}
			s.Printf("name=%s\n", v)
			return nil
		}},
		testCmd{"askreq", func(s *Session, _ []string) error {
			v, err := s.Ask("Enter a required name:", "", letters)
			if err != nil {
				return err
			}
			s.Printf("name=%s\n", v)
			return nil
		}},
		testCmd{"yn", func(s *Session, _ []string) error {
			v, err := s.YesNo("Do you want to continue?", true)
			s.Printf("yes=%v\n", v)
			return err
		}},
		testCmd{"num", func(s *Session, _ []string) error {
			v, err := s.AskInt("Enter a number:", 5, 1, 10)
			s.Printf("number=%d\n", v)
			return err
		}},
		testCmd{"pick", func(s *Session, _ []string) error {
			v, err := s.Choose("Choose a color:", []string{"red", "green", "blue"}, 2, true)
			if err != nil {
				return err
			}
			s.Printf("picked=%d\n", v)
			return nil
		}},
		testCmd{"secret", func(s *Session, _ []string) error {
			v, err := s.NewSecret("Create a passphrase:", "Confirm the passphrase:", func(p string) string {
				if len(p) < 3 {
					return "The passphrase must be at least 3 characters long."
				}
				return ""
			})
			s.Printf("passphrase of %d characters\n", len(v))
			return err
		}},
		testCmd{"paste", func(s *Session, _ []string) error {
			v, err := s.Paste("Paste the text; end with a line holding only '.':")
			if err != nil {
				return err
			}
			s.Printf("pasted %d lines:\n%s", strings.Count(v, "\n"), v)
			return nil
		}},
		testCmd{"menu", func(s *Session, _ []string) error {
			inner := func(s *Session) error {
				return s.Menu(nil, []MenuItem{{Name: "INNER", Help: "Say inner.", Run: func(s *Session) error {
					s.Println("inner")
					return nil
				}}})
			}
			return s.Menu(func(s *Session) { s.Println("Top menu header.") }, []MenuItem{
				{Name: "SUB", Help: "Enter the sub-menu.", Run: inner},
				{Name: "SAY", Help: "Say something.", Run: func(s *Session) error {
					s.Println("something")
					return nil
				}},
				{Name: "RESET", Hidden: true, Help: "hidden", Run: func(s *Session) error {
					s.Println("reset")
					return nil
				}},
			})
		}},
		testCmd{"stage", func(s *Session, _ []string) error {
			if err := s.Draft.Update(func(c *config.Config) error { c.Hostname = "staged.example.com"; return nil }); err != nil {
				return err
			}
			_, err := s.Ask("Another question:", "", nil)
			return err
		}},
		testCmd{"boom", func(s *Session, _ []string) error {
			_ = s.Draft.Update(func(c *config.Config) error { c.Hostname = "boom.example.com"; return nil })
			var m map[string]int
			m["x"] = 1 // a bug in a command must not end the session
			return nil
		}},
		testCmd{"long", func(s *Session, _ []string) error {
			var b strings.Builder
			for i := 1; i <= 12; i++ {
				fmt.Fprintf(&b, "line %d\n", i)
			}
			return s.Page(b.String())
		}},
		testCmd{"fail", func(s *Session, _ []string) error {
			return errors.New("the operation failed: details")
		}},
	}
}

func TestDialogTranscripts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		interactive bool
		input       string
		code        int
	}{
		{"ask_default", false, "ask\n\n", 0},
		{"ask_reask", true, "ask\n1bad\ngood\n", 0},
		{"ask_invalid_script", false, "ask\n1bad\ngood\n", 1},
		{"ask_blank_goes_back", false, "askreq\n\n", 0},
		{"yesno", true, "yn\nmaybe\nYES\nyn\nn\nyn\n\nyn\ny\n", 0},
		{"int_range", true, "num\n11\nabc\n7\nnum\n\n", 0},
		{"choose", true, "pick\n4\nBlue\npick\n\npick\n1\n", 0},
		{"secret_confirm", true, "secret\nab\nabc\nabd\nabc\nabc\n", 0},
		{"paste", false, "paste\n-----BEGIN X-----\n\nAAA\n  BBB  \n\n-----END X-----\n\n.\n", 0},
		{"paste_key_hidden_in_script", false, "paste\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nSECRET1\nSECRET2\n-----END PRIVATE KEY-----\n.\n", 0},
		{"paste_eof", false, "paste\n-----BEGIN X-----\nAAA\n", 1},
		{"menu_levels", false, "menu\nsub\ninner\n\nSaY\nreset\n\n", 0},
		{"menu_bad_keyword", true, "menu\nfrob\n\n", 0},
		{"ctrl_c_discards", true, "stage\n^C\nshowchanges\n^C\nshowchanges\n", 0},
		{"panic_recovered", true, "boom\nshowchanges\n", 0},
		{"paging", true, "long\nsetttymode 0 1\nlong\n", 0},
		{"error_interactive", true, "fail\nshowchanges\n", 0},
		{"error_script", false, "fail\nshowchanges\n", 1},
		{"unknown_command_interactive", true, "frob\nhelp ask\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code, _ := runSession(t, tc.interactive, tc.input, dialogCommands()...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			golden(t, tc.name, out)
		})
	}
}
