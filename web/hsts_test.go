package web

import (
	"net/http"
	"net/url"
	"testing"

	"esash/config"
)

// TestHSTS (issue 12, item 11): every HTTPS response carries
// Strict-Transport-Security (pages, the style sheet, a refused form, a
// 404), and plain HTTP never does (RFC 6797 section 7.2: browsers ignore
// it there, and it would promise what the port does not keep).
func TestHSTS(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	cfg.Interfaces[0].HTTP = config.Service{Enabled: true, Port: 8080}
	newServer(t, cfg, Options{})
	c := client(t, ip, p.pool())
	const want = "max-age=31536000"
	for _, u := range []string{"https://esa.test:8443/", "https://esa.test:8443/login", "https://esa.test:8443/style.css", "https://esa.test:8443/nothing-here"} {
		resp, _ := get(t, c, u)
		if got := resp.Header.Get("Strict-Transport-Security"); got != want {
			t.Errorf("GET %s: %d, Strict-Transport-Security %q, want %q", u, resp.StatusCode, got, want)
		}
	}
	resp, err := c.PostForm("https://esa.test:8443/login", url.Values{"username": {"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != want {
		t.Errorf("refused POST: %d, Strict-Transport-Security %q", resp.StatusCode, got)
	}
	resp, _ = get(t, c, "http://esa.test:8080/")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Strict-Transport-Security") != "" {
		t.Errorf("plain HTTP: %d, Strict-Transport-Security %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
}
