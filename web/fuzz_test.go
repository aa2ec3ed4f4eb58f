package web

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"esash/config"
)

// The redirect target is built from the request's Host header and path,
// which any client chooses: it must always be an https URL on the
// interface's HTTPS port, with a host that is a name or an address and
// nothing else (no user info, no other path).
func FuzzRedirectTarget(f *testing.F) {
	for _, s := range []struct{ host, path string }{
		{"esa.test:8080", "/login?x=1"}, {"[::1]:8080", "/"}, {"evil/<x>", "//other.example/"},
		{"a@b", "/%2e%2e/"}, {"", "*"}, {"esa.test", "/\\evil"}, {"127.0.0.1", "/a b"},
	} {
		f.Add(s.host, s.path)
	}
	ep := &endpoint{Endpoint: Endpoint{Interface: "Management", Service: HTTP,
		Addr: netip.MustParseAddrPort("127.0.0.1:8080")},
		iface: config.Interface{HTTPS: config.Service{Enabled: true, Port: 8443}, RedirectHTTP: true}}
	f.Fuzz(func(t *testing.T, host, path string) {
		u := &url.URL{Path: path}
		if strings.HasPrefix(path, "/") {
			if p, err := url.ParseRequestURI(path); err == nil {
				u = p
			}
		}
		r := &http.Request{Host: host, URL: u}
		target := httpsURL(r, ep)
		got, err := url.Parse(target)
		if err != nil {
			t.Fatalf("target %q does not parse: %v", target, err)
		}
		if got.Scheme != "https" || got.User != nil || got.Port() != "8443" || got.Opaque != "" {
			t.Fatalf("target %q: want https://host:8443/...", target)
		}
		if !validHost(got.Hostname()) {
			t.Fatalf("target %q: host %q", target, got.Hostname())
		}
		if !strings.HasPrefix(target, "https://"+got.Host+"/") {
			t.Fatalf("target %q: the path must start right after the host", target)
		}
	})
}
