// Package web is the appliance's HTTPS service: on every interface with
// HTTPS enabled in the committed configuration it serves the certificate
// profile chosen in interfaceconfig (the leaf and its intermediates, never
// the root), and behind a login a read-only status page for the
// appliance's accounts. It is the seed guide's "verify TLS in a web
// browser": a browser that trusts the CA shows no warning when the chain
// is complete, and refuses the page when an intermediate is missing.
//
// Interfaces with HTTP enabled answer too: with a redirect to the HTTPS
// port when the interface asks for one, otherwise with a page that names
// the HTTPS address (the login never travels in clear).
//
// Certificates reach handshakes through tls.Config.GetCertificate reading
// an atomic runtime, which a commit swaps (Prepare, then activate or
// abort, as the store's PrepareFunc asks): the next handshake serves the
// new chain, connections already open keep theirs.
//
// The package reads the configuration (config), mail_logs (maillog) and
// certificates (pki); accounts and passwords are package accounts', the
// one SSH and the shell use, so passwords are verified in one place only.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"esash/accounts"
	"esash/config"
)

// Revision describes the committed configuration the status page shows.
type Revision struct {
	Rev     uint64
	User    string
	Source  string // console, script, ssh:<ip>
	Comment string
	Time    time.Time
	// Config is that revision's configuration, which the page shows
	// (nil: the one the service runs). A commit activates the services
	// before it publishes the revision, so the running configuration may
	// be the next revision's: shown under this one's number and comment.
	Config *config.Config
}

// Options configure a Server.
type Options struct {
	// CheckPassword reports whether pw matches a stored password hash
	// (config.User.PasswordHash); an empty hash never matches. nil is
	// accounts.CheckPassword, the check of SSH and passwd; tests pass a
	// cheaper one.
	CheckPassword func(hash, pw string) bool
	// Revision describes the committed head; nil shows none.
	Revision func() Revision
	// LogDir is the directory holding mail_logs/ (the recent TLS
	// sessions); empty shows none.
	LogDir string
	// Log records logins, failures, throttling and listeners (never a
	// secret).
	Log func(format string, args ...any)
	// Access records each request answered (gui_logs): the client's
	// address, the method, the path (never the query: it may carry a
	// secret) and the status. nil records none.
	Access func(remote, method, path string, status int)
	// Now is the clock of sessions, the login limits and expiry.
	Now func() time.Time
	// Limits tune the failed-login back-off.
	Limits Limits
	// SessionIdle and SessionMax bound a login session (30 minutes idle,
	// 8 hours in all).
	SessionIdle, SessionMax time.Duration
	// TLSEvents is how many recent TLS lines of mail_logs the page lists
	// (50); TLSScan how many trailing lines are searched for them (20000).
	TLSEvents, TLSScan int
	// ACME (acme.go) hooks the daemon's ACME manager in: challenges
	// answered on these ports, and its state on the status page.
	ACME ACMEHooks
}

// Server is the HTTPS (and HTTP) service of one appliance.
type Server struct {
	opts     Options
	rt       atomic.Pointer[runtime]
	http     *http.Server
	handler  http.Handler
	sessions *sessions
	lim      *limiter
	conns    connSet

	mu         sync.Mutex
	sockets    map[netip.AddrPort]*socket // serving
	configured map[netip.AddrPort]Endpoint
	pending    bool
	closed     bool
	served     sync.WaitGroup
	inflight   atomic.Int32 // requests being handled, for Close's error
}

