package config

import (
	"strings"
	"testing"
)

// SlowClients: out of range values are refused at commit with their path;
// zero (the default) and the bounds pass; Effective fills the defaults.
func TestSlowClientsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		sc   SlowClients
		path string // "" = valid
		msg  string
	}{
		{"defaults", SlowClients{}, "", ""},
		{"bounds", SlowClients{StressPercent: 100, StressTimeout: 300, IdlePercent: 1}, "", ""},
		{"stress percent", SlowClients{StressPercent: 101}, "listeners[IncomingMail].slow_clients.stress_percent", "percent from 1 to 100, not 101"},
		{"stress timeout", SlowClients{StressTimeout: 301}, "listeners[IncomingMail].slow_clients.stress_command_timeout", "seconds from 1 to 300, not 301"},
		{"negative timeout", SlowClients{StressTimeout: -1}, "listeners[IncomingMail].slow_clients.stress_command_timeout", "not -1"},
		{"idle percent", SlowClients{IdlePercent: -5}, "listeners[IncomingMail].slow_clients.no_message_percent", "percent from 1 to 100, not -5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			c.Listeners[0].SlowClients = tc.sc
			var found bool
			for _, p := range Validate(c, testNow).Errors() {
				if strings.Contains(p.Path, "slow_clients") {
					if p.Path != tc.path || !strings.Contains(p.Msg, tc.msg) {
						t.Fatalf("unexpected problem %s", p)
					}
					found = true
				}
			}
			if found != (tc.path != "") {
				t.Fatalf("problem at %q found: %v", tc.path, found)
			}
		})
	}
	if e := (SlowClients{StressTimeout: 3}).Effective(); e != (SlowClients{StressPercent: 80, StressTimeout: 3, IdlePercent: 90}) {
		t.Fatalf("Effective: %+v", e)
	}
}
