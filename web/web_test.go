package web

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
	"esash/maillog"
)

// The chosen profile is served with its intermediate and without the
// root, TLS 1.2 at least, and a client trusting only the root accepts it.
func TestServesChosenChain(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	s := newServer(t, testConfig(t, ip, p, other), Options{})
	addr := addrPort(ip, 8443)
	if got := s.Addrs(); len(got) != 1 || got[0] != "https://"+addr {
		t.Fatalf("Addrs = %q", got)
	}
	chain, err := handshake(t, addr, p.pool())
	if err != nil {
		t.Fatalf("handshake with the full chain: %v", err)
	}
	if len(chain) != 2 || !chain[0].Equal(p.Leaf) || !chain[1].Equal(p.Inter) {
		t.Fatalf("served %d certificates, want leaf + intermediate (never the root)", len(chain))
	}
	// TLS 1.1 and below are refused.
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool(), ServerName: host, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	// No session tickets: every connection is a full handshake, so a
	// commit's new certificate is never hidden by a resumed session.
	c, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool(), ServerName: host,
		ClientSessionCache: tls.NewLRUClientSessionCache(4)})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// A commit swaps the certificate for the next handshake, and only at
// activate; abort leaves everything as it was.
func TestSwapOnCommit(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	s := newServer(t, cfg, Options{})
	addr := addrPort(ip, 8443)

	next := *cfg
	next.Interfaces = append([]config.Interface(nil), cfg.Interfaces...)
	next.Interfaces[0].HTTPSCert = "Other"
	activate, abort, err := s.Prepare(context.Background(), &next)
	if err != nil {
		t.Fatal(err)
	}
	if chain, err := handshake(t, addr, p.pool()); err != nil || !chain[0].Equal(p.Leaf) {
		t.Fatalf("before activate: %v", err)
	}
	// Only one configuration is prepared at a time.
	if _, _, err := s.Prepare(context.Background(), &next); err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("second Prepare: %v", err)
	}
	// A connection opened before the commit keeps its certificate.
	old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: p.pool(), ServerName: host})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	activate()
	abort() // after activate: a no-op
	chain, err := handshake(t, addr, other.pool())
	if err != nil {
		t.Fatalf("after activate: %v", err)
	}
	if !chain[0].Equal(other.Leaf) || len(chain) != 2 || !chain[1].Equal(other.Inter) {
		t.Fatal("the next handshake did not serve the new profile")
	}
	if !old.ConnectionState().PeerCertificates[0].Equal(p.Leaf) {
		t.Fatal("the open connection changed certificate")
	}

	// Abort: a new port is bound by Prepare and released, nothing swaps.
	third := next
	third.Interfaces = append([]config.Interface(nil), next.Interfaces...)
	third.Interfaces[0].HTTPSCert = "Full"
	third.Interfaces[0].HTTP = config.Service{Enabled: true, Port: 8080}
	_, abort, err = s.Prepare(context.Background(), &third)
	if err != nil {
		t.Fatal(err)
	}
	if ln, err := net.Listen("tcp", addrPort(ip, 8080)); err == nil {
		ln.Close()
		t.Fatal("Prepare did not bind the new HTTP port")
	}
	abort()
	if ln, err := net.Listen("tcp", addrPort(ip, 8080)); err != nil {
		t.Fatalf("abort did not release the HTTP port: %v", err)
	} else {
		ln.Close()
	}
	if chain, err := handshake(t, addr, other.pool()); err != nil || !chain[0].Equal(other.Leaf) {
		t.Fatalf("after abort: %v", err)
	}
}

