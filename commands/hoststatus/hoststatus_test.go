package hoststatus

import (
	"regexp"
	"testing"
	"time"

	"esash/config"
)

func TestRender(t *testing.T) {
	now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	cfg := &config.Config{Routes: []config.Route{{Domain: "example.net", Hosts: []config.RouteHost{{Host: "mx.example.net", Port: 2525}}}},
		Destinations: config.Destinations{Entries: []config.DestControl{{Domain: "example.net", TLS: config.TLSOutRequiredVerify}}}}
	h := Host{Running: true, Events: Events{Up: "down", LastActivity: now, LastError: "connection refused", SoftBounced: 2},
		Queue: []Queued{{Time: now.Add(-time.Hour), Recipients: 2, Attempts: 1, NextTry: now.Add(time.Minute)}, {Time: now, Recipients: 1}}}
	for _, tc := range []struct {
		name   string
		domain string
		h      Host
		want   []string
	}{
		{"routed and down", "example.net", h, []string{`Host up/down:\s+down\n`, `Soft Bounced Events\s+2\n`, `Active Recipients\s+3\n`,
			`Unattempted Recipients\s+1\n`, `Oldest Message\s+Thu Nov 26 20:00:00 2026`, `Next Retry\s+Thu Nov 26 21:01:00 2026`,
			`Last Error\s+connection refused`, `example.net: mx.example.net:2525`, `TLS: require_verify \(entry example.net\)`}},
		{"offline, by MX", "example.org", Host{}, []string{`Host up/down:\s+unknown \(no esash serve`, `none: delivery by MX records`, `TLS: default`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Render(tc.domain, tc.h, cfg, now)
			for _, w := range tc.want {
				if !regexp.MustCompile(w).MatchString(out) {
					t.Errorf("lacks /%s/:\n%s", w, out)
				}
			}
		})
	}
}
