package shell

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestSplitCommands(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"one", "commit", []string{"commit"}},
		{"two", "sethostname a.example.com; commit", []string{"sethostname a.example.com", "commit"}},
		{"quoted semicolon", `commit "a; b"; clear`, []string{`commit "a; b"`, "clear"}},
		{"single quotes", `x 'a;b';y`, []string{`x 'a;b'`, "y"}},
		{"escaped", `x a\;b; y`, []string{`x a\;b`, "y"}},
		{"empty parts", " ; ;commit;", []string{"commit"}},
		{"soar style", `clustermode cluster;dictionaryconfig edit X new "v";commit "msg";`, []string{"clustermode cluster", `dictionaryconfig edit X new "v"`, `commit "msg"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SplitCommands(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitCommands(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		bad      bool
	}{
		{"plain", "grep -e foo mail_logs", []string{"grep", "-e", "foo", "mail_logs"}, false},
		{"double quotes", `commit "two words"`, []string{"commit", "two words"}, false},
		{"single keeps backslash", `x 'a\b'`, []string{"x", `a\b`}, false},
		{"escape", `x a\ b`, []string{"x", "a b"}, false},
		{"empty quoted", `x ""`, []string{"x", ""}, false},
		{"adjacent", `x a"b c"d`, []string{"x", "ab cd"}, false},
		{"tabs", "x\ta  b", []string{"x", "a", "b"}, false},
		{"unterminated", `x "a`, nil, true},
		{"trailing backslash", `x a\`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Fields(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("Fields(%q) error = %v, want error %v", tc.in, err, tc.bad)
			}
			if !tc.bad && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Fields(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzFields(f *testing.F) {
	for _, s := range []string{`commit "a; b"`, `x 'y' z\ w`, `"`, `\`, "a\tb", `grep -e "ICID \d+" mail_logs`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		words, err := Fields(in)
		if err != nil {
			return
		}
		// Quoting the words again and splitting gives them back.
		var b strings.Builder
		for i, w := range words {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`)
		}
		again, err := Fields(b.String())
		if err != nil || !reflect.DeepEqual(again, words) && len(words) > 0 {
			t.Fatalf("Fields(%q) = %q; requoted %q gives %q, %v", in, words, b.String(), again, err)
		}
		// Splitting then tokenizing never loses a command's words.
		for _, c := range SplitCommands(in) {
			_, _ = Fields(c)
		}
	})
}

func FuzzPaste(f *testing.F) {
	for _, s := range []string{"-----BEGIN X-----\nAAA\n-----END X-----\n.\n", "\n\n.\n", "a\r\nb\r\n.\r\n", "no end", ". \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var out bytes.Buffer
		s := &Session{In: NewScriptReader(strings.NewReader(in), &out), Out: &out, Err: &out}
		got, err := s.Paste("paste:")
		if err != nil {
			return // only the end of input ends a paste early
		}
		for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
			if got != "" && (strings.TrimSpace(l) == "" || l == ".") {
				t.Fatalf("paste kept line %q of %q", l, in)
			}
		}
	})
}
