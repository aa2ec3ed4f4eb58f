package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseRouteHost(t *testing.T) {
	tests := []struct {
		in   string
		want RouteHost
		out  string // String(); "" = in
		msg  string // part of the error
	}{
		{in: "mx.example.com", want: RouteHost{Host: "mx.example.com"}},
		{in: "MX.Example.COM.", want: RouteHost{Host: "mx.example.com"}, out: "mx.example.com"},
		{in: "mx.example.com:2525", want: RouteHost{Host: "mx.example.com", Port: 2525}},
		{in: "mx.example.com/pri=10", want: RouteHost{Host: "mx.example.com", Priority: 10}},
		{in: "mx.example.com:2525/PRI=3", want: RouteHost{Host: "mx.example.com", Port: 2525, Priority: 3}, out: "mx.example.com:2525/pri=3"},
		{in: "[mx.example.com]", want: RouteHost{Host: "mx.example.com", ARecords: true}},
		{in: "[mx.example.com]:26/pri=1", want: RouteHost{Host: "mx.example.com", Port: 26, Priority: 1, ARecords: true}},
		{in: "127.0.0.2:2525", want: RouteHost{Host: "127.0.0.2", Port: 2525}},
		{in: "[192.0.2.1]", want: RouteHost{Host: "192.0.2.1"}, out: "192.0.2.1"},
		{in: "2001:db8::1", want: RouteHost{Host: "2001:db8::1"}},
		{in: "[2001:db8::1]:2525", want: RouteHost{Host: "2001:db8::1", Port: 2525}},
		{in: "localhost", want: RouteHost{Host: "localhost"}},
		{in: " usedns ", want: RouteHost{Host: RouteUseDNS}, out: "USEDNS"},
		{in: "/dev/null", want: RouteHost{Host: RouteDiscard}},
		{in: "", msg: "You must enter a destination host."},
		{in: "mx.example.com:0", msg: "between 1 and 65535"},
		{in: "mx.example.com:http", msg: "between 1 and 65535"},
		{in: "mx.example.com/pri=70000", msg: "from 0 to 65535"},
		{in: "mx.example.com/pri=", msg: "from 0 to 65535"},
		{in: "[mx.example.com", msg: "no closing bracket"},
		{in: "[mx.example.com]x", msg: "only :port"},
		{in: "bad_host.example.com", msg: "valid characters"},
		{in: "fe80::1%eth0", msg: "zone"},
		{in: "12345", msg: "not be a number"},
		{in: "host.123", msg: "numeric label"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			h, msg := ParseRouteHost(tc.in)
			if tc.msg != "" {
				if !strings.Contains(msg, tc.msg) {
					t.Fatalf("ParseRouteHost(%q) = %+v, %q; want an error with %q", tc.in, h, msg, tc.msg)
				}
				return
			}
			if msg != "" || h != tc.want {
				t.Fatalf("ParseRouteHost(%q) = %+v, %q; want %+v", tc.in, h, msg, tc.want)
			}
			out := tc.out
			if out == "" {
				out = tc.in
			}
			if h.String() != out {
				t.Errorf("String() = %q, want %q", h.String(), out)
			}
		})
	}
}

