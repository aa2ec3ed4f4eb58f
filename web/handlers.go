package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"esash/accounts"
)

//go:embed templates/*.html templates/style.css
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(files, "templates/*.html"))

var styleCSS = func() []byte {
	b, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return b
}()

// Cookies. The __Host- prefix makes browsers insist on Secure, Path=/ and
// no Domain, so no other host or plain-HTTP page can plant or read them.
const (
	sessionCookie = "__Host-esash-session"
	loginCookie   = "__Host-esash-login" // the login form's anti-forgery token
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.status)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(styleCSS)
	})
	// Forms are posted from the appliance's own pages only: browsers say
	// where a request comes from (Sec-Fetch-Site, Origin), and a request
	// from another site is refused before any handler runs. The tokens in
	// the forms cover browsers that say nothing.
	cop := http.NewCrossOriginProtection()
	secured := cop.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.TLS == nil {
			if s.acmeHTTP(w, r) { // acme.go: HTTP-01 on the HTTP port
				return
			}
			s.plain(w, r)
			return
		}
		// HSTS on every HTTPS response, for a year; not on plain HTTP,
		// where browsers ignore it (RFC 6797 7.2). Not includeSubDomains:
		// names under the appliance's are not the appliance's to bind.
		h.Set("Strict-Transport-Security", "max-age=31536000")
		if s.mtaSTS(w, r) { // mtasts.go: the published MTA-STS policy
			return
		}
		secured.ServeHTTP(w, r)
	})
}

// endpointOf finds the endpoint a request arrived on.
func (s *Server) endpointOf(r *http.Request) (*endpoint, *runtime) {
	rt := s.rt.Load()
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
			return rt.endpoints[ap], rt
		}
	}
	return nil, rt
}

// plain answers on an HTTP port: a redirect to the interface's HTTPS port
// when it asks for one, otherwise a page naming it. Nothing behind the
// login is ever served in clear.
func (s *Server) plain(w http.ResponseWriter, r *http.Request) {
	ep, _ := s.endpointOf(r)
	var target string
	if ep != nil && ep.iface.HTTPS.Enabled && ep.iface.HTTPS.Port > 0 {
		target = httpsURL(r, ep)
	}
	if ep != nil && ep.iface.RedirectHTTP && target != "" {
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	s.render(w, "notice", noticeView{Title: "HTTPS only", Target: target})
}

// httpsURL is the request's URL on the interface's HTTPS port, under the
// name the browser used.
func httpsURL(r *http.Request, ep *endpoint) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if !validHost(host) {
		host = ep.Addr.Addr().String()
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + a.String() + "]"
	}
	if p := ep.iface.HTTPS.Port; p != 443 {
		host += ":" + strconv.Itoa(p)
	}
	path := r.URL.RequestURI()
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		path = "/"
	}
	return "https://" + host + path
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func (s *Server) render(w http.ResponseWriter, name string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.opts.Log("web page %s: %v", name, err)
	}
}

func (s *Server) currentSession(r *http.Request) (*session, string, *runtime) {
	rt := s.rt.Load()
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, "", rt
	}
	return s.sessions.get(c.Value, rt.cfg), c.Value, rt
}

type loginView struct {
	Hostname string
	Token    string
	User     string
	Error    string
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if sess, _, _ := s.currentSession(r); sess != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "", "")
}

// showLogin renders the form with a fresh anti-forgery token.
func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, code int, user, msg string) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/", MaxAge: 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	s.render(w, "login", loginView{Hostname: s.rt.Load().cfg.Hostname, Token: tok, User: user, Error: msg})
}

func clientSource(r *http.Request) (netip.Addr, netip.Prefix) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, netip.Prefix{}
	}
	a := ap.Addr().Unmap()
	return a, sourceOf(a)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("username"))
	pw := r.PostForm.Get("password")
	c, err := r.Cookie(loginCookie)
	if err != nil || !tokensEqual(c.Value, r.PostForm.Get("token")) {
		s.showLogin(w, r, http.StatusForbidden, user, "The login form expired. Please log in again.")
		return
	}
	if user == "" || pw == "" || len(user) > 64 || len(pw) > 1024 {
		s.showLogin(w, r, http.StatusUnauthorized, user, "Login failed: invalid username or passphrase.")
		return
	}
	addr, src := clientSource(r)
	if d := s.lim.wait(src, user); d > 0 {
		s.opts.Log("Web login for user %s from %s refused: too many failures, retry in %s", user, addr, roundUp(d))
		w.Header().Set("Retry-After", strconv.Itoa(int(roundUp(d)/time.Second)))
		s.showLogin(w, r, http.StatusTooManyRequests, user,
			fmt.Sprintf("Too many failed logins. Try again in %s.", roundUp(d)))
		return
	}
	// Bound the password checks running at once: bcrypt is meant to be
	// slow, and a flood of logins must not take the appliance's CPU.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	select {
	case s.lim.checks <- struct{}{}:
	case <-ctx.Done():
		http.Error(w, "The appliance is busy. Try again.", http.StatusServiceUnavailable)
		return
	}
	rt := s.rt.Load()
	u := accounts.FindUser(rt.cfg, user)
	hash := ""
	if u != nil && accounts.ValidRole(u.Role) {
		hash = u.PasswordHash
	}
	ok := s.opts.CheckPassword(hash, pw) // an unknown name costs what a known one does
	<-s.lim.checks
	if !ok {
		s.lim.fail(src, user)
		s.opts.Log("Web login failed for user %s from %s", user, addr)
		s.showLogin(w, r, http.StatusUnauthorized, user, "Login failed: invalid username or passphrase.")
		return
	}
	s.lim.succeed(user)
	if old, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.remove(old.Value)
	}
	tok, _ := s.sessions.create(u)
	s.opts.Log("The user %s successfully logged on from %s using an HTTPS connection.", user, addr)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/",
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return
	}
	sess, tok, _ := s.currentSession(r)
	if sess == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if !tokensEqual(sess.csrf, r.PostForm.Get("token")) {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	s.sessions.remove(tok)
	addr, _ := clientSource(r)
	s.opts.Log("The user %s logged out from %s (HTTPS).", sess.user, addr)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	sess, _, rt := s.currentSession(r)
	if sess == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	v := s.statusView(rt, sess)
	s.render(w, "status", v)
}

type noticeView struct {
	Title  string
	Target string
}
