package sslconfig

import (
	"strings"
	"testing"
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