func TestAddRouteHosts(t *testing.T) {
	base := []RouteHost{{Host: "mx1.example.com"}, {Host: "mx2.example.com", Port: 2525}}
	tests := []struct {
		add  string
		want string
		msg  string
	}{
		{add: "mx3.example.com/pri=5, 10.0.0.1:26", want: "mx1.example.com, mx2.example.com:2525, mx3.example.com/pri=5, 10.0.0.1:26"},
		{add: "mx1.example.com", msg: "already a destination"},
		{add: "mx1.example.com:26", msg: "The host mx1.example.com is already using the standard port."},
		{add: "MX2.example.com:27", msg: "The host mx2.example.com already has an alternate port (2525)."},
		{add: "USEDNS", msg: "must be the only destination"},
		{add: "", msg: "at least one"},
		{add: strings.Repeat("h.example.net,", 0) + hostsList(99), msg: "more than 100 destinations"},
	}
	for _, tc := range tests {
		t.Run(tc.add, func(t *testing.T) {
			got, msg := AddRouteHosts(base, tc.add)
			if tc.msg != "" {
				if !strings.Contains(msg, tc.msg) {
					t.Fatalf("AddRouteHosts(%q) = %v, %q; want %q", tc.add, got, msg, tc.msg)
				}
				return
			}
			if msg != "" || FormatRouteHosts(got) != tc.want {
				t.Fatalf("AddRouteHosts(%q) = %q, %q; want %q", tc.add, FormatRouteHosts(got), msg, tc.want)
			}
		})
	}
	if len(base) != 2 {
		t.Error("AddRouteHosts modified its input")
	}
}

func hostsList(n int) string {
	var hs []string
	for i := range n {
		hs = append(hs, fmt.Sprintf("h%d.example.net", i))
	}
	return strings.Join(hs, ",")
}

func routeTable() []Route {
	return []Route{
		{Domain: "example.com", Hosts: []RouteHost{{Host: "b.example.net", Priority: 20}, {Host: "a.example.net", Priority: 10}}},
		{Domain: ".example.com", Hosts: []RouteHost{{Host: "127.0.0.2", Port: 2525}}},
		{Domain: ".deep.example.com", Hosts: []RouteHost{{Host: RouteUseDNS}}},
		{Domain: "null.example.org", Hosts: []RouteHost{{Host: RouteDiscard}}},
	}
}

func TestRouteFor(t *testing.T) {
	withAll := append(routeTable(), Route{Domain: RouteAll, Hosts: []RouteHost{{Host: "smarthost.example.net"}}})
	tests := []struct {
		routes []Route
		domain string
		want   string // route domain; "" = none
	}{
		{routeTable(), "example.com", "example.com"},
		{routeTable(), "Example.COM.", "example.com"},
		{routeTable(), "mx.example.com", ".example.com"},
		{routeTable(), "a.deep.example.com", ".deep.example.com"},
		{routeTable(), "deep.example.com", ".example.com"},
		{routeTable(), "other.org", ""},
		{withAll, "other.org", RouteAll},
		{withAll, "mx.example.com", ".example.com"},
		{nil, "example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			r, ok := RouteFor(tc.routes, tc.domain)
			if ok != (tc.want != "") || r.Domain != tc.want {
				t.Fatalf("RouteFor(%q) = %q, %v; want %q", tc.domain, r.Domain, ok, tc.want)
			}
			xr, xok := NewRouteIndex(tc.routes).RouteFor(tc.domain)
			if xok != ok || xr.Domain != r.Domain || !reflect.DeepEqual(xr.Hosts, r.ByPriority()) {
				t.Errorf("RouteIndex.RouteFor(%q) = %+v, %v; scan %+v, %v", tc.domain, xr, xok, r, ok)
			}
		})
	}
	r, _ := RouteFor(routeTable(), "example.com")
	if got := FormatRouteHosts(r.ByPriority()); got != "a.example.net/pri=10, b.example.net/pri=20" {
		t.Errorf("ByPriority = %s", got)
	}
	if r, _ := RouteFor(routeTable(), "x.deep.example.com"); !r.UsesDNS() || r.Discards() {
		t.Errorf("UsesDNS/Discards wrong for %+v", r)
	}
	if r, _ := RouteFor(routeTable(), "null.example.org"); !r.Discards() {
		t.Errorf("Discards wrong for %+v", r)
	}
}

func TestRoutesFileRoundTrip(t *testing.T) {
	routes := append(routeTable(), Route{Domain: RouteAll, Hosts: []RouteHost{{Host: "mx.example.net", ARecords: true, Port: 26, Priority: 2}, {Host: "2001:db8::1", Port: 2525}}})
	file := FormatRoutes(routes)
	got, err := ParseRoutes(file)
	if err != nil {
		t.Fatalf("ParseRoutes(FormatRoutes) = %v\n%s", err, file)
	}
	if !reflect.DeepEqual(got, routes) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, routes)
	}
	if again := FormatRoutes(got); string(again) != string(file) {
		t.Errorf("second export differs:\n%s\n%s", again, file)
	}
}

