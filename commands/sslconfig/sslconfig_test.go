package sslconfig

import (
	"strings"
	"testing"

	"esash/shell/shelltest"
)

func TestParseMethodAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, ans string
		lo, hi    int
		msg       string
	}{
		{"one number", "3", 2, 2, ""},
		{"TLS 1.3 by number", "4", 3, 3, ""},
		{"TLS 1.3 by name", "TLS v1.3", 3, 3, ""},
		{"name any case", "tls V1.2", 2, 2, ""},
		{"range", "1-3", 0, 2, ""},
		{"list", "3,4", 2, 3, ""},
		{"list and range", "1-2,3", 0, 2, ""},
		{"method value", "tlsv1_2tlsv1_3", 2, 3, ""},
		{"gap in a list", "1,3", 0, 0, "The TLS versions must be consecutive: TLS v1.0 and TLS v1.2 can be enabled together only with TLS v1.1"},
		{"gap with a range", "1-2,4", 0, 0, "must be consecutive"},
		{"SSL v3 of 215282", "5", 0, 0, "The value must be a number from 1 to 4"},
		{"zero", "0", 0, 0, "The value must be"},
		{"reversed range", "3-1", 0, 0, "The value must be"},
		{"words", "all", 0, 0, "The value must be"},
		{"empty part", "1,,2", 0, 0, "The value must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi, msg := parseMethodAnswer(tc.ans)
			if tc.msg != "" {
				if !strings.Contains(msg, tc.msg) {
					t.Fatalf("parseMethodAnswer(%q) message %q, want %q", tc.ans, msg, tc.msg)
				}
				return
			}
			if msg != "" || lo != tc.lo || hi != tc.hi {
				t.Fatalf("parseMethodAnswer(%q) = %d, %d, %q; want %d, %d", tc.ans, lo, hi, msg, tc.lo, tc.hi)
			}
		})
	}
}

// TestTerminalAsksAgain: on a terminal a bad answer is shown and the
// question asked again (the version list too); what is finally answered
// is staged, as the settings block printed after the edit shows.
func TestTerminalAsksAgain(t *testing.T) {
	input := strings.Join([]string{"sslconfig", "INBOUND", "1,3", "5", "1-2", "ECDHE+AESGCM", "HIGH:!kRSA", "1", "x", "0", "", ""}, "\n") + "\n"
	out, _, _ := shelltest.RunSession(t, true, input, New())
	for _, want := range []string{
		"The TLS versions must be consecutive: TLS v1.0 and TLS v1.2 can be enabled together only with TLS v1.1 in between (for example 1-3).",
		"The value must be a number from 1 to 4, a range such as 1-3, a list such as 2,3 or the name of a version listed.",
		`"ECDHE+AESGCM" selects no suite that TLS v1.0 or TLS v1.1 can use`,
		"TLS Renegotiation cannot be enabled",
		"The value must be 1 (enable) or 0 (disable).",
		"  Inbound SMTP method: tlsv1_0tlsv1_1\n  Inbound SMTP ciphers:\n   HIGH\n   !kRSA\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(out, "Enter the inbound SMTP ssl method you want to use.\n1. TLS v1.0"); n != 3 {
		t.Errorf("method question with its list shown %d times, want 3", n)
	}
}
