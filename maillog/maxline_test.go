package maillog

import (
	"strings"
	"testing"
)

// TestLogMaxLine (issue 12, item 11): a log that caps its lines (cli_logs:
// a pasted line of 50,000 characters) records the start of the message
// and how long it was; the cut never splits a UTF-8 character or an
// escape, and short lines are untouched.
func TestLogMaxLine(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Options{Now: newClock(0).Now, MaxLine: 100})
	long := strings.Repeat("é", 25_000) // 50,000 bytes
	l.Infof("ran: %s", long)
	l.Infof("ran: %s", strings.Repeat("\n", 200))
	l.Infof("ran: short")
	got := readLines(t, dir, "mail_logs", "mail")
	if len(got) != 3 {
		t.Fatalf("got %d lines", len(got))
	}
	for i, want := range []string{
		"Info: ran: " + strings.Repeat("é", 47) + " [cut: 50005 bytes]",
		"Info: ran: " + strings.Repeat(`\n`, 47) + ` [cut: 205 bytes]`,
		"Info: ran: short",
	} {
		if !strings.HasSuffix(got[i], want) {
			t.Errorf("line %d: %q\nwant suffix %q", i, got[i], want)
		}
	}
}