// A commit that adds a port another process holds is refused with the
// reason; a port the running configuration has is never a reason.
func TestPrepareRefusesTakenPort(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	s := newServer(t, cfg, Options{})
	ln, err := net.Listen("tcp", addrPort(ip, 9443))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	next := *cfg
	next.Interfaces = append([]config.Interface(nil), cfg.Interfaces...)
	next.Interfaces[0].HTTPS.Port = 9443
	_, _, err = s.Prepare(context.Background(), &next)
	if err == nil || !strings.Contains(err.Error(), "HTTPS on interface Management cannot listen on "+addrPort(ip, 9443)+": port 9443 on "+ip+" is already in use") {
		t.Fatalf("Prepare = %v", err)
	}
	// Nothing changed, and the next commit may go on.
	if _, err := handshake(t, addrPort(ip, 8443), p.pool()); err != nil {
		t.Fatal(err)
	}
	next.Interfaces[0].HTTPS.Port = 8443
	next.Hostname = "renamed.test"
	act, _, err := s.Prepare(context.Background(), &next)
	if err != nil {
		t.Fatalf("a commit keeping the running port: %v", err)
	}
	act()

	// A profile that does not load fails the commit too.
	bad := next
	bad.Certificates = append([]config.Certificate(nil), next.Certificates...)
	bad.Certificates[0].KeyPEM = other.LeafKeyPEM
	if _, _, err := s.Prepare(context.Background(), &bad); err == nil || !strings.Contains(err.Error(), "HTTPS on interface Management: certificate profile Full") {
		t.Fatalf("Prepare with a key that does not match: %v", err)
	}
}

// At boot an address that cannot be bound is reported and skipped; a
// later commit binds it.
func TestStartSkipsTakenPort(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	cfg.Interfaces[0].HTTP = config.Service{Enabled: true, Port: 8080}
	ln, err := net.Listen("tcp", addrPort(ip, 8443))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{CheckPassword: checkPW})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	err = s.Start(cfg)
	if err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Fatalf("Start = %v", err)
	}
	if got := s.Addrs(); len(got) != 1 || got[0] != "http://"+addrPort(ip, 8080) {
		t.Fatalf("Addrs = %q", got)
	}
	ln.Close()
	next := *cfg
	next.Hostname = "again.test"
	act, _, err := s.Prepare(context.Background(), &next)
	if err != nil {
		t.Fatal(err)
	}
	act()
	if _, err := handshake(t, addrPort(ip, 8443), p.pool()); err != nil {
		t.Fatalf("after the next commit: %v", err)
	}
}

