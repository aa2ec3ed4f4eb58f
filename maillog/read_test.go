package maillog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writeRotated makes a log of n lines "n000".."n<n-1>" spread over rotated
// files of a few lines each, and returns the log root.
func writeRotated(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, "mail_logs", "mail", Options{MaxSize: 150, MaxFiles: 1000, Now: newClock(time.Second).Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.Infof("n%03d", i)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFiles(t *testing.T) {
	dir := writeRotated(t, 20)
	logDir := filepath.Join(dir, "mail_logs")
	// Noise that must be ignored.
	for _, junk := range []string{"cli.current", "mail.@2026.s", "notes.txt", "mail.@20261126T210000.s.tmp"} {
		if err := os.WriteFile(filepath.Join(logDir, junk), []byte("junk\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Files(dir, "mail_logs", "mail")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("got %v", files)
	}
	for i, f := range files {
		base := filepath.Base(f)
		if i == len(files)-1 {
			if base != "mail.current" {
				t.Fatalf("last = %s", base)
			}
			continue
		}
		if _, ok := parseRotated("mail", base); !ok {
			t.Fatalf("unexpected file %s", base)
		}
	}

	t.Run("missing log", func(t *testing.T) {
		if _, err := Files(dir, "nope_logs", "nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad name", func(t *testing.T) {
		if _, err := Files(dir, "../x", "mail"); !errors.Is(err, ErrInvalidName) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTail(t *testing.T) {
	const total = 50
	dir := writeRotated(t, total)
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"zero", 0, 0},
		{"negative", -3, 0},
		{"one", 1, 1},
		{"within current", 2, 2},
		{"across files", 17, 17},
		{"everything", total, total},
		{"more than exists", total + 10, total},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tail(dir, "mail_logs", "mail", tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d lines %q, want %d", len(got), got, tt.want)
			}
			for i, line := range got {
				want := fmt.Sprintf("Info: n%03d", total-tt.want+i)
				if !strings.HasSuffix(line, want) {
					t.Fatalf("line %d = %q, want suffix %q", i, line, want)
				}
			}
		})
	}
}

// TestTailLargeFile exercises the backwards chunked read with lines that
// straddle chunk boundaries and an unterminated last line.
func TestTailLargeFile(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, "mail_logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	const lines = 5000
	for i := range lines {
		fmt.Fprintf(&b, "line %05d %s\n", i, strings.Repeat("z", i%97))
	}
	b.WriteString("partial tail")
	if err := os.WriteFile(filepath.Join(logDir, "mail.current"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		n    int
	}{
		{"partial only", 1},
		{"few", 10},
		{"more than one chunk", 2000},
		{"all", lines + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Tail(dir, "mail_logs", "mail", tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.n || got[len(got)-1] != "partial tail" {
				t.Fatalf("got %d lines, last %q", len(got), got[len(got)-1])
			}
			for i, line := range got[:len(got)-1] {
				k := lines - (tt.n - 1) + i
				if want := fmt.Sprintf("line %05d %s", k, strings.Repeat("z", k%97)); line != want {
					t.Fatalf("line %d = %q want %q", i, line, want)
				}
			}
		})
	}
}

func TestGrep(t *testing.T) {
	const total = 40
	dir := writeRotated(t, total)
	files, err := Files(dir, "mail_logs", "mail")
	if err != nil {
		t.Fatal(err)
	}
	firstRotated := filepath.Base(files[0])
	tests := []struct {
		name        string
		re          *regexp.Regexp
		filePattern string
		limit       int // stop after this many matches; 0 = no limit
		wantLines   []string
		wantFiles   string // glob every reported file must match
	}{
		{"all files one match", regexp.MustCompile(`n007$`), "", 0, []string{"n007"}, "*"},
		{"across files in order", regexp.MustCompile(`n0[0-3]5`), "*", 0, []string{"n005", "n015", "n025", "n035"}, "*"},
		{"nil regexp matches all", nil, "mail.current", 0, nil, "mail.current"},
		{"current only", regexp.MustCompile(`n00`), "mail.current", 0, []string{}, "mail.current"},
		{"first rotated only", regexp.MustCompile(`.`), firstRotated, 0, nil, firstRotated},
		{"early stop", regexp.MustCompile(`n`), "", 3, []string{"n000", "n001", "n002"}, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := Grep(dir, "mail_logs", "mail", tt.re, tt.filePattern, func(file, line string) bool {
				if ok, _ := path.Match(tt.wantFiles, file); !ok {
					t.Errorf("file %q does not match %q", file, tt.wantFiles)
				}
				_, _, msg, err := ParseLine(line, time.UTC)
				if err != nil {
					t.Errorf("bad line %q: %v", line, err)
				}
				got = append(got, msg)
				return tt.limit == 0 || len(got) < tt.limit
			})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantLines != nil && strings.Join(got, ",") != strings.Join(tt.wantLines, ",") {
				t.Fatalf("got %q want %q", got, tt.wantLines)
			}
			if tt.wantLines == nil && len(got) == 0 {
				t.Fatal("no lines")
			}
		})
	}
}

func TestGrepErrors(t *testing.T) {
	dir := writeRotated(t, 5)
	tests := []struct {
		name, log, pattern string
		want               error
	}{
		{"bad glob", "mail_logs", "[", path.ErrBadPattern},
		{"bad glob late in pattern", "mail_logs", "zzz[", path.ErrBadPattern},
		{"missing log", "other_logs", "*", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Grep(dir, tt.log, "mail", nil, tt.pattern, func(string, string) bool { return true })
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzGrepPattern checks that arbitrary file globs never panic, are either
// rejected as bad patterns or only ever select files they match.
func FuzzGrepPattern(f *testing.F) {
	dir := f.TempDir()
	l, err := Open(dir, "mail_logs", "mail", Options{MaxSize: 60, Now: newClock(time.Second).Now})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 5 {
		l.Infof("n%d", i)
	}
	l.Close()
	for _, s := range []string{"*", "mail.current", "mail.@*.s", "[", "\\", "mail.@2026*", "[!a-", "*[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		err := Grep(dir, "mail_logs", "mail", nil, pattern, func(file, _ string) bool {
			p := pattern
			if p == "" {
				p = "*"
			}
			if ok, _ := path.Match(p, file); !ok {
				t.Fatalf("file %q reported for pattern %q", file, pattern)
			}
			return true
		})
		if err != nil && !errors.Is(err, path.ErrBadPattern) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
