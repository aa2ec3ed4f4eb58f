package maillog

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock; step is added after every reading so
// tests can control when seconds tick over.
type fakeClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func newClock(step time.Duration) *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC), step: step}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// readLines returns the lines of all files of a log, oldest first, failing
// the test on any partial (unterminated) content.
func readLines(t *testing.T, dir, name, prefix string) []string {
	t.Helper()
	files, err := Files(dir, name, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if s == "" {
			continue
		}
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("%s does not end with a newline: %q", f, s)
		}
		out = append(out, strings.Split(strings.TrimSuffix(s, "\n"), "\n")...)
	}
	return out
}

func mustOpen(t *testing.T, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, "mail_logs", "mail", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
