package maillog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotationKeepsEveryLine(t *testing.T) {
	tests := []struct {
		name     string
		step     time.Duration
		maxSize  int64
		maxFiles int
		lines    int
	}{
		{"same second needs counters", 0, 200, 100, 120},
		{"clock ticking", 700 * time.Millisecond, 300, 100, 120},
		{"tiny files one line each", time.Second, 60, 500, 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, Options{MaxSize: tt.maxSize, MaxFiles: tt.maxFiles, Now: newClock(tt.step).Now})
			for i := range tt.lines {
				l.Infof("line %04d %s", i, strings.Repeat("x", i%17))
			}
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			files, err := Files(dir, "mail_logs", "mail")
			if err != nil {
				t.Fatal(err)
			}
			if len(files) < 3 {
				t.Fatalf("expected several files, got %v", files)
			}
			if filepath.Base(files[len(files)-1]) != "mail.current" {
				t.Fatalf("last file %s", files[len(files)-1])
			}
			for _, f := range files[:len(files)-1] {
				if _, ok := parseRotated("mail", filepath.Base(f)); !ok {
					t.Fatalf("bad rotated name %s", f)
				}
				st, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() > tt.maxSize && strings.Count(mustRead(t, f), "\n") > 1 {
					t.Fatalf("%s is %d bytes > MaxSize %d", f, st.Size(), tt.maxSize)
				}
			}
			got := readLines(t, dir, "mail_logs", "mail")
			if len(got) != tt.lines {
				t.Fatalf("got %d lines, want %d", len(got), tt.lines)
			}
			for i, line := range got {
				want := fmt.Sprintf("Info: line %04d %s", i, strings.Repeat("x", i%17))
				if !strings.HasSuffix(line, want) {
					t.Fatalf("line %d = %q, want suffix %q", i, line, want)
				}
			}
		})
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotationNames(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(0)
	// Every line forces a rotation: 12 rotations in the same second must
	// get distinct names and sort numerically (.10 after .9).
	l := mustOpen(t, dir, Options{MaxSize: 1, MaxFiles: 100, Now: clk.Now})
	for i := range 13 {
		l.Infof("n%d", i)
	}
	files, err := Files(dir, "mail_logs", "mail")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	want := []string{"mail.@20261126T210000.s"}
	for i := 1; i <= 11; i++ {
		want = append(want, fmt.Sprintf("mail.@20261126T210000.%d.s", i))
	}
	want = append(want, "mail.current")
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("names\ngot  %v\nwant %v", names, want)
	}
	got := readLines(t, dir, "mail_logs", "mail")
	for i, line := range got {
		if !strings.HasSuffix(line, fmt.Sprintf("Info: n%d", i)) {
			t.Fatalf("line %d out of order: %q", i, line)
		}
	}

	// A clock that steps backwards must still produce a name that sorts
	// after everything already rotated.
	clk.Set(time.Date(2026, 11, 26, 20, 0, 0, 0, time.UTC))
	l.Infof("after step back")
	l.Infof("and another")
	got = readLines(t, dir, "mail_logs", "mail")
	if n := len(got); n != 15 || !strings.HasSuffix(got[n-1], "and another") || !strings.HasSuffix(got[n-2], "after step back") {
		t.Fatalf("order after clock step back: %q", got[len(got)-3:])
	}
}

func TestRotationPrunes(t *testing.T) {
	tests := []struct {
		name     string
		maxFiles int
	}{
		{"keep one", 1},
		{"keep three", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, Options{MaxSize: 1, MaxFiles: tt.maxFiles, Now: newClock(time.Second).Now})
			const n = 20
			for i := range n {
				l.Infof("n%02d", i)
			}
			files, err := Files(dir, "mail_logs", "mail")
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != tt.maxFiles+1 {
				t.Fatalf("got %d files %v, want %d rotated + current", len(files), files, tt.maxFiles)
			}
			got := readLines(t, dir, "mail_logs", "mail")
			// The survivors are the newest lines, contiguous.
			for i, line := range got {
				want := fmt.Sprintf("Info: n%02d", n-len(got)+i)
				if !strings.HasSuffix(line, want) {
					t.Fatalf("line %d = %q, want %q", i, line, want)
				}
			}
		})
	}
}

func TestOversizedLineWrittenWhole(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{MaxSize: 50, Now: newClock(time.Second).Now})
	l.Infof("short")
	big := strings.Repeat("B", 500)
	l.Infof("%s", big)
	l.Infof("after")
	got := readLines(t, dir, "mail_logs", "mail")
	if len(got) != 3 || !strings.HasSuffix(got[1], big) {
		t.Fatalf("got %q", got)
	}
}

func TestParseRotated(t *testing.T) {
	tests := []struct {
		name string
		file string
		ok   bool
		seq  int
	}{
		{"plain", "mail.@20261126T210000.s", true, 0},
		{"counter", "mail.@20261126T210000.12.s", true, 12},
		{"current", "mail.current", false, 0},
		{"other prefix", "cli.@20261126T210000.s", false, 0},
		{"bad stamp", "mail.@20261399T210000.s", false, 0},
		{"leading zero counter", "mail.@20261126T210000.01.s", false, 0},
		{"empty counter", "mail.@20261126T210000..s", false, 0},
		{"junk counter", "mail.@20261126T210000.x.s", false, 0},
		{"no suffix", "mail.@20261126T210000", false, 0},
		{"temp file", "mail.@20261126T210000.s.tmp", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := parseRotated("mail", tt.file)
			if ok != tt.ok || (ok && r.seq != tt.seq) {
				t.Fatalf("parseRotated(%q) = %+v, %v", tt.file, r, ok)
			}
			if ok && rotatedName("mail", r.stamp, r.seq) != tt.file {
				t.Fatalf("rotatedName round trip = %q", rotatedName("mail", r.stamp, r.seq))
			}
		})
	}
}

// TestFollowsExternalRotation: if another process renames the current file
// away, the owner reopens the path instead of writing into the old file.
func TestFollowsExternalRotation(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{MaxSize: 80, Now: newClock(time.Second).Now})
	l.Infof("first ....................................")
	cur := filepath.Join(l.Dir(), "mail.current")
	if err := os.Rename(cur, filepath.Join(l.Dir(), "mail.@20200101T000000.s")); err != nil {
		t.Fatal(err)
	}
	l.Infof("second ...................................")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, cur); !strings.Contains(got, "second") {
		t.Fatalf("current = %q", got)
	}
	if got := readLines(t, dir, "mail_logs", "mail"); len(got) != 2 {
		t.Fatalf("got %q", got)
	}
}
