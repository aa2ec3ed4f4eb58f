package mta

import (
	"strings"
	"testing"

	"esash/config"
)

// TestAlertFrom: alerts come from alertconfig's FROM address, envelope and
// header, and from alert@<hostname> when none is set (settings inventory:
// alerts.from is enforced).
func TestAlertFrom(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct{ name, from, want string }{
		{"configured", "esa-alerts@example.com", "esa-alerts@example.com"},
		{"default", "", "alert@"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := startRawSink(t, func(r *rawSink) {})
			cfg := outCfg(t, p, config.TLSOutRequired, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			cfg.Destinations.AlertOnTLSFail = true
			cfg.Alerts.From = tc.from
			cfg.Alerts.Recipients = []config.AlertRecipient{{Address: "admin@alerts.test", Classes: []string{"All"}, Severities: []string{"All"}}}
			alerts := startGoSink(t, nil)
			cfg.Destinations.Entries = append(cfg.Destinations.Entries, config.DestControl{Domain: "alerts.test", TLS: config.TLSOutNo})
			cfg.Routes = append(cfg.Routes, config.Route{Domain: "alerts.test", Hosts: []config.RouteHost{{Host: alerts.addr, Port: alerts.port}}})
			s, _ := startOut(t, cfg)
			enqueue(t, s, "a@example.com", "b@sink.test")
			waitFor(t, "alert delivery", func() bool { return len(alerts.list()) == 1 })
			a := alerts.list()[0]
			if !strings.HasPrefix(a.from, tc.want) || !strings.Contains(a.data, "From: <"+tc.want) {
				t.Errorf("alert from %q, data:\n%s\nwant from %s", a.from, a.data, tc.want)
			}
		})
	}
}
