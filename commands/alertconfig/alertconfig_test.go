package alertconfig

import (
	"reflect"
	"strings"
	"testing"

	"esash/config"
)

func TestParseChoices(t *testing.T) {
	alone := map[int]string{1: "all alone", 5: "none alone"}
	tests := []struct {
		in   string
		want []int
		msg  string
	}{
		{"1", []int{1}, ""},
		{"2, 3,3", []int{2, 3}, ""},
		{"5", []int{5}, ""},
		{"1,2", nil, "all alone"},
		{"2,5", nil, "none alone"},
		{"0", nil, "from 1 to 5"},
		{"x", nil, "from 1 to 5"},
		{"", nil, "from 1 to 5"},
	}
	for _, tc := range tests {
		got, msg := parseChoices(tc.in, 5, alone)
		if !reflect.DeepEqual(got, tc.want) || (tc.msg == "") != (msg == "") || tc.msg != "" && !strings.Contains(msg, tc.msg) {
			t.Errorf("parseChoices(%q) = %v, %q; want %v, %q", tc.in, got, msg, tc.want, tc.msg)
		}
	}
}

func TestSeverities(t *testing.T) {
	for _, tc := range []struct {
		ans  string
		sevs []string
	}{
		{"1", config.AlertSeverities},
		{"2,4", []string{config.SeverityCritical, config.SeverityInfo}},
		{"3", []string{config.SeverityWarning}},
		{"5", nil},
	} {
		got := severitiesOf(tc.ans)
		if !reflect.DeepEqual(got, tc.sevs) {
			t.Errorf("severitiesOf(%q) = %v, want %v", tc.ans, got, tc.sevs)
		}
		if back := choicesOf(got); back != tc.ans {
			t.Errorf("choicesOf(%v) = %q, want %q", got, back, tc.ans)
		}
	}
}

// TestRequiredTLSAlert: the required-TLS failure alert (System, Warning)
// reaches who subscribed to it and no one else.
func TestRequiredTLSAlert(t *testing.T) {
	a := config.Alerts{Recipients: []config.AlertRecipient{
		config.NewAlertRecipient("ops@example.com", map[string][]string{config.AlertSystem: {config.SeverityWarning}}, false),
		config.NewAlertRecipient("hw@example.com", map[string][]string{config.AlertHardware: {config.SeverityAll}}, false),
		config.NewAlertRecipient("crit@example.com", map[string][]string{config.AlertSystem: {config.SeverityCritical}}, false),
	}}
	if got := a.RecipientsFor(config.AlertSystem, config.SeverityWarning); !reflect.DeepEqual(got, []string{"ops@example.com"}) {
		t.Errorf("RecipientsFor(System, Warning) = %v", got)
	}
	if got := subscriptions(a.Recipients[0]); !reflect.DeepEqual(got, []string{"Class: System - Severities: Warning"}) {
		t.Errorf("subscriptions = %v", got)
	}
}
