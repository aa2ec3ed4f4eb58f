package maillog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// builderCases pins every message builder. The golden file is the contract
// with anything that parses mail_logs; re-record with ESASH_UPDATE=1 only
// after checking the diff against real AsyncOS output.
var builderCases = []struct {
	name string
	got  string
}{
	{"NewICID verified", NewICID(5, "Management", "127.0.0.1", "127.0.0.1", "localhost", true)},
	{"NewICID unknown rdns", NewICID(282204970, "IncomingMail", "10.0.0.1", "192.0.2.7", "", false)},
	{"ICIDPolicy", ICIDPolicy(5, "ACCEPT", "UNKNOWNLIST", "ALL", "")},
	{"ICIDPolicy scored", ICIDPolicy(6, "REJECT", "BLOCKED_LIST", "sbrs[-10.0:-3.0]", "-4.5")},
	{"ICIDTLSSuccess", ICIDTLSSuccess(5, "TLSv1.3", "TLS_AES_128_GCM_SHA256")},
	{"ICIDTLSFailed", ICIDTLSFailed(5, "tls: first record does not look like a TLS handshake")},
	{"ICIDTLSRequired", ICIDTLSRequired(5)},
	{"StartMID", StartMID(1, 5)},
	{"MIDFrom", MIDFrom(1, 5, "alice@example.com")},
	{"MIDFrom null sender", MIDFrom(2, 5, "")},
	{"MIDTo", MIDTo(1, 5, 0, "bob@example.net")},
	{"MIDToRejected RAT", MIDToRejected(1, 5, "victim@third.example", "RAT")},
	{"MIDToRejected rate limit", MIDToRejected(1, 5, "r@example.com", "Receiving Control")},
	{"MIDReady", MIDReady(1, 1234, "alice@example.com")},
	{"MIDQueued", MIDQueued(1)},
	{"ICIDLost", ICIDLost(5)},
	{"ICIDClose", ICIDClose(5)},
	{"NewDCID", NewDCID(7, "10.0.0.1", "198.51.100.25", 25)},
	{"DCIDTLSSuccess", DCIDTLSSuccess(7, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "example.net")},
	{"DCIDTLSFailed", DCIDTLSFailed(7, "x509: certificate signed by unknown authority")},
	{"DCIDTLSRequired", DCIDTLSRequired(7, "198.51.100.25")},
	{"DeliveryStart one", DeliveryStart(7, 1, []int{0})},
	{"DeliveryStart many", DeliveryStart(7, 1, []int{0, 1, 2})},
	{"DeliveryStart none", DeliveryStart(7, 1, nil)},
	{"MessageDone", MessageDone(7, 1, []int{0, 1})},
	{"Delayed", Delayed(7, 1, []int{0}, "4.1.0", "Unknown address error ('451', ['Try again later'])")},
	{"Bounced", Bounced(7, 1, []int{0}, "5.1.0", "Unknown address error ('550', ['No such user'])")},
	{"ConnectionError", ConnectionError(8, "example.org", "203.0.113.9", 25, "timeout", "10.0.0.1", "network error")},
	{"DCIDClose", DCIDClose(7)},
	{"AlertSent", AlertSent("System", "Warning", "admin@example.com", "Warning <System>: disk 90% full")},
}

func TestBuildersGolden(t *testing.T) {
	// Render through FormatLine too, so the golden file shows full lines
	// exactly as an operator would see them.
	ts := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	var b strings.Builder
	for _, c := range builderCases {
		b.WriteString("# " + c.name + "\n")
		b.WriteString(FormatLine(ts, Info, c.got) + "\n")
	}
	golden := filepath.Join("testdata", "lines.golden")
	if os.Getenv("ESASH_UPDATE") == "1" {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with ESASH_UPDATE=1 to create)", err)
	}
	if got := b.String(); got != string(want) {
		t.Fatalf("builders differ from %s (ESASH_UPDATE=1 re-records)\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// TestBuildersSpec spells out the brief's examples independently of the
// golden file, so a careless re-record cannot silently change them.
func TestBuildersSpec(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"NewICID", NewICID(5, "Management", "127.0.0.1", "127.0.0.1", "localhost", true),
			"New SMTP ICID 5 interface Management (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes"},
		{"ICIDPolicy", ICIDPolicy(5, "ACCEPT", "NAME", "RULE", "none"), "ICID 5 ACCEPT SG NAME match RULE SBRS none"},
		{"ICIDPolicy no score", ICIDPolicy(5, "ACCEPT", "NAME", "RULE", ""), "ICID 5 ACCEPT SG NAME match RULE SBRS None"},
		{"MIDQueued", MIDQueued(7), "MID 7 queued for delivery"},
		{"ICIDLost", ICIDLost(590052584), "ICID 590052584 lost"},
		{"ICIDTLSRequired", ICIDTLSRequired(3), "ICID 3 TLS was required but remote host did not initiate it"},
		{"MIDTo", MIDTo(2, 3, 0, "a@b"), "MID 2 ICID 3 RID 0 To: <a@b>"},
		{"MIDToRejected", MIDToRejected(2, 3, "a@b", "RAT"), "MID 2 ICID 3 To: <a@b> Rejected by RAT"},
		{"DeliveryStart", DeliveryStart(4, 2, []int{0, 1}), "Delivery start DCID 4 MID 2 to RID [0, 1]"},
		{"Delayed", Delayed(4, 2, []int{0}, "4.4.1", "later"), "Delayed: DCID 4 MID 2 to RID [0] - 4.4.1 - later"},
		{"Bounced", Bounced(4, 2, []int{0}, "5.1.1", "no"), "Bounced: DCID 4 MID 2 to RID [0] - 5.1.1 - no"},
		{"DCIDTLSRequired", DCIDTLSRequired(4, "1.2.3.4"), "DCID 4 IP 1.2.3.4 TLS was required but could not be successfully negotiated"},
		{"ConnectionError", ConnectionError(4, "d", "1.2.3.4", 25, "text", "5.6.7.8", "network error"),
			"Connection Error: DCID 4 domain: d IP: 1.2.3.4 port: 25 details: text interface: 5.6.7.8 reason: network error"},
		{"AlertSent", AlertSent("System", "Warning", "a@b", "subject"), `A System/Warning alert was sent to a@b with subject "subject".`},
		// The seed guide's failed delivery TLS connection (a 454 to STARTTLS).
		{"ConnectionError 454", ConnectionError(40986669, "domain", "10.0.0.1", 25, ReplyDetails(454, "TLS not available due to\ntemporary reason"), "192.168.1.1", "unexpected SMTP response"),
			"Connection Error: DCID 40986669 domain: domain IP: 10.0.0.1 port: 25 details: 454-'TLS not available due to temporary reason' interface: 192.168.1.1 reason: unexpected SMTP response"},
		{"DCIDTLSFailed 454", DCIDTLSFailed(40986669, "STARTTLS unexpected response"), "DCID 40986669 TLS failed: STARTTLS unexpected response"},
		{"DCIDTLSUnverified", DCIDTLSUnverified(5, "verify error: certificate name mismatch", "TLSv1.3", "TLS_AES_128_GCM_SHA256"),
			"DCID 5 TLS failed: verify error: certificate name mismatch; delivering over TLS without verification (protocol TLSv1.3 cipher TLS_AES_128_GCM_SHA256)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got  %q\nwant %q", tt.got, tt.want)
			}
		})
	}
}