func TestParseRoutes(t *testing.T) {
	got, err := ParseRoutes([]byte("# routes\n\nEXAMPLE.com  mx1.example.net/pri=1,mx2.example.net\nall\tUSEDNS\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Domain: "example.com", Hosts: []RouteHost{{Host: "mx1.example.net", Priority: 1}, {Host: "mx2.example.net"}}},
		{Domain: RouteAll, Hosts: []RouteHost{{Host: RouteUseDNS}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRoutes = %+v", got)
	}
	if got, err := ParseRoutes(nil); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty file = %v, %v", got, err)
	}
	tests := []struct {
		name, file string
		line       int
		msg        string
	}{
		{"domain only", "example.com\n", 1, "followed by its destination"},
		{"bad domain", "# c\nbad_d.example.com mx\n", 2, "valid characters"},
		{"duplicate", "a.example.com mx\nb.example.com mx\nA.example.com mx2\n", 3, "The value a.example.com is already in the routing table (line 1)."},
		{"bad host", "a.example.com mx:99999\n", 1, "between 1 and 65535"},
		{"usedns with others", "a.example.com USEDNS, mx\n", 1, "only destination"},
		{"alternate port", "a.example.com mx:25, mx:26\n", 1, "already has an alternate port (25)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRoutes([]byte(tc.file))
			var fe *FileLineError
			if !errors.As(err, &fe) || fe.Line != tc.line || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("ParseRoutes = %v; want line %d with %q", err, tc.line, tc.msg)
			}
		})
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add(FormatRoutes(routeTable()))
	f.Add([]byte("ALL [mx.example.com]:2525/pri=3, [2001:db8::2]:26\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		routes, err := ParseRoutes(data)
		if err != nil {
			var fe *FileLineError
			if !errors.As(err, &fe) || fe.Line < 1 {
				t.Fatalf("error %v is not a FileLineError with a line", err)
			}
			return
		}
		c := &checker{}
		c.routes(&Config{Routes: routes})
		c.routeHosts(&Config{Routes: routes})
		if len(c.ps) > 0 {
			t.Fatalf("accepted routes the commit check refuses: %v", c.ps)
		}
		again, err := ParseRoutes(FormatRoutes(routes))
		if err != nil || !reflect.DeepEqual(again, routes) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, again, routes)
		}
	})
}

func FuzzParseRouteHost(f *testing.F) {
	for _, s := range []string{"mx.example.com:2525/pri=10", "[mx.example.com]", "[::1]:25", "USEDNS", "/dev/null", "10.0.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, msg := ParseRouteHost(s)
		if msg != "" {
			return
		}
		again, msg := ParseRouteHost(h.String())
		if msg != "" || again != h {
			t.Fatalf("%q parsed to %+v, printed %q, parsed again to %+v (%s)", s, h, h.String(), again, msg)
		}
	})
}

func BenchmarkRouteFor(b *testing.B) {
	routes := make([]Route, 0, 10001)
	for i := range 10000 {
		d := fmt.Sprintf("d%05d.example.com", i)
		if i%2 == 1 {
			d = "." + d
		}
		routes = append(routes, Route{Domain: d, Hosts: []RouteHost{{Host: "127.0.0.2", Port: 2525 + i%10}}})
	}
	routes = append(routes, Route{Domain: RouteAll, Hosts: []RouteHost{{Host: RouteUseDNS}}})
	x := NewRouteIndex(routes)
	names := []string{"d04320.example.com", "mx.d07001.example.com", "unrouted.example.org"}
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			x.RouteFor(names[i%len(names)])
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			RouteFor(routes, names[i%len(names)])
		}
	})
}