// New builds the server; it listens once Start runs.
func New(o Options) (*Server, error) {
	if o.CheckPassword == nil {
		o.CheckPassword = accounts.CheckPassword
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 30 * time.Minute
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 8 * time.Hour
	}
	if o.TLSEvents <= 0 {
		o.TLSEvents = 50
	}
	if o.TLSScan <= 0 {
		o.TLSScan = 20000
	}
	s := &Server{
		opts:       o,
		sessions:   newSessions(o.Now, o.SessionIdle, o.SessionMax),
		lim:        newLimiter(o.Limits, o.Now),
		sockets:    map[netip.AddrPort]*socket{},
		configured: map[netip.AddrPort]Endpoint{},
		conns:      connSet{m: map[*trackedConn]struct{}{}},
	}
	s.rt.Store(&runtime{cfg: &config.Config{}, endpoints: map[netip.AddrPort]*endpoint{}})
	s.handler = s.routes()
	s.http = &http.Server{
		Handler:           s.counted(s.handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// Failed handshakes (a browser refusing the certificate) are
		// normal here; they are not worth a line on stderr each.
		ErrorLog:  log.New(io.Discard, "", 0),
		ConnState: s.conns.state,
	}
	return s, nil
}

// Handler serves the pages; tests may mount it on httptest servers. The
// endpoint of a request is found from its local address.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on every HTTP and HTTPS endpoint of cfg, the
// configuration the appliance boots with. An endpoint that cannot start (an
// address in use, a certificate that does not load) is reported and left
// down; the rest serve, and each later commit tries it again.
//
// Start may run again with a newer configuration: it listens where that
// one says, and nowhere else.
func (s *Server) Start(cfg *config.Config) error {
	rt, bad := build(cfg)
	var errs []error
	for ap, err := range bad {
		errs = append(errs, err)
		delete(rt.endpoints, ap)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("web: closed")
	}
	s.publishLocked(rt)
	for _, ap := range sortedAddrs(rt.endpoints) {
		if err := s.listenLocked(rt.endpoints[ap].Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	s.configured = map[netip.AddrPort]Endpoint{}
	for _, e := range Endpoints(cfg) {
		s.configured[e.Addr] = e
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

// publishLocked makes rt the running configuration: requests use it,
// connections of the endpoints it drops are retired, and the sockets it
// has no endpoint for are closed; it returns their addresses. s.mu held.
func (s *Server) publishLocked(rt *runtime) []netip.AddrPort {
	s.rt.Store(rt)
	s.conns.retire(rt)
	var stopped []netip.AddrPort
	for ap, sk := range s.sockets {
		if _, ok := rt.endpoints[ap]; !ok {
			sk.close()
			delete(s.sockets, ap)
			stopped = append(stopped, ap)
		}
	}
	return stopped
}

func (s *Server) listenLocked(e Endpoint) error {
	if _, ok := s.sockets[e.Addr]; ok {
		return nil
	}
	ln, err := listen(e)
	if err != nil {
		return err
	}
	s.serveLocked(e, ln)
	return nil
}

func listen(e Endpoint) (net.Listener, error) {
	ln, err := net.Listen("tcp", e.Addr.String())
	if err != nil {
		return nil, bindError(e, err)
	}
	return ln, nil
}

func (s *Server) serveLocked(e Endpoint, ln net.Listener) {
	sk := &socket{Listener: ln, s: s, addr: e.Addr}
	sk.tls = s.tlsConfig(e.Addr)
	s.sockets[e.Addr] = sk
	s.opts.Log("%s listening on %s (interface %s)", e.Service, e.Addr, e.Interface)
	s.served.Add(1)
	go func() {
		defer s.served.Done()
		s.http.Serve(sk)
	}()
}

// Prepare readies a configuration being committed, for the store's
// PrepareFunc: it loads the certificates of every HTTPS endpoint and binds
// the addresses the commit adds. It fails with the reason (a port in use,
// an address missing, a certificate that does not load) and changes
// nothing. An address the running configuration already has is never a
// reason to refuse, even when it could not be bound at boot.
//
// activate publishes the new runtime (the next handshake serves the new
// certificates), starts the new addresses and closes the removed ones;
// abort releases what was bound. Exactly one of them must be called.
func (s *Server) Prepare(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("web: prepare: %w", err)
	}
	rt, bad := build(cfg)
	if len(bad) > 0 {
		var errs []error
		for _, e := range bad {
			errs = append(errs, e)
		}
		sortErrors(errs)
		return nil, nil, errors.Join(errs...)
	}
	added, err := s.beginPrepare(rt)
	if err != nil {
		return nil, nil, err
	}
	bound, err := bindAdded(added)
	if err != nil {
		s.endPrepare()
		return nil, nil, err
	}
	var once sync.Once
	activate = func() {
		once.Do(func() { s.activatePrepared(rt, bound) })
	}
	abort = func() {
		once.Do(func() {
			closeListeners(bound)
			s.endPrepare()
		})
	}
	return activate, abort, nil
}

// beginPrepare marks a configuration as being applied, refusing when the
// server is shut down or another one is pending, and lists the endpoints of
// rt that are neither configured nor served now: the ones Prepare binds.
func (s *Server) beginPrepare(rt *runtime) (added []Endpoint, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("the HTTPS service is shut down")
	}
	if s.pending {
		return nil, errors.New("another configuration is being applied to the HTTPS service")
	}
	for _, ap := range sortedAddrs(rt.endpoints) {
		_, was := s.configured[ap]
		_, open := s.sockets[ap]
		if !was && !open {
			added = append(added, rt.endpoints[ap].Endpoint)
		}
	}
	s.pending = true
	return added, nil
}

// endPrepare clears the mark beginPrepare set, once the prepared
// configuration is dropped.
func (s *Server) endPrepare() {
	s.mu.Lock()
	s.pending = false
	s.mu.Unlock()
}

// bindAdded binds every added endpoint; on the first failure it closes
// what it bound and returns that failure, so nothing stays bound.
func bindAdded(added []Endpoint) (map[netip.AddrPort]net.Listener, error) {
	bound := map[netip.AddrPort]net.Listener{}
	for _, e := range added {
		ln, err := listen(e)
		if err != nil {
			closeListeners(bound)
			return nil, err
		}
		bound[e.Addr] = ln
	}
	return bound, nil
}

func closeListeners(bound map[netip.AddrPort]net.Listener) {
	for _, ln := range bound {
		ln.Close()
	}
}

// activatePrepared is Prepare's activate: it publishes rt, serves the
// addresses Prepare bound, closes the removed ones and retries those not
// yet listening. After Close it only releases what Prepare bound.
func (s *Server) activatePrepared(rt *runtime, bound map[netip.AddrPort]net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = false
	if s.closed {
		closeListeners(bound)
		return
	}
	for _, ap := range s.publishLocked(rt) {
		s.opts.Log("stopped listening on %s", ap)
	}
	for ap, ln := range bound {
		s.serveLocked(rt.endpoints[ap].Endpoint, ln)
	}
	for _, ap := range sortedAddrs(rt.endpoints) {
		if err := s.listenLocked(rt.endpoints[ap].Endpoint); err != nil {
			s.opts.Log("%v", err)
		}
	}
	s.configured = map[netip.AddrPort]Endpoint{}
	for ap, ep := range rt.endpoints {
		s.configured[ap] = ep.Endpoint
	}
}

// Addrs lists the addresses served now, as "https://ip:port" or
// "http://ip:port", sorted.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.rt.Load()
	var out []string
	for ap := range s.sockets {
		scheme := "http"
		if ep := rt.endpoints[ap]; ep != nil && ep.Service == HTTPS {
			scheme = "https"
		}
		out = append(out, scheme+"://"+ap.String())
	}
	sort.Strings(out)
	return out
}

// Close stops listening, lets the requests being handled finish and
// closes every connection. When ctx ends first it closes them anyway and
// returns an error naming the requests it cut.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for ap, sk := range s.sockets {
		sk.close()
		delete(s.sockets, ap)
	}
	s.mu.Unlock()
	err := s.http.Shutdown(ctx)
	var abandoned error
	if err != nil && ctx.Err() != nil {
		if n := s.inflight.Load(); n > 0 {
			abandoned = fmt.Errorf("web: close: abandoned %d %s: %w", n, plural(int(n), "request"), ctx.Err())
			s.opts.Log("%v", abandoned)
		}
		err = s.http.Close()
	}
	s.served.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, abandoned)
}

