package maillog

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentWriters runs many goroutines against a small MaxSize so
// writes race with rotation; every line must arrive exactly once, intact.
func TestConcurrentWriters(t *testing.T) {
	tests := []struct {
		name        string
		maxSize     int64
		writeBehind time.Duration
	}{
		{"no rotation", 0, 0},
		{"rotating", 4 << 10, 0},
		{"write-behind", 0, time.Millisecond},
		{"write-behind rotating", 4 << 10, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, Options{MaxSize: tt.maxSize, MaxFiles: 1000, WriteBehind: tt.writeBehind, Now: newClock(time.Millisecond).Now})
			ch, cancel := l.Subscribe()
			defer cancel()
			var readers sync.WaitGroup
			readers.Go(func() {
				for range ch {
				}
			})
			const writers, each = 16, 200
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						l.Infof("%s", MIDFrom(int64(w), int64(i), strings.Repeat("a", (w*i)%50)+"@example.com"))
					}
				})
			}
			wg.Wait()
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			line := regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} Info: MID (\d+) ICID (\d+) From: <(a*)@example\.com>$`)
			seen := make(map[string]bool)
			for _, s := range readLines(t, dir, "mail_logs", "mail") {
				m := line.FindStringSubmatch(s)
				if m == nil {
					t.Fatalf("mangled line %q", s)
				}
				var w, i int
				fmt.Sscan(m[1], &w)
				fmt.Sscan(m[2], &i)
				if len(m[3]) != (w*i)%50 {
					t.Fatalf("line body corrupted: %q", s)
				}
				if seen[m[1]+"/"+m[2]] {
					t.Fatalf("duplicate %q", s)
				}
				seen[m[1]+"/"+m[2]] = true
			}
			if len(seen) != writers*each {
				t.Fatalf("got %d distinct lines, want %d", len(seen), writers*each)
			}
			if tt.maxSize > 0 {
				files, err := Files(dir, "mail_logs", "mail")
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range files {
					if st, err := os.Stat(f); err != nil || st.Size() > tt.maxSize {
						t.Fatalf("%s: %v bytes (%v), more than MaxSize %d", f, st.Size(), err, tt.maxSize)
					}
				}
			}
			l.Close()
			readers.Wait()
		})
	}
}
