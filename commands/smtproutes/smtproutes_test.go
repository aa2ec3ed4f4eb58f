package smtproutes

import (
	"strings"
	"testing"

	"esash/config"
)

func TestRemoveHosts(t *testing.T) {
	hs := []config.RouteHost{{Host: "mx1.example.net"}, {Host: "mx2.example.net", Port: 2525}, {Host: "2001:db8::1", Port: 26}}
	tests := []struct {
		in, want, msg string
	}{
		{in: "1", want: "mx2.example.net:2525, [2001:db8::1]:26"},
		{in: "mx2.example.net", want: "mx1.example.net, [2001:db8::1]:26"},
		{in: "MX2.example.net:2525, [2001:db8::1]:26", want: "mx1.example.net"},
		{in: "mx2.example.net:2526", msg: `not "mx2.example.net:2526"`},
		{in: "4", msg: `not "4"`},
		{in: "1,2,3", msg: "at least one destination"},
	}
	for _, tc := range tests {
		got, msg := removeHosts(hs, tc.in)
		switch {
		case tc.msg != "" && !strings.Contains(msg, tc.msg):
			t.Errorf("removeHosts(%q) = %v, %q; want error %q", tc.in, got, msg, tc.msg)
		case tc.msg == "" && (msg != "" || config.FormatRouteHosts(got) != tc.want):
			t.Errorf("removeHosts(%q) = %q, %q; want %q", tc.in, config.FormatRouteHosts(got), msg, tc.want)
		}
	}
	if len(hs) != 3 || hs[0].Host != "mx1.example.net" {
		t.Error("removeHosts modified its input")
	}
}

func TestFormatRoutes(t *testing.T) {
	got := formatRoutes([]config.Route{
		{Domain: config.RouteAll, Hosts: []config.RouteHost{{Host: config.RouteUseDNS}}},
		{Domain: ".example.com", Hosts: []config.RouteHost{{Host: "127.0.0.2", Port: 2525, Priority: 1}}},
	})
	want := "Domain        Destinations\n" +
		"============  ============\n" +
		".example.com  127.0.0.2:2525/pri=1\n" +
		"ALL           USEDNS\n"
	if got != want {
		t.Errorf("formatRoutes =\n%s\nwant\n%s", got, want)
	}
	if formatRoutes(nil) != "There are no routes configured.\n" {
		t.Error("empty table")
	}
}
