package listenerconfig

import (
	"slices"
	"testing"

	"esash/config"
)

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"10M": 10 << 20, "10m": 10 << 20, "512k": 512 << 10, "512K": 512 << 10,
		"1000": 1000, "1024M": 1 << 30, "1": 1} {
		if n, ok := parseSize(in); !ok || n != want {
			t.Errorf("parseSize(%q) = %d, %v", in, n, ok)
		}
		if n, _ := parseSize(in); formatSize(n) == "" {
			t.Errorf("formatSize(%d) empty", n)
		}
	}
	for _, bad := range []string{"", "M", "0", "-1", "1025M", "10G", "1.5M", "ten"} {
		if _, ok := parseSize(bad); ok {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
	for n, want := range map[int64]string{10 << 20: "10M", 512 << 10: "512k", 1000: "1000", 1536 << 10: "1536k"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]int{"90": 90, "90s": 90, "5m": 300, "5M": 300, "1h": 3600, "0": 0} {
		if n, ok := parseDuration(in); !ok || n != want {
			t.Errorf("parseDuration(%q) = %d, %v", in, n, ok)
		}
	}
	for _, bad := range []string{"", "m", "-5m", "1d", "1.5h", "99999999h"} {
		if _, ok := parseDuration(bad); ok {
			t.Errorf("parseDuration(%q) accepted", bad)
		}
	}
	for n, want := range map[int]string{3600: "1h", 300: "5m", 90: "90s", 7200: "2h"} {
		if got := formatDuration(n); got != want {
			t.Errorf("formatDuration(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestCheckHostList(t *testing.T) {
	if r := checkHostList("10.0.0.0/8, 10.1.1.1-50, .example.com, mx.example.com, 2001:db8::1, ALL"); r != "" {
		t.Error(r)
	}
	for _, bad := range []string{"10.0.0.0/33", "300.1.1.1", "a b", "10.1.1.1, 10.1.1.1", "10.1.1.0-99999999999999999999"} {
		if checkHostList(bad) == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	if checkRecipientList(" , ") == "" {
		t.Error("an empty recipient list accepted")
	}
}

func TestDescribe(t *testing.T) {
	cfg := &config.Config{Interfaces: []config.Interface{{Name: "Data1", IPv4: "192.0.2.1", IPv6: "2001:db8::1"}}}
	l := config.FactoryListener("In", config.Public, "Data1", 25)
	if got, want := describe(cfg, l), "In (on Data1, 192.0.2.1, 2001:db8::1) SMTP TCP Port 25 Public"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
	l.Interface = "Gone"
	if got, want := describe(cfg, l), "In (on Gone, ?) SMTP TCP Port 25 Public"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

// TestTLSChoice: the TLS list value of a policy's TLS setting and client
// certificate verification (verification only counts with TLS on).
func TestTLSChoice(t *testing.T) {
	tests := []struct {
		name   string
		tls    config.TLSIn
		verify config.OnOff
		want   string
	}{
		{"unset", config.TLSInDefault, config.On, "off"},
		{"off ignores verify", config.TLSInOff, config.On, "off"},
		{"preferred", config.TLSInPreferred, config.Off, "preferred"},
		{"preferred verify", config.TLSInPreferred, config.On, "preferred_verify"},
		{"required", config.TLSInRequired, config.UseDefault, "required"},
		{"required verify", config.TLSInRequired, config.On, "required_verify"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tlsChoice(tc.tls, tc.verify)
			if got != tc.want {
				t.Errorf("tlsChoice(%q, %q) = %q, want %q", tc.tls, tc.verify, got, tc.want)
			}
			if !slices.Contains(tlsValues, got) {
				t.Errorf("%q is not an item of the TLS list", got)
			}
		})
	}
}
