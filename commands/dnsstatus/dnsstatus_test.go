package dnsstatus

import (
	"regexp"
	"testing"
	"time"

	"esash/resolver"
)

func TestRender(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	running := Snapshot{Running: true, Since: now.Add(-2 * time.Hour), CacheEntries: 7, ReverseNames: 2,
		Counts: resolver.Counts{Requests: 12, CacheHits: 4, CacheMisses: 8, CacheExpired: 1, FailedRequests: 2,
			NetworkRequests: 10, Answers: 3, NXDomain: 1, NoData: 2, ServerFailures: 1, Timeouts: 2, NetworkErrors: 1,
			Authenticated: 5}}
	for _, tc := range []struct {
		name   string
		sn     Snapshot
		want   []string
		absent []string
	}{
		{"running", running,
			[]string{`Status as of:\s+Thu Nov 26 21:00:00 2026\n`, `Last counter reset:\s+Thu Nov 26 19:00:00 2026\n`,
				`\nCounters:\s+Uptime\n  DNS Requests\s+12\n    Cache Hits\s+4\n    Cache Misses\s+8\n      Cache Expired\s+1\n      Failed Requests\s+2\n`,
				`\n  Network Requests\s+10\n    Answers\s+3\n    NXDOMAIN Answers\s+1\n    No Data Answers\s+2\n    Server Failures\s+1\n    Timeouts\s+2\n    Network Errors\s+1\n  DNSSEC Authenticated\s+5\n`,
				`\nGauges:\s+Current\n  DNS Cache Entries\s+7\n  Reverse DNS Names Cached\s+2\n$`},
			[]string{`Offline`, `Lifetime`, `Reset `}},
		{"nothing counted yet", Snapshot{Running: true, Since: now},
			[]string{`DNS Requests\s+0\n`, `DNSSEC Authenticated\s+0\n`, `DNS Cache Entries\s+0\n`}, []string{`Offline`}},
		{"offline", Snapshot{},
			[]string{`^Status as of:\s+Thu Nov 26 21:00:00 2026\nDNS status:\s+Offline \(no esash serve runs on this data directory; only a running MTA counts DNS requests\)\n$`},
			[]string{`Counters:`, `Gauges:`, `Last counter reset`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Render(tc.sn, now)
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
