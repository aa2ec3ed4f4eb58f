package shell

import (
	"errors"
	"testing"

	prompt "github.com/c-bata/go-prompt"
)

// Menu keywords by unique prefix, an ambiguous prefix named with its
// candidates, and help COMMAND describing the command's first menu or
// question and its batch form (issue 14).
func TestEverydayTranscripts(t *testing.T) {
	for _, tc := range []struct {
		name        string
		interactive bool
		input       string
		code        int
	}{
		{"menu_prefix", false, "menu\nsa\nsu\ninn\n\n\n", 0},
		{"menu_prefix_ambiguous", true, "menu\ns\nsay\n\n", 0},
		{"menu_prefix_ambiguous_script", false, "menu\ns\n", 1},
		{"help_command", true, "help menu\nhelp ask\nhelp long\nhelp commit\n", 0},
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

func TestAsTyped(t *testing.T) {
	sugg := func(names ...string) []prompt.Suggest {
		var out []prompt.Suggest
		for _, n := range names {
			out = append(out, prompt.Suggest{Text: n})
		}
		return out
	}
	for _, tc := range []struct {
		name, word string
		matches    []prompt.Suggest
		want       string
	}{
		{"keyword upper case", "cert", sugg("CERTIFICATE", "CERTAUTHORITY"), "CERT"},
		{"one keyword", "pr", sugg("PRINT"), "PR"},
		{"already as written", "CERT", sugg("CERTIFICATE"), "CERT"},
		{"cases disagree", "ab", sugg("ABC", "abd"), "ab"},
		{"nothing typed", "", sugg("NEW"), ""},
		{"no match", "zz", nil, "zz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := asTyped(tc.word, tc.matches); got != tc.want {
				t.Errorf("asTyped(%q) = %q, want %q", tc.word, got, tc.want)
			}
		})
	}
}

func TestPagerKey(t *testing.T) {
	other := errors.New("closed")
	for _, tc := range []struct {
		name string
		key  rune
		err  error
		want error
	}{
		{"space goes on", ' ', nil, nil},
		{"enter goes on", 0, nil, nil},
		{"q leaves", 'q', nil, ErrQuitPager},
		{"Q leaves", 'Q', nil, ErrQuitPager},
		{"ctrl-c leaves", 0, ErrInterrupt, ErrQuitPager},
		{"end of input stays an error", 0, other, other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pagerKey(tc.key, tc.err); !errors.Is(got, tc.want) && got != tc.want {
				t.Errorf("pagerKey(%q, %v) = %v, want %v", tc.key, tc.err, got, tc.want)
			}
		})
	}
}
