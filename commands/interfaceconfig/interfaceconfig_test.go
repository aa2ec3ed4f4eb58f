package interfaceconfig

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"esash/config"
)

func TestParseNetmask(t *testing.T) {
	for in, want := range map[string]int{"24": 24, "8": 8, "32": 32, "255.255.255.0": 24, "255.0.0.0": 8,
		"255.255.255.255": 32, "0xffffff00": 24, "0XFFFF0000": 16, "255.255.254.0": 23} {
		if n, ok := parseNetmask(in); !ok || n != want {
			t.Errorf("parseNetmask(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, bad := range []string{"0", "33", "-1", "255.0.255.0", "0.0.0.0", "0xff00ff00", "0xffffff", "0xgg", "abc", "2001:db8::", "1.2.3"} {
		if n, ok := parseNetmask(bad); ok {
			t.Errorf("parseNetmask(%q) = %d, accepted", bad, n)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	c := Command{addrs: func() ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}, nil
	}}
	others := []config.Interface{{Name: "Management", IPv4: "127.0.0.1", IPv6: "::1"}}
	for _, tc := range []struct {
		addr, was string
		v4        bool
		want      string
	}{
		{"192.0.2.10", "", true, ""},
		{"127.0.0.2", "", true, ""}, // loopback: always on the machine
		{"127.255.0.9", "", true, ""},
		{"192.0.2.11", "", true, "is not configured on any network interface of this machine"},
		{"192.0.2.11", "192.0.2.11", true, ""}, // the address the interface already has
		{"127.0.0.1", "", true, `The IP address "127.0.0.1" is already configured on interface Management.`},
		{"0.1.2.3", "", true, "The IP cannot start with 0."},
		{"224.0.0.1", "", true, "cannot be an interface address"},
		{"255.255.255.255", "", true, "cannot be an interface address"},
		{"1.2.3", "", true, "The IP address must be 4 numbers"},
		{"2001:db8::10", "", true, "The IP address must be 4 numbers"},
		{"2001:db8::10", "", false, ""},
		{"::1", "", false, `already configured on interface Management`},
		{"2001:db8::11", "", false, "is not configured"},
		{"10.0.0.1", "", false, "The value must be an IPv6 address"},
		{"::ffff:10.0.0.1", "", false, "The value must be an IPv6 address"},
	} {
		got := c.checkAddr(tc.addr, tc.was, tc.v4, others)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("checkAddr(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
	broken := Command{addrs: func() ([]netip.Addr, error) { return nil, errors.New("no netlink") }}
	if got := broken.onMachine(netip.MustParseAddr("192.0.2.1")); !strings.Contains(got, "cannot be checked") {
		t.Errorf("onMachine with a failing lookup = %q", got)
	}
}

func TestMachineAddrs(t *testing.T) {
	as, err := machineAddrs()
	if err != nil {
		t.Fatalf("interface addresses: %v", err)
	}
	found := false
	for _, a := range as {
		found = found || a.IsLoopback()
	}
	if !found {
		t.Logf("no loopback address among %v", as)
	}
}

func TestSubnetClash(t *testing.T) {
	others := []config.Interface{
		{Name: "Data1", IPv4: "192.0.2.1", PrefixLen: 24, Ethernet: "Data 1"},
		{Name: "Management", IPv4: "127.0.0.1", PrefixLen: 8},
	}
	in := config.Interface{Name: "New", IPv4: "192.0.2.2", PrefixLen: 24, Ethernet: "Data 2"}
	if msg := subnetClash(in, others); !strings.HasPrefix(msg, "IPs on the same subnet cannot be on different interfaces") {
		t.Errorf("same subnet, other port: %q", msg)
	}
	in.Ethernet = "Data 1"
	if msg := subnetClash(in, others); msg != "" {
		t.Errorf("same subnet, same port: %q", msg)
	}
	in = config.Interface{Name: "Lo", IPv4: "127.0.0.2", PrefixLen: 8, Ethernet: "Data 2"}
	if msg := subnetClash(in, others); msg != "" {
		t.Errorf("loopback: %q", msg)
	}
	in = config.Interface{Name: "V6", IPv4: "198.51.100.1", PrefixLen: 24, IPv6: "2001:db8::1", IPv6Prefix: 64, Ethernet: "Data 2"}
	others = append(others, config.Interface{Name: "V6b", IPv4: "203.0.113.1", PrefixLen: 24, IPv6: "2001:db8::2", IPv6Prefix: 64, Ethernet: "Data 1"})
	if msg := subnetClash(in, others); msg == "" {
		t.Error("IPv6 subnet on two ports accepted")
	}
	// An empty port is the Management port (an EDIT keeps it empty).
	others = []config.Interface{{Name: "Mgmt2", IPv4: "192.0.2.1", PrefixLen: 24, Ethernet: "Management"}}
	in = config.Interface{Name: "Management", IPv4: "192.0.2.2", PrefixLen: 24}
	if msg := subnetClash(in, others); msg != "" {
		t.Errorf("same subnet, both on Management, one by the empty default: %q", msg)
	}
}