// counted counts the requests h is handling.
func (s *Server) counted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Add(-1)
		if s.opts.Access == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.opts.Access(r.RemoteAddr, r.Method, r.URL.Path, rec.status)
	})
}

// statusRecorder keeps the status a handler answered, for Access.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// socket is one listening address. Accept looks up what the address
// serves now, so a commit that turns an HTTP port into an HTTPS one (or
// changes the certificate) needs no new socket.
type socket struct {
	net.Listener
	s         *Server
	addr      netip.AddrPort
	tls       *tls.Config
	closeOnce sync.Once
}

func (sk *socket) Accept() (net.Conn, error) {
	for {
		c, err := sk.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ep := sk.s.rt.Load().endpoints[sk.addr]
		switch {
		case ep == nil:
			c.Close() // removed by a commit that is closing this socket
			continue
		case ep.Service == HTTPS:
			return tls.Server(sk.s.conns.track(c, sk.addr), sk.tls), nil
		}
		return c, nil
	}
}

func (sk *socket) close() {
	sk.closeOnce.Do(func() { sk.Listener.Close() })
}

// tlsConfig is the configuration of one address. Each handshake runs
// under the sslconfig GUI policy committed last (versions, suites) with
// the certificate the runtime has for the address. Session tickets are
// off (config.ListenerTLSConfig, as the MTA's) so that every connection is
// a full handshake: after a commit no client resumes a session made with
// the old certificate or policy.
func (s *Server) tlsConfig(ap netip.AddrPort) *tls.Config {
	return config.ListenerTLSConfig(func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		c := s.rt.Load().guiTLS.ServerConfig()
		c.NextProtos = []string{"http/1.1"}
		c.GetCertificate = s.certificate(ap)
		s.acmeTLS(c, hello) // acme.go: TLS-ALPN-01
		return c, nil
	})
}

// certificate serves the runtime's certificate for ap.
func (s *Server) certificate(ap netip.AddrPort) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		for {
			rt := s.rt.Load()
			ep := rt.endpoints[ap]
			if ep == nil || ep.cert == nil {
				return nil, fmt.Errorf("no HTTPS certificate for %s", ap)
			}
			tc, ok := hello.Conn.(*trackedConn)
			if !ok {
				return ep.cert, nil
			}
			// Recorded before the runtime is checked again: a commit
			// that swaps it after this check retires the connection;
			// one that swapped it before is seen here.
			tc.served(ep.cert)
			if s.rt.Load() == rt {
				return ep.cert, nil
			}
		}
	}
}

func sortedAddrs[V any](m map[netip.AddrPort]V) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(m))
	for ap := range m {
		out = append(out, ap)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Compare(out[j]) < 0 })
	return out
}

func sortErrors(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}
