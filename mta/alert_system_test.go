package mta

import (
	"strings"
	"testing"

	"esash/config"
)

// TestSendSystemAlert: a System alert reaches the recipients subscribed to
// System at its severity, and only them.
func TestSendSystemAlert(t *testing.T) {
	p := newPKI(t)
	sink := startRawSink(t, func(r *rawSink) {})
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	cfg.Alerts.Recipients = []config.AlertRecipient{
		{Address: "system@alerts.test", Classes: []string{"System"}, Severities: []string{"Warning", "Critical"}},
		{Address: "av@alerts.test", Classes: []string{"Anti-Virus"}, Severities: []string{"All"}},
	}
	alerts := startGoSink(t, nil)
	cfg.Destinations.Entries = append(cfg.Destinations.Entries, config.DestControl{Domain: "alerts.test", TLS: config.TLSOutNo})
	cfg.Routes = append(cfg.Routes, config.Route{Domain: "alerts.test", Hosts: []config.RouteHost{{Host: alerts.addr, Port: alerts.port}}})
	s, _ := startOut(t, cfg)
	subject := "Warning <System> esa.example.com: certificate profile Web expires in 7 days"
	if err := s.SendSystemAlert(cfg, config.SeverityWarning, subject, "body\r\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alert delivery", func() bool { return len(alerts.list()) == 1 })
	a := alerts.list()[0]
	if !strings.Contains(a.data, "Subject: "+subject) || strings.Join(a.to, ",") != "system@alerts.test" {
		t.Errorf("alert to %v, data:\n%s", a.to, a.data)
	}
	if err := s.SendSystemAlert(cfg, config.SeverityInfo, "Info <System> x", "body\r\n"); err != nil {
		t.Fatal(err)
	}
}
