package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
	"esash/mtasts"
)

// TestMTASTSPolicyServed: the appliance's own policy is fetched by this
// repository's MTA-STS fetcher (the sending side's) over real TLS, with the
// certificate for mta-sts.<domain> trusted through a custom CA, and parses
// to the configured policy; Host matching ignores case; a host not
// configured (its name is in the certificate) gets 404, as does the policy
// path under the appliance's own name and any other path under the policy
// host; each request reaches the access log (gui_logs); a commit of a new
// policy is served at once.
func TestMTASTSPolicyServed(t *testing.T) {
	p := newPKI(t, "A", host, "mta-sts.example.com", "mta-sts.other.example")
	ip := testIP()
	cfg := testConfig(t, ip, p, newPKI(t, "B", host))
	cfg.MTASTSPolicy = config.MTASTSPolicy{Domains: []string{"example.com"}, Mode: "enforce",
		MX: []string{"mail.example.com", "*.mx.example.com"}, MaxAge: 604800}
	for _, pr := range config.ValidateChange(nil, cfg, time.Now()) {
		if strings.HasPrefix(pr.Path, "mta_sts_policy") {
			t.Fatalf("the commit check refuses a covered name: %v", pr)
		}
	}
	var mu sync.Mutex
	var access []string
	s := newServer(t, cfg, Options{Access: func(remote, method, path string, status int) {
		mu.Lock()
		access = append(access, method+" "+path+" "+http.StatusText(status))
		mu.Unlock()
	}})
	f := mtasts.Fetcher{Roots: p.pool(), Port: 8443, Timeout: 20 * time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		}}
	ctx := context.Background()
	want := mtasts.Policy{Mode: mtasts.ModeEnforce, MX: []string{"mail.example.com", "*.mx.example.com"}, MaxAge: 604800}
	for _, dom := range []string{"example.com", "Example.COM"} {
		got, err := f.Fetch(ctx, dom)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Fetch(%s) = %+v, %v; want %+v", dom, got, err, want)
		}
	}
	if _, err := f.Fetch(ctx, "other.example"); err == nil || !strings.Contains(err.Error(), "HTTP status 404") {
		t.Errorf("Fetch(other.example) = %v, want HTTP status 404", err)
	}

	c := client(t, ip, p.pool())
	resp, body := get(t, c, "https://mta-sts.example.com:8443/.well-known/mta-sts.txt")
	wantText := "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.mx.example.com\r\nmax_age: 604800\r\n"
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain" || body != wantText {
		t.Errorf("policy: %d %q %q, want 200 text/plain %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, wantText)
	}
	for _, u := range []string{"https://esa.test:8443/.well-known/mta-sts.txt", "https://mta-sts.example.com:8443/",
		"https://mta-sts.example.com:8443/login", "https://mta-sts.other.example:8443/.well-known/mta-sts.txt"} {
		if resp, _ := get(t, c, u); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", u, resp.StatusCode)
		}
	}
	mu.Lock()
	logged := strings.Join(access, "\n")
	mu.Unlock()
	if !strings.Contains(logged, "GET /.well-known/mta-sts.txt OK") || !strings.Contains(logged, "GET /.well-known/mta-sts.txt Not Found") {
		t.Errorf("access log lacks the policy requests:\n%s", logged)
	}

	next := *cfg
	next.MTASTSPolicy.Mode, next.MTASTSPolicy.MaxAge = "testing", 86400
	if err := s.Start(&next); err != nil {
		t.Fatal(err)
	}
	got, err := f.Fetch(ctx, "example.com")
	if err != nil || got.Mode != mtasts.ModeTesting || got.MaxAge != 86400 {
		t.Errorf("after the commit: %+v, %v; want testing, 86400", got, err)
	}
}

// TestMTASTSSNIMismatch: a request whose Host names a policy host over a
// handshake for another name is not the policy host's (404).
func TestMTASTSSNIMismatch(t *testing.T) {
	p := newPKI(t, "A", host, "mta-sts.example.com")
	ip := testIP()
	cfg := testConfig(t, ip, p, newPKI(t, "B", host))
	cfg.MTASTSPolicy = config.MTASTSPolicy{Domains: []string{"example.com"}, Mode: "testing", MX: []string{"mail.example.com"}, MaxAge: 86400}
	newServer(t, cfg, Options{})
	c := client(t, ip, p.pool())
	req, err := http.NewRequest("GET", "https://esa.test:8443/.well-known/mta-sts.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "mta-sts.example.com"
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("SNI esa.test, Host mta-sts.example.com: %d, want 404", resp.StatusCode)
	}
}
