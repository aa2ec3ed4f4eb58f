package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestValidateMTASTS: destconfig MTASTS's exemption list holds lower-case domains,
// each once; the rest is accepted.
func TestValidateMTASTS(t *testing.T) {
	tests := []struct {
		name    string
		domains []string
		msg     string // "" = accepted
	}{
		{name: "none", domains: nil},
		{name: "entries", domains: []string{"example.net", ".sub.example.com"}},
		{name: "not a domain", domains: []string{"exa mple.net"}, msg: `"exa mple.net"`},
		{name: "upper case", domains: []string{"Example.net"}, msg: "lower case"},
		{name: "twice", domains: []string{"example.net", "example.net"}, msg: "listed twice"},
		{name: "reserved", domains: []string{"ALL"}, msg: "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := factory(t)
			c.Destinations.MTASTS = MTASTS{Off: true, Exempt: tc.domains}
			ps := Validate(c, testNow)
			if tc.msg == "" {
				if ps != nil {
					t.Fatalf("Validate = %v", ps)
				}
				return
			}
			if len(ps) == 0 || ps[0].Path != "destinations.mta_sts.exempt" || !strings.Contains(ps[0].Msg, tc.msg) {
				t.Fatalf("Validate = %v, want destinations.mta_sts.exempt with %q", ps, tc.msg)
			}
		})
	}
}

// TestMTASTSAppliesTo: every entry applies MTA-STS but the exempt ones;
// DEFAULT unless Off.
func TestMTASTSAppliesTo(t *testing.T) {
	m := MTASTS{Exempt: []string{"example.net"}}
	for entry, want := range map[string]bool{DefaultDomain: true, "example.net": false, "example.com": true} {
		if got := m.AppliesTo(entry); got != want {
			t.Errorf("AppliesTo(%s) = %v, want %v", entry, got, want)
		}
	}
	if (MTASTS{Off: true}).AppliesTo(DefaultDomain) {
		t.Error("Off still applies to the DEFAULT entry")
	}
}

// TestMTASTSOldListDropped: a configuration saved when "domains" listed
// the entries that applied MTA-STS reads with no exemption: those entries
// apply it, as every entry now does.
func TestMTASTSOldListDropped(t *testing.T) {
	var m MTASTS
	if err := json.Unmarshal([]byte(`{"off":true,"domains":["example.net"]}`), &m); err != nil {
		t.Fatal(err)
	}
	if !m.Off || len(m.Exempt) != 0 || !m.AppliesTo("example.net") {
		t.Fatalf("read %+v", m)
	}
}
