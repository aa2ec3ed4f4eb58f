package status

import (
	"regexp"
	"testing"
	"time"
)

func TestRender(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	running := Snapshot{Running: true, Since: now.Add(-26*time.Hour - 3*time.Minute - 4*time.Second),
		Counters: Counters{MessagesReceived: 5, DeliveredRecipients: 3, HardBouncedRecipients: 1},
		Queue:    []Message{{Time: now.Add(-time.Hour), Recipients: 2, Attempted: true, Size: 2048}, {Time: now, Recipients: 1, Size: 1}}}
	for _, tc := range []struct {
		name   string
		sn     Snapshot
		detail bool
		want   []string
		absent []string
	}{
		{"running", running, false,
			[]string{`Up since:\s+Wed Nov 25 18:56:56 2026 \(1d 2h 3m 4s\)`, `System status:\s+Online`, `Oldest Message:\s+1h 0m 0s`,
				`Messages Received\s+5\n`, `Completed Recipients\s+4\n`, `Active Recipients\s+3\n`, `Unattempted Recipients\s+1\n`,
				`Attempted Recipients\s+2\n`, `Messages In Work Queue\s+2\n`, `Kilobytes Used\s+3\n`},
			[]string{`Rates`}},
		{"detail", running, true, []string{`Rates \(Events Per Hour`}, nil},
		{"offline", Snapshot{}, false, []string{`System status:\s+Offline`, `Oldest Message:\s+No Messages`, `Messages In Work Queue\s+0\n`},
			[]string{`Counters:`, `Up since`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Render(tc.sn, now, tc.detail)
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("lacks /%s/:\n%s", w, out)
				}
			}
			for _, a := range tc.absent {
				if regexp.MustCompile(a).MatchString(out) {
					t.Errorf("has /%s/:\n%s", a, out)
				}
			}
		})
	}
}
