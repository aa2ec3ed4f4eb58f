package config

import (
	"reflect"
	"testing"
)

func TestAlertRecipients(t *testing.T) {
	all := NewAlertRecipient("all@example.com", map[string][]string{
		AlertSystem: {SeverityAll}, AlertHardware: {SeverityAll}, AlertUpdater: {SeverityAll}, AlertOutbreak: {SeverityAll},
		AlertAntiVirus: {SeverityAll}, AlertAntiSpam: {SeverityAll}, AlertDHAP: {SeverityAll},
	}, true)
	if len(all.Classes) != 8 || !reflect.DeepEqual(all.Severities, AlertSeverities) || all.Levels != nil {
		t.Errorf("all = %+v", all)
	}
	mixed := NewAlertRecipient("ops@example.com", map[string][]string{
		AlertSystem:   {SeverityWarning, SeverityCritical},
		AlertHardware: {SeverityCritical},
		AlertUpdater:  {SeverityCritical},
	}, false)
	want := AlertRecipient{Address: "ops@example.com", Classes: []string{AlertSystem, AlertHardware, AlertUpdater},
		Severities: []string{SeverityCritical}, Levels: []AlertLevels{{Class: AlertSystem, Severities: []string{SeverityCritical, SeverityWarning}}}}
	if !reflect.DeepEqual(mixed, want) {
		t.Errorf("mixed = %+v\nwant %+v", mixed, want)
	}
	if got := mixed.Matrix(); !reflect.DeepEqual(got, map[string][]string{
		AlertSystem: {SeverityCritical, SeverityWarning}, AlertHardware: {SeverityCritical}, AlertUpdater: {SeverityCritical}}) {
		t.Errorf("Matrix = %v", got)
	}
	// Older records name "all" in lower case.
	legacy := AlertRecipient{Address: "old@example.com", Classes: []string{"all"}, Severities: []string{"all"}}
	a := Alerts{Recipients: []AlertRecipient{all, mixed, legacy, {Address: "none@example.com"}}}
	tests := []struct {
		class, sev string
		want       []string
	}{
		{AlertSystem, SeverityWarning, []string{"all@example.com", "ops@example.com", "old@example.com"}},
		{AlertSystem, "information", []string{"all@example.com", "old@example.com"}},
		{AlertHardware, SeverityWarning, []string{"all@example.com", "old@example.com"}},
		{AlertReleaseNotes, "", []string{"all@example.com"}},
		{AlertSystem, "Bogus", nil},
	}
	for _, tc := range tests {
		if got := a.RecipientsFor(tc.class, tc.sev); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RecipientsFor(%s, %s) = %v, want %v", tc.class, tc.sev, got, tc.want)
		}
	}
	only := NewAlertRecipient("rsn@example.com", nil, true)
	if !only.ReleaseNotes() || only.Wants(AlertSystem, SeverityCritical) || len(only.Severities) != 0 {
		t.Errorf("release notes only = %+v", only)
	}
}

func TestTLSFailAlertRecipients(t *testing.T) {
	c := &Config{Alerts: Alerts{Recipients: []AlertRecipient{
		NewAlertRecipient("ops@example.com", map[string][]string{AlertSystem: {SeverityWarning}}, false),
		NewAlertRecipient("crit@example.com", map[string][]string{AlertSystem: {SeverityCritical}}, false),
	}}}
	if got := c.TLSFailAlertRecipients(); got != nil {
		t.Errorf("alert off: %v", got)
	}
	c.Destinations.AlertOnTLSFail = true
	if got := c.TLSFailAlertRecipients(); !reflect.DeepEqual(got, []string{"ops@example.com"}) {
		t.Errorf("alert on: %v", got)
	}
}

// TestCertExpiryThresholds: alertconfig WARNDAYS' N, then 7 and 1 below
// it; 0 (a configuration from before the setting) is the default 30.
func TestCertExpiryThresholds(t *testing.T) {
	for _, tc := range []struct {
		name string
		days int
		want []int
	}{
		{"unset is 30", 0, []int{30, 7, 1}},
		{"default", 30, []int{30, 7, 1}},
		{"longer", 60, []int{60, 7, 1}},
		{"between 7 and 1", 5, []int{5, 1}},
		{"seven", 7, []int{7, 1}},
		{"one", 1, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Alerts{CertExpiryDays: tc.days}
			if got := a.CertExpiryThresholds(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("CertExpiryThresholds() = %v, want %v", got, tc.want)
			}
		})
	}
}
