package maillog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLogWritesLevels(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(0)
	l := mustOpen(t, dir, Options{Now: clk.Now})
	l.Infof("%s", NewICID(5, "Management", "127.0.0.1", "127.0.0.1", "localhost", true))
	l.Warningf("w %d", 1)
	l.Criticalf("c")
	l.Debugf("d")
	l.Tracef("t")
	l.Infof("100%%")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Thu Nov 26 21:00:00 2026 Info: New SMTP ICID 5 interface Management (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes",
		"Thu Nov 26 21:00:00 2026 Warning: w 1",
		"Thu Nov 26 21:00:00 2026 Critical: c",
		"Thu Nov 26 21:00:00 2026 Debug: d",
		"Thu Nov 26 21:00:00 2026 Trace: t",
		"Thu Nov 26 21:00:00 2026 Info: 100%",
	}
	got := readLines(t, dir, "mail_logs", "mail")
	if len(got) != len(want) {
		t.Fatalf("got %d lines %q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d\ngot  %q\nwant %q", i, got[i], want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "mail_logs", "mail.current")); err != nil {
		t.Fatal(err)
	}
}

func TestLogAppendsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Second)
	for i := range 3 {
		l, err := Open(dir, "cli_logs", "cli", Options{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		l.Infof("run %d", i)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := readLines(t, dir, "cli_logs", "cli"); len(got) != 3 {
		t.Fatalf("got %q", got)
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name, log, prefix string
		opts              Options
		want              error
	}{
		{"empty name", "", "mail", Options{}, ErrInvalidName},
		{"dotdot name", "..", "mail", Options{}, ErrInvalidName},
		{"slash name", "a/b", "mail", Options{}, ErrInvalidName},
		{"empty prefix", "mail_logs", "", Options{}, ErrInvalidName},
		{"slash prefix", "mail_logs", "../x", Options{}, ErrInvalidName},
		{"negative size", "mail_logs", "mail", Options{MaxSize: -1}, ErrInvalidOption},
		{"negative files", "mail_logs", "mail", Options{MaxFiles: -1}, ErrInvalidOption},
		{"negative buffer", "mail_logs", "mail", Options{SubscriberBuffer: -1}, ErrInvalidOption},
		{"negative write-behind", "mail_logs", "mail", Options{WriteBehind: -1}, ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(t.TempDir(), tt.log, tt.prefix, tt.opts)
			if !errors.Is(err, tt.want) {
				if l != nil {
					l.Close()
				}
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLogAfterClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "mail_logs", "mail", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Infof("dropped") // must not panic
	if !errors.Is(l.Err(), ErrClosed) {
		t.Fatalf("Err = %v, want ErrClosed", l.Err())
	}
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v", err)
	}
	if got := readLines(t, dir, "mail_logs", "mail"); len(got) != 0 {
		t.Fatalf("got %q", got)
	}
}

// TestLogWriteErrorKept removes the log directory so rotation/reopen fails;
// the writer must keep going without panicking and expose the failure.
func TestLogWriteErrorKept(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{MaxSize: 64, Now: newClock(time.Second).Now})
	l.Infof("first line that fills most of the file ......")
	if err := os.RemoveAll(l.Dir()); err != nil {
		t.Fatal(err)
	}
	l.Infof("second line forces a rotation that cannot rename")
	if l.Err() == nil {
		t.Fatal("Err() = nil after failed rotation")
	}
	// The writer recovers once the directory is back.
	if err := os.MkdirAll(l.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	l.Infof("x")
	l.Infof("y")
	if got := readLines(t, dir, "mail_logs", "mail"); len(got) == 0 {
		t.Fatal("no lines after recovery")
	}
}

// TestInfosWritesLinesTogether: Infos writes its lines in order, escaped
// as Infof's, each a line of its own for readers and subscribers.
func TestInfosWritesLinesTogether(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(0)
	l := mustOpen(t, dir, Options{Now: clk.Now})
	lines, stop := l.Subscribe()
	defer stop()
	l.Infos(StartMID(7, 5), "MID 7 From: <a\r\nFake line>")
	l.Infof("after")
	want := []string{
		"Thu Nov 26 21:00:00 2026 Info: " + StartMID(7, 5),
		`Thu Nov 26 21:00:00 2026 Info: MID 7 From: <a\r\nFake line>`,
		"Thu Nov 26 21:00:00 2026 Info: after",
	}
	got := readLines(t, dir, "mail_logs", "mail")
	if len(got) != len(want) {
		t.Fatalf("got %d lines %q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d\ngot  %q\nwant %q", i, got[i], want[i])
		}
		if sub := <-lines; sub != want[i] {
			t.Errorf("subscriber line %d\ngot  %q\nwant %q", i, sub, want[i])
		}
	}
}