// HTTP redirects to HTTPS when the interface says so; otherwise it only
// names the HTTPS address.
func TestHTTPRedirect(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	cfg.Interfaces[0].HTTP = config.Service{Enabled: true, Port: 8080}
	cfg.Interfaces[0].RedirectHTTP = true
	s := newServer(t, cfg, Options{})
	c := client(t, ip, p.pool())
	resp, err := c.Get("http://esa.test:8080/login?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://esa.test:8443/login?x=1" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// A Host header that is not a name falls back to the address.
	req, _ := http.NewRequest("GET", "http://"+addrPort(ip, 8080)+"/", nil)
	req.Host = "evil/<x>"
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != "https://"+addrPort(ip, 8443)+"/" {
		t.Fatalf("redirect with a bad Host: %q", got)
	}

	next := *cfg
	next.Interfaces = append([]config.Interface(nil), cfg.Interfaces...)
	next.Interfaces[0].RedirectHTTP = false
	act, _, err := s.Prepare(context.Background(), &next)
	if err != nil {
		t.Fatal(err)
	}
	act()
	resp, err = c.Get("http://esa.test:8080/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "https://esa.test:8443/") {
		t.Fatalf("without redirect: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "password") {
		t.Fatal("a login form was served over HTTP")
	}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var tokenRE = regexp.MustCompile(`name="token" value="([^"]+)"`)

// login fills the login form as a browser would.
func login(t *testing.T, c *http.Client, user, pw string) *http.Response {
	t.Helper()
	_, body := get(t, c, "https://esa.test:8443/login")
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no token in the login form:\n%s", body)
	}
	resp, err := c.PostForm("https://esa.test:8443/login", url.Values{"username": {user}, "password": {pw}, "token": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestLoginStatusLogout(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	cfg.Certificates = append(cfg.Certificates, selfSigned(t, "Demo", "esa.example.com"))
	logDir := t.TempDir()
	ml, err := maillog.Open(logDir, "mail_logs", "mail", maillog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ml.Infof("%s", maillog.NewICID(7, "Management", ip, "10.0.0.1", "", false))
	ml.Infof("%s", maillog.ICIDTLSSuccess(7, "TLSv1.3", "TLS_AES_128_GCM_SHA256"))
	ml.Infof("%s", maillog.ICIDTLSFailed(8, "remote error: tls: unknown certificate authority"))
	ml.Infof("%s", maillog.DCIDTLSSuccess(3, "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "partner.example"))
	ml.Infof("%s", maillog.DCIDTLSRequired(4, "192.0.2.1"))
	ml.Infof("%s", maillog.StartMID(1, 7))
	ml.Close()
	when := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
	newServer(t, cfg, Options{LogDir: logDir, Revision: func() Revision {
		return Revision{Rev: 42, User: "admin", Source: "ssh:127.0.0.1", Comment: "assign the CA-signed certificate", Time: when}
	}})
	c := client(t, ip, p.pool())

	resp, _ := get(t, c, "https://esa.test:8443/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("status without login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if r := login(t, c, "admin", "wrong-password"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	if r := login(t, c, "nopass", ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("account without a password: %d", r.StatusCode)
	}
	r := login(t, c, "admin", adminPW)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sc *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			sc = ck
		}
	}
	if sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" {
		t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict, Path=/", sc)
	}

	resp, body := get(t, c, "https://esa.test:8443/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"<h1>esa.test</h1>", "Logged in as <strong>admin</strong> (Administrator)",
		`<td id="revision">42</td>`, "by admin (ssh:127.0.0.1): assign the CA-signed certificate",
		// certificates: expiry, chain, uses
		"esa.test", "A Test Intermediate CA", "days left",
		"esa.test → A Test Intermediate CA<div", // served chain, no root
		"complete: esa.test → A Test Intermediate CA → A Test Root CA (trusted root)",
		"incomplete: no trusted root is reached from &#34;esa.test&#34;",
		"self-signed: browsers warn unless they trust this very certificate",
		"HTTPS on interface Management (port 8443)", "listener IncomingMail (inbound TLS)",
		"destination controls (outbound TLS)",
		// listeners and destinations
		addrPort(ip, 2525) + " (Management)", "ACCEPTED (ACCEPT): TLS Off",
		"<td>partner.example</td><td>Required - Verify</td>", `<td>other.example</td><td>No <span class="small">(default)</span>`,
		// mail_logs
		"2 successful and 2 failed TLS sessions",
		"ICID 7 TLS success protocol TLSv1.3 cipher TLS_AES_128_GCM_SHA256",
		"ICID 8 TLS failed: remote error: tls: unknown certificate authority",
		"DCID 3 TLS success protocol TLSv1.2", "DCID 4 IP 192.0.2.1 TLS was required",
		// settings stored for script compatibility, marked
		`<td class="mono">listeners[IncomingMail].default_policy.spam_check</td><td>on (not active on this appliance)</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(body, "Start MID") {
		t.Error("a line without TLS is listed")
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}

	// Logout needs the page's token; the session then ends.
	resp, err = c.PostForm("https://esa.test:8443/logout", url.Values{"token": {"forged"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", resp.StatusCode)
	}
	tok := tokenRE.FindStringSubmatch(body)[1]
	resp, err = c.PostForm("https://esa.test:8443/logout", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// Even the old cookie no longer opens the page.
	u, _ := url.Parse("https://esa.test:8443/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: sc.Value, Path: "/", Secure: true}})
	if resp, _ := get(t, c, "https://esa.test:8443/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status after logout: %d", resp.StatusCode)
	}
}

// Forms posted from another site, or without the form's token, are
// refused before any password is checked.
func TestLoginForgery(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	var checks atomic.Int32
	newServer(t, testConfig(t, ip, p, other), Options{CheckPassword: func(h, pw string) bool { checks.Add(1); return checkPW(h, pw) }})
	c := client(t, ip, p.pool())
	_, body := get(t, c, "https://esa.test:8443/login")
	tok := tokenRE.FindStringSubmatch(body)[1]
	form := url.Values{"username": {"admin"}, "password": {adminPW}, "token": {tok}}

	req, _ := http.NewRequest("POST", "https://esa.test:8443/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site login: %d", resp.StatusCode)
	}
	bad := url.Values{"username": {"admin"}, "password": {adminPW}, "token": {"not-the-token"}}
	resp, err = c.PostForm("https://esa.test:8443/login", bad)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the form's token: %d", resp.StatusCode)
	}
	if n := checks.Load(); n != 0 {
		t.Fatalf("%d passwords were checked for forged forms", n)
	}
}

// Failed logins back off per source and per account; a source with a
// clean record can still log in to a locked account.
func TestLoginBackoff(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	clock := &fakeClock{t: time.Now()}
	var mu sync.Mutex
	var logs []string
	newServer(t, testConfig(t, ip, p, other), Options{Now: clock.Now,
		Log:    func(f string, a ...any) { mu.Lock(); logs = append(logs, f); mu.Unlock() },
		Limits: Limits{SourceFree: 3, AccountFree: 5, Backoff: 10 * time.Second}})
	c := client(t, ip, p.pool())
	for i := 0; i < 4; i++ {
		if r := login(t, c, "admin", "guess"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.StatusCode)
		}
	}
	// Four failures from this source: even the right password waits.
	r := login(t, c, "admin", adminPW)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "10" {
		t.Fatalf("throttled login: %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clock.Advance(11 * time.Second)
	if r := login(t, c, "admin", "guess"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the back-off: %d", r.StatusCode)
	}
	if r := login(t, c, "admin", adminPW); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the back-off doubles: %d", r.StatusCode)
	}
	// Another address (a clean record) logs in to the same account.
	c2 := client(t, ip, p.pool())
	c2.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
		return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
	}
	if r := login(t, c2, "admin", adminPW); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login from a clean source: %d", r.StatusCode)
	}
	clock.Advance(21 * time.Second)
	if r := login(t, c, "admin", adminPW); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login once the back-off passed: %d", r.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(logs, "\n"), "too many failures") {
		t.Errorf("throttling was not logged: %q", logs)
	}
}

// A session ends when its account's password changes or the account goes.
func TestSessionFollowsAccounts(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	ip := testIP()
	cfg := testConfig(t, ip, p, other)
	s := newServer(t, cfg, Options{})
	admin, viewer := client(t, ip, p.pool()), client(t, ip, p.pool())
	login(t, admin, "admin", adminPW)
	login(t, viewer, "viewer", "viewer-pass-1")
	if resp, body := get(t, viewer, "https://esa.test:8443/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "(Read-Only Operator)") {
		t.Fatalf("read-only account: %d", resp.StatusCode)
	}
	next := *cfg
	next.Users = []config.User{cfg.Users[0]}
	next.Users[0].PasswordHash = hashPW(t, "new-password-1")
	act, _, err := s.Prepare(context.Background(), &next)
	if err != nil {
		t.Fatal(err)
	}
	act()
	for who, c := range map[string]*http.Client{"changed password": admin, "deleted account": viewer} {
		if resp, _ := get(t, c, "https://esa.test:8443/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: status page %d, want the login", who, resp.StatusCode)
		}
	}
	if r := login(t, admin, "admin", "new-password-1"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the new password: %d", r.StatusCode)
	}
}

// The handler works behind httptest too: the pages need no listener of
// ours, and a plain request there only names HTTPS.
func TestHandlerHTTPTest(t *testing.T) {
	p, other := newPKI(t, "A", host), newPKI(t, "B", host)
	s, err := New(Options{CheckPassword: checkPW, LogDir: filepath.Join(t.TempDir(), "none")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	cfg := testConfig(t, "127.0.0.1", p, other)
	cfg.Interfaces = nil // listen nowhere: httptest does
	if err := s.Start(cfg); err != nil {
		t.Fatal(err)
	}
	ts := newTLSTestServer(t, s.Handler())
	c := ts.Client()
	jar, _ := cookieJar()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := tokenRE.FindStringSubmatch(string(b))[1]
	resp, err = c.PostForm(ts.URL+"/login", url.Values{"username": {"admin"}, "password": {adminPW}, "token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = c.Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "mail_logs cannot be read") {
		t.Fatalf("status page: %d\n%s", resp.StatusCode, b)
	}
	plain := newPlainTestServer(t, s.Handler())
	resp, err = http.Get(plain.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "HTTPS only") {
		t.Fatalf("plain request: %d\n%s", resp.StatusCode, b)
	}
}
