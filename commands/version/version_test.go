package version

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestVersionString(t *testing.T) {
	for _, tc := range []struct{ name, release, want string }{
		{"release", "1.4.0-012", "1.4.0-012"},
		{"git description", "8dfe49f-dirty", "0.0.0-000 (8dfe49f-dirty)"},
		{"empty", "", "0.0.0-000 (dev)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := VersionString(tc.release); got != tc.want {
				t.Errorf("VersionString(%q) = %q, want %q", tc.release, got, tc.want)
			}
		})
	}
}

// The lines inventory parsers read (asyncos-cli-2.md §4.3), each once.
func TestTextParsers(t *testing.T) {
	txt := New(Options{Release: "dev", BuildDate: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)}).Text()
	for _, re := range []string{`(?m)^Current Version$`, `(?m)^Version: \d+\.\d+\.\d+-\d+`, `(?m)^Model: \w+$`,
		`(?m)^Serial #: [\w-]+$`, `(?m)^Build Date: 2026-12-05$`, `(?m)^Install Date: unknown$`, `(?m)^BMC: NA$`} {
		if n := len(regexp.MustCompile(re).FindAllString(txt, -1)); n != 1 {
			t.Errorf("/%s/ matches %d times in:\n%s", re, n, txt)
		}
	}
	if strings.Contains(txt, "]> ") {
		t.Errorf("the version text holds a prompt:\n%s", txt)
	}
}
