package config

import (
	"net/netip"
	"testing"
)

func TestSourceInterface(t *testing.T) {
	c := &Config{Interfaces: []Interface{
		{Name: "Data1", Ethernet: "Data 1", IPv4: "192.0.2.10", PrefixLen: 24},
		{Name: "Management", IPv4: "198.51.100.5", PrefixLen: 24, IPv6: "2001:db8::5", IPv6Prefix: 64},
		{Name: "Data2", Ethernet: "Data 2", IPv4: "192.0.2.130", PrefixLen: 25},
	}}
	routedVia := func(src string) func(netip.Addr) (netip.Addr, bool) {
		return func(netip.Addr) (netip.Addr, bool) { return netip.MustParseAddr(src), true }
	}
	for _, tc := range []struct {
		name, setting, dest string
		routed              func(netip.Addr) (netip.Addr, bool)
		wantIface, wantIP   string
		wantErr             string
	}{
		{"Auto: in a network", "Auto", "192.0.2.20", nil, "Data1", "192.0.2.10", ""},
		{"Auto: the longest prefix wins", "", "192.0.2.140", nil, "Data2", "192.0.2.130", ""},
		{"Auto: routed through Data1", "Auto", "203.0.113.9", routedVia("192.0.2.10"), "Data1", "192.0.2.10", ""},
		{"Auto: routed from an address of no interface", "Auto", "203.0.113.9", routedVia("10.9.9.9"), "Management", "198.51.100.5", ""},
		{"Auto: else Management", "Auto", "203.0.113.9", nil, "Management", "198.51.100.5", ""},
		{"Auto: IPv6 only Management has", "Auto", "2001:db8:1::1", nil, "Management", "2001:db8::5", ""},
		{"Auto: IPv4-mapped", "Auto", "::ffff:192.0.2.20", nil, "Data1", "192.0.2.10", ""},
		{"configured, outside its network", "Data2", "203.0.113.9", nil, "Data2", "192.0.2.130", ""},
		{"configured without IPv6", "Data1", "2001:db8:1::1", nil, "", "", "interface Data1 has no IPv6 address"},
		{"configured, deleted", "Gone", "192.0.2.20", nil, "", "", "interface Gone does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, a, err := c.SourceInterface(tc.setting, netip.MustParseAddr(tc.dest), tc.routed)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || in.Name != tc.wantIface || a.String() != tc.wantIP {
				t.Errorf("got %s %s %v, want %s %s", in.Name, a, err, tc.wantIface, tc.wantIP)
			}
		})
	}
	if _, _, err := (&Config{Interfaces: c.Interfaces[:1]}).SourceInterface("Auto", netip.MustParseAddr("2001:db8::1"), nil); err == nil || err.Error() != "no interface has an IPv6 address" {
		t.Errorf("IPv6 without any IPv6 interface: %v", err)
	}
}
