package maillog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// With WriteBehind the lines reach the file by themselves, shortly; the
// process's own readers see them at once, and Close writes what is left.
func TestWriteBehind(t *testing.T) {
	current := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "mail_logs", "mail.current"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		// check runs after two lines were logged.
		check func(t *testing.T, l *Log, dir string)
	}{
		{"written by the flusher", func(t *testing.T, l *Log, dir string) {
			deadline := time.Now().Add(10 * time.Second)
			for strings.Count(current(dir), "\n") != 2 {
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s the file holds %q", current(dir))
				}
				time.Sleep(time.Millisecond)
			}
		}},
		{"Tail writes what is pending", func(t *testing.T, l *Log, dir string) {
			if got := current(dir); got != "" {
				t.Fatalf("written before its time: %q", got)
			}
			lines, err := Tail(dir, "mail_logs", "mail", 10)
			if err != nil || len(lines) != 2 || !strings.HasSuffix(lines[1], "Info: second") {
				t.Fatalf("Tail: %q, %v", lines, err)
			}
		}},
		{"Close writes what is pending", func(t *testing.T, l *Log, dir string) {
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if got := current(dir); strings.Count(got, "\n") != 2 || !strings.Contains(got, "Info: first\n") {
				t.Fatalf("after Close the file holds %q", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			linger := time.Hour
			if tt.name == "written by the flusher" {
				linger = time.Millisecond
			}
			l := mustOpen(t, dir, Options{WriteBehind: linger})
			defer l.Close()
			ch, cancel := l.Subscribe()
			defer cancel()
			l.Infof("first")
			l.Infos("second")
			for _, want := range []string{"first", "second"} {
				if got := <-ch; !strings.HasSuffix(got, "Info: "+want) {
					t.Fatalf("subscriber got %q, want %q at once", got, want)
				}
			}
			tt.check(t, l, dir)
		})
	}
}

// A write-behind Log whose flusher cannot keep up writes from the logging
// goroutine once maxPending is held: memory stays bounded.
func TestWriteBehindBounded(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{WriteBehind: time.Hour})
	defer l.Close()
	line := strings.Repeat("x", 1000)
	for range 2 * maxPending / 1000 {
		l.Infof("%s", line)
	}
	l.mu.Lock()
	held := len(l.pending)
	l.mu.Unlock()
	if held >= maxPending {
		t.Fatalf("%d bytes pending, bound %d", held, maxPending)
	}
	st, err := os.Stat(filepath.Join(dir, "mail_logs", "mail.current"))
	if err != nil || st.Size() < maxPending {
		t.Fatalf("the file holds %v bytes (%v): the loggers did not write", st.Size(), err)
	}
}

// The formatted time is kept for a second: lines in the same second share
// it, a new second or a new zone formats again.
func TestStampFollowsClock(t *testing.T) {
	base := time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC)
	clock := []time.Time{base, base.Add(500 * time.Millisecond), base.Add(time.Second), base.Add(time.Second).In(time.FixedZone("X", 3600))}
	i := 0
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Now: func() time.Time { i++; return clock[i-1] }})
	for range clock {
		l.Infof("line")
	}
	lines, err := Tail(dir, "mail_logs", "mail", 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Sun Dec  6 01:02:03 2026", "Sun Dec  6 01:02:03 2026", "Sun Dec  6 01:02:04 2026", "Sun Dec  6 02:02:04 2026"}
	for k, w := range want {
		if k >= len(lines) || !strings.HasPrefix(lines[k], w+" Info: line") {
			t.Fatalf("line %d: %q, want it to start with %q", k, lines, w)
		}
	}
}
