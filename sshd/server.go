// Package sshd is the appliance's SSH server: every interface with SSH
// enabled in the committed configuration accepts administrators, who get
// the same shell as the local console, in one of three ways:
//
//   - with a pty (ssh esa): the line editor, with history, completion,
//     window size and Ctrl-C;
//   - with a command (ssh esa 'cmd1; cmd2'): batch mode, the exit status
//     is the commands';
//   - with neither (ssh esa < script): script mode, each line echoed after
//     its prompt, stopping at the first error.
//
// The session itself runs in the function the daemon passes (Options.Run:
// the shell's), so this package links neither the shell nor its line
// editor. Accounts, passwords (bcrypt), keys and roles come from the
// running configuration (config.User) through package accounts, read at
// each login, so a commit changes who may log in at once. Listeners follow commits through Prepare, which the
// daemon composes with the other services' into the store's PrepareFunc.
//
// gliderlabs/ssh v0.3.8 carries the session protocol; authentication is
// done here on x/crypto/ssh's callbacks directly, because gliderlabs'
// handlers see the first user name a client sent rather than the one it
// logged in as, and record every key a client merely offers. Identity is
// taken only from the Permissions x/crypto returns for the method that
// actually succeeded (VerifiedPublicKeyCallback for keys) and checked again
// when the session opens.
//
// Administrators also reach the configuration directory over SFTP (the
// "sftp" subsystem) and the legacy scp protocol (an exec of `scp -t` or
// `scp -f`); files.go has the confinement. SFTP is github.com/pkg/sftp
// v1.13.12's request server with handlers of ours confined to that
// directory, not its root-jailed file server: a jail on the host's file
// system would still follow symbolic links inside it and offer every
// operation of a disk (mkdir, rename, partial writes), where the
// handlers offer only whole-file uploads through the shell's
// O_NOFOLLOW helpers. No maintained library serves legacy scp, so
// scp.go implements its server side (its header parser is fuzzed).
package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"esash/accounts"
	"esash/config"
)

// Options configure a Server.
type Options struct {
	// Run runs one logged-in session and returns its exit status: the
	// daemon passes the shell's, so that this package links neither the
	// shell nor its line editor.
	Run func(Session) (int, error)
	// DataDir holds the host keys.
	DataDir string
	// Head is the running configuration.
	Head func() *config.Config
	// Ctx is the context sessions run in: the daemon's life, not the
	// connection's, so that a commit a client started completes even when
	// it disconnects halfway.
	Ctx context.Context
	// Log records logins, failures and refusals (never a secret).
	Log func(format string, args ...any)
	// Signers are the host keys; nil loads or creates them in DataDir.
	Signers []gossh.Signer
	Limits  Limits
	// HandshakeTimeout bounds the time from connect to login (30s).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection without traffic for so long (30m;
	// negative: never).
	IdleTimeout time.Duration
	// MaxSessions is the number of sessions one connection may open (10).
	MaxSessions int
	// Now is the clock of the brute-force limits.
	Now func() time.Time
	// Files is the configuration directory for SFTP and scp; nil refuses
	// file transfer.
	Files ConfigFiles
	// MaxFileSize bounds an upload (DefaultMaxFileSize).
	MaxFileSize int64
}

// Server is the SSH service of one appliance.
type Server struct {
	opts    Options
	signers []gossh.Signer
	lim     *limiter
	srv     *ssh.Server

	mu         sync.Mutex
	listeners  map[string]net.Listener // address → serving listener
	configured map[string]Endpoint     // the running configuration's
	conns      map[*connState]struct{} // logged-in connections
	closed     bool
	served     sync.WaitGroup
	sessions   sync.WaitGroup // running shell sessions
	running    atomic.Int32   // their number, for Close's error
	uploads    uploadTracker  // uploads in progress (files.go)
}

// Endpoint is one address SSH is configured on.
type Endpoint struct {
	Interface string
	Addr      string // host:port
}

// Endpoints lists where cfg has SSH enabled.
func Endpoints(cfg *config.Config) []Endpoint {
	var out []Endpoint
	for _, in := range cfg.Interfaces {
		if !in.SSH.Enabled || in.SSH.Port <= 0 {
			continue
		}
		port := strconv.Itoa(in.SSH.Port)
		if in.IPv4 != "" {
			out = append(out, Endpoint{in.Name, net.JoinHostPort(in.IPv4, port)})
		}
		if in.IPv6 != "" {
			out = append(out, Endpoint{in.Name, net.JoinHostPort(in.IPv6, port)})
		}
	}
	return out
}

// New builds the server; it listens once Start runs.
func New(o Options) (*Server, error) {
	if o.Run == nil || o.Head == nil {
		return nil, errors.New("sshd: a session runner and the running configuration are required")
	}
	if o.Ctx == nil {
		o.Ctx = context.Background()
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 30 * time.Second
	}
	switch {
	case o.IdleTimeout == 0:
		o.IdleTimeout = 30 * time.Minute
	case o.IdleTimeout < 0:
		o.IdleTimeout = 0
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10
	}
	signers := o.Signers
	if signers == nil {
		var err error
		if signers, err = HostKeys(o.DataDir); err != nil {
			return nil, err
		}
	}
	s := &Server{opts: o, signers: signers, lim: newLimiter(o.Limits, o.Now),
		listeners: map[string]net.Listener{}, configured: map[string]Endpoint{},
		conns: map[*connState]struct{}{}}
	s.startUploads() // files.go: leftovers of the previous run
	s.srv = &ssh.Server{
		Version:              "esash",
		Handler:              s.handle,
		HostSigners:          toSigners(signers),
		ConnCallback:         s.accept,
		ServerConfigCallback: s.serverConfig,
		IdleTimeout:          o.IdleTimeout,
		ChannelHandlers:      map[string]ssh.ChannelHandler{"session": s.session},
		SubsystemHandlers:    map[string]ssh.SubsystemHandler{"sftp": s.handle},
		SessionRequestCallback: func(sess ssh.Session, kind string) bool {
			return kind == "shell" || kind == "exec" || kind == "subsystem" && sess.Subsystem() == "sftp"
		},
	}
	return s, nil
}

func toSigners(in []gossh.Signer) []ssh.Signer {
	out := make([]ssh.Signer, len(in))
	for i, s := range in {
		out[i] = s
	}
	return out
}

// HostKeys describes the server's host keys.
func (s *Server) HostKeys() []HostKeyInfo { return Describe(s.signers) }

// Start listens on every SSH endpoint of cfg, the configuration the
// appliance boots with. An address that cannot be bound is reported and
// skipped: the rest of the appliance runs, and each later commit tries it
// again.
//
// Start may run again with a newer configuration: it listens where that
// one says, and nowhere else.
func (s *Server) Start(cfg *config.Config) error {
	want := map[string]Endpoint{}
	for _, e := range Endpoints(cfg) {
		want[e.Addr] = e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, ln := range s.listeners {
		if _, ok := want[a]; !ok {
			ln.Close()
			delete(s.listeners, a)
		}
	}
	var errs []error
	for _, e := range Endpoints(cfg) {
		if err := s.listenLocked(e); err != nil {
			errs = append(errs, err)
		}
	}
	s.configured = want
	return errors.Join(errs...)
}

func (s *Server) listenLocked(e Endpoint) error {
	if s.closed {
		return errors.New("sshd: closed")
	}
	if _, ok := s.listeners[e.Addr]; ok {
		return nil
	}
	ln, err := net.Listen("tcp", e.Addr)
	if err != nil {
		return fmt.Errorf("SSH on interface %s: %w", e.Interface, err)
	}
	s.serveLocked(e, ln)
	return nil
}

func (s *Server) serveLocked(e Endpoint, ln net.Listener) {
	s.listeners[e.Addr] = ln
	s.opts.Log("SSH listening on %s (interface %s)", ln.Addr(), e.Interface)
	s.served.Add(1)
	go func() {
		defer s.served.Done()
		s.srv.Serve(ln)
	}()
}

// Addrs lists the addresses the server listens on.
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, ln := range s.listeners {
		out = append(out, ln.Addr().String())
	}
	sort.Strings(out)
	return out
}

// Prepare readies the listeners of a configuration being committed, for
// the store's PrepareFunc. An address the commit adds must be bindable or
// the commit is refused, so that a mistyped address cannot cut the
// appliance off; an address the running configuration already has is
// never a reason to refuse. Nothing changes until activate: then removed
// addresses stop listening (their sessions go on), added ones start, and
// connections of deleted accounts are closed.
func (s *Server) Prepare(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sshd: prepare: %w", err)
	}
	want := map[string]Endpoint{}
	for _, e := range Endpoints(cfg) {
		want[e.Addr] = e
	}
	s.mu.Lock()
	var added []Endpoint
	for a, e := range want {
		_, was := s.configured[a]
		_, open := s.listeners[a]
		if !was && !open {
			added = append(added, e)
		}
	}
	s.mu.Unlock()
	sort.Slice(added, func(i, j int) bool { return added[i].Addr < added[j].Addr })
	bound := map[string]net.Listener{}
	closeBound := func() {
		for _, ln := range bound {
			ln.Close()
		}
	}
	var lc net.ListenConfig
	for _, e := range added {
		ln, err := lc.Listen(ctx, "tcp", e.Addr)
		if err == nil && ctx.Err() != nil {
			ln.Close()
			err = ctx.Err()
		}
		if err != nil {
			closeBound()
			return nil, nil, fmt.Errorf("SSH on interface %s: %w", e.Interface, err)
		}
		bound[e.Addr] = ln
	}
	activate = func() {
		for _, c := range s.activate(cfg, want, bound) {
			c.conn.Close() // after the lock: its Close hook takes it
		}
	}
	return activate, closeBound, nil
}

// activate switches to the endpoints want, serving the sockets Prepare
// bound, and returns the connections of accounts cfg no longer has, for
// the caller to close.
func (s *Server) activate(cfg *config.Config, want map[string]Endpoint, bound map[string]net.Listener) (cut []*connState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		for _, ln := range bound {
			ln.Close()
		}
		return nil
	}
	for a, ln := range s.listeners {
		if _, ok := want[a]; !ok {
			ln.Close()
			delete(s.listeners, a)
			s.opts.Log("SSH stopped listening on %s", a)
		}
	}
	for a, ln := range bound {
		s.serveLocked(want[a], ln)
	}
	for _, e := range want {
		if err := s.listenLocked(e); err != nil {
			s.opts.Log("%v", err)
		}
	}
	s.configured = want
	for c := range s.conns {
		if accounts.FindUser(cfg, c.user) == nil {
			s.opts.Log("Closing the SSH connection of deleted user %s from %s", c.user, c.addr)
			cut = append(cut, c)
		}
	}
	return cut
}

// Close stops listening and closes every connection at once (a session
// must not outlive the store it commits to), then waits for the sessions
// to notice. When ctx ends first it returns an error naming the sessions
// still running.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	// Ours to close: the ssh server closes only the listeners its Serve
	// has registered, and a Serve just started may not have yet.
	for _, ln := range s.listeners {
		ln.Close()
	}
	s.listeners = map[string]net.Listener{}
	s.mu.Unlock()
	err := s.srv.Close()
	s.served.Wait()
	if errors.Is(err, ssh.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		err = nil // closed above
	}
	done := make(chan struct{})
	go func() {
		s.sessions.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
	}
	n := s.running.Load()
	if n == 0 {
		return err
	}
	noun := "sessions"
	if n == 1 {
		noun = "session"
	}
	abandoned := fmt.Errorf("sshd: close: abandoned %d shell %s: %w", n, noun, ctx.Err())
	s.opts.Log("%v", abandoned)
	return errors.Join(err, abandoned)
}

// connState is what the server knows about one connection.
type connState struct {
	addr    netip.Addr
	src     netip.Prefix
	conn    net.Conn
	release func() // frees the unauthenticated slot
	timer   *time.Timer

	authed     atomic.Bool
	user       string // set once authenticated
	pwFailures atomic.Int32
	keyFails   atomic.Int32
	sessions   atomic.Int32
	closeOnce  sync.Once
}

type stateKey struct{}

// trackedConn tells the server when a connection closes.
type trackedConn struct {
	net.Conn
	onClose func()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.onClose()
	return err
}

// accept admits a new TCP connection or drops it.
func (s *Server) accept(ctx ssh.Context, conn net.Conn) net.Conn {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return nil
	}
	st := &connState{addr: ap.Addr().Unmap(), src: sourceOf(ap.Addr()), conn: conn}
	release, ok := s.lim.admit(st.src, func() { conn.Close() })
	if !ok {
		return nil
	}
	st.release = release
	ctx.SetValue(stateKey{}, st)
	// gliderlabs moves the connection's deadline on every read when an
	// idle timeout is set, so a deadline cannot bound the handshake: a
	// timer closes a connection that has not logged in by then.
	st.timer = time.AfterFunc(s.opts.HandshakeTimeout, func() {
		if !st.authed.Load() {
			s.opts.Log("SSH login from %s timed out", st.addr)
			conn.Close()
		}
	})
	return &trackedConn{Conn: conn, onClose: func() { s.connClosed(st) }}
}

func (s *Server) connClosed(st *connState) {
	st.closeOnce.Do(func() {
		st.timer.Stop()
		st.release()
		if !st.authed.Load() && st.pwFailures.Load() == 0 && st.keyFails.Load() > 0 {
			// Only refused keys: one failure for the source, however many
			// keys it offered.
			s.logPenalty(st, "", s.lim.failSource(st.src), penalty{})
		}
		s.mu.Lock()
		delete(s.conns, st)
		s.mu.Unlock()
	})
}

var (
	errDenied     = errors.New("permission denied")
	errThrottled  = errors.New("too many failures: try later")
	errFirstStart = errors.New("password login is closed until an administrator password is set")
)

// Permission extensions naming who logged in, and how.
const (
	extUser   = "esash-user"
	extMethod = "esash-method"
	extKey    = "esash-key"
)

func (s *Server) serverConfig(ctx ssh.Context) *gossh.ServerConfig {
	st, _ := ctx.Value(stateKey{}).(*connState)
	if st == nil {
		// Every connection comes through accept; refuse anything else.
		return &gossh.ServerConfig{NoClientAuth: true,
			NoClientAuthCallback: func(gossh.ConnMetadata) (*gossh.Permissions, error) { return nil, errDenied }}
	}
	cfg := &gossh.ServerConfig{
		MaxAuthTries: s.lim.lim.MaxAuthTries,
		// gliderlabs sets NoClientAuth when none of its own handlers is
		// set; this callback keeps "none" from ever succeeding.
		NoClientAuth:         true,
		NoClientAuthCallback: func(gossh.ConnMetadata) (*gossh.Permissions, error) { return nil, errDenied },
		PasswordCallback:     func(c gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) { return s.password(st, c, pw) },
		PublicKeyCallback: func(c gossh.ConnMetadata, k gossh.PublicKey) (*gossh.Permissions, error) {
			return s.publicKey(st, c, k)
		},
		VerifiedPublicKeyCallback: func(c gossh.ConnMetadata, k gossh.PublicKey, _ *gossh.Permissions, _ string) (*gossh.Permissions, error) {
			return s.verifiedKey(c, k)
		},
		AuthLogCallback: func(c gossh.ConnMetadata, method string, err error) { s.authLog(st, c, method, err) },
		BannerCallback:  func(gossh.ConnMetadata) string { return s.banner() },
	}
	if s.lim.sourceShutOut(st.src) {
		// Without a password callback x/crypto offers public keys only:
		// the client is not even asked for a password it could not use,
		// and the administrator's key still logs in. Not logged: a
		// source could churn connections to fill the log.
		cfg.PasswordCallback = nil
	}
	return cfg
}

// banner explains, before login, why a fresh appliance refuses passwords.
func (s *Server) banner() string {
	if accounts.HasAdminCredential(s.opts.Head()) {
		return ""
	}
	return "This appliance has no administrator password yet: password login is closed.\r\n" +
		"Set one from the local console (esash, then passwd), or start the daemon\r\n" +
		"with esash serve --admin-key FILE.\r\n"
}

func (s *Server) password(st *connState, c gossh.ConnMetadata, pw []byte) (*gossh.Permissions, error) {
	user := c.User()
	if !s.lim.allowPassword(st.src, user) {
		st.pwFailures.Add(1)
		s.opts.Log("An authentication attempt by the user %s from %s was refused: too many failures", user, st.addr)
		return nil, errThrottled
	}
	head := s.opts.Head()
	if !accounts.HasAdminCredential(head) {
		accounts.CheckPassword("", string(pw))
		return nil, errFirstStart
	}
	hash := ""
	if u := accounts.FindUser(head, user); u != nil {
		hash = u.PasswordHash
	}
	if !accounts.CheckPassword(hash, string(pw)) {
		st.pwFailures.Add(1)
		src, acc := s.lim.failPassword(st.src, user)
		s.opts.Log("An authentication attempt by the user %s from %s failed", user, st.addr)
		s.logPenalty(st, user, src, acc)
		return nil, errDenied
	}
	s.lim.succeed(user)
	return &gossh.Permissions{Extensions: map[string]string{extUser: user, extMethod: "password"}}, nil
}

// logPenalty records when a failure shuts a source or an account out.
func (s *Server) logPenalty(st *connState, user string, src, acc penalty) {
	if src.backoff > 0 {
		s.opts.Log("Too many authentication failures from %s (%d): refusing it for %v", st.addr, src.failures, src.backoff)
	}
	if acc.backoff > 0 {
		s.opts.Log("Too many failed passwords for the user %s (%d): refusing them for %v from addresses that failed", user, acc.failures, acc.backoff)
	}
}

// authorizedKey returns the fingerprint of key when it is one of user's.
func authorizedKey(head *config.Config, user string, key gossh.PublicKey) (string, bool) {
	u := accounts.FindUser(head, user)
	if u == nil {
		return "", false
	}
	return accounts.AuthorizedKey(u, key)
}

// publicKey answers whether a key would do. It grants nothing: a client
// may offer keys it cannot use.
func (s *Server) publicKey(st *connState, c gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	if _, ok := authorizedKey(s.opts.Head(), c.User(), key); ok {
		return nil, nil
	}
	st.keyFails.Add(1)
	return nil, errDenied
}

// verifiedKey runs once the client has proved it holds the key: only now
// does the key name who logs in.
func (s *Server) verifiedKey(c gossh.ConnMetadata, key gossh.PublicKey) (*gossh.Permissions, error) {
	fp, ok := authorizedKey(s.opts.Head(), c.User(), key)
	if !ok {
		return nil, errDenied
	}
	return &gossh.Permissions{Extensions: map[string]string{extUser: c.User(), extMethod: "publickey", extKey: fp}}, nil
}

func (s *Server) authLog(st *connState, c gossh.ConnMetadata, method string, err error) {
	if err != nil {
		return
	}
	if st.authed.Swap(true) {
		return
	}
	st.timer.Stop()
	st.release()
	st.user = c.User()
	s.mu.Lock()
	s.conns[st] = struct{}{}
	s.mu.Unlock()
	s.opts.Log("The user %s successfully logged on from %s using an SSH connection (%s).", c.User(), st.addr, method)
}

// session opens a session channel, at most MaxSessions per connection.
func (s *Server) session(srv *ssh.Server, conn *gossh.ServerConn, ch gossh.NewChannel, ctx ssh.Context) {
	st, _ := ctx.Value(stateKey{}).(*connState)
	if st == nil || !st.authed.Load() {
		ch.Reject(gossh.Prohibited, "not logged in")
		return
	}
	if st.sessions.Add(1) > int32(s.opts.MaxSessions) {
		st.sessions.Add(-1)
		ch.Reject(gossh.ResourceShortage, "too many sessions on one connection")
		return
	}
	defer st.sessions.Add(-1)
	ssh.DefaultSessionHandler(srv, conn, ch, ctx)
}

// identity is who a session belongs to, from the Permissions of the
// method that succeeded, checked against the running configuration.
func (s *Server) identity(sess ssh.Session) (user string, role config.Role, err error) {
	sc, _ := sess.Context().Value(ssh.ContextKeyConn).(*gossh.ServerConn)
	if sc == nil || sc.Permissions == nil {
		return "", "", errDenied
	}
	ext := sc.Permissions.Extensions
	user = ext[extUser]
	if user == "" || user != sc.User() {
		return "", "", errDenied
	}
	head := s.opts.Head()
	u := accounts.FindUser(head, user)
	if u == nil {
		return "", "", accounts.ErrNoAccount
	}
	switch ext[extMethod] {
	case "password":
	case "publickey":
		if !accounts.HasKey(u, ext[extKey]) {
			return "", "", errors.New("your key is no longer authorized")
		}
	default:
		return "", "", errDenied
	}
	return user, u.Role, nil
}

// stdin is a session channel as a terminal's input: the line editor
// closes its input when it stops, but the channel must stay open for the
// exit status.
type stdin struct{ io.Reader }

func (stdin) Close() error { return nil }

// handle runs one session: a pty gets the line editor, a command runs in
// batch mode, anything else is a script. The exit status always goes back.
func (s *Server) handle(sess ssh.Session) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sess.Exit(255)
		return
	}
	s.sessions.Add(1)
	s.running.Add(1)
	s.mu.Unlock()
	defer s.sessions.Done()
	defer s.running.Add(-1)
	code := s.run(sess)
	sess.Exit(code)
}

func (s *Server) run(sess ssh.Session) int {
	user, role, err := s.identity(sess)
	if err != nil {
		fmt.Fprintf(sess.Stderr(), "esash: %v\n", err)
		return 255
	}
	addr := ""
	if ap, err := netip.ParseAddrPort(sess.RemoteAddr().String()); err == nil {
		addr = ap.Addr().Unmap().String()
	}
	if code, ok := s.transfer(sess, user, addr); ok {
		return code
	}
	c := Session{
		Ctx: s.opts.Ctx, Client: sess.Context(), User: user, Role: role, Source: "ssh:" + addr,
		Stdin: stdin{sess}, Stdout: sess, Stderr: sess.Stderr(),
	}
	if pty, winCh, isPty := sess.Pty(); isPty {
		t := newTerm(pty.Window)
		// gliderlabs delivers window changes on a channel with a buffer
		// of one and blocks its request loop until they are read: always
		// drain it, for the whole session.
		go func() {
			for w := range winCh {
				t.resize(w)
			}
		}()
		c.Terminal = true
		c.Width, c.Height, c.OnResize = t.width, t.height, t.onResize
		// With a pty, gliderlabs turns "\n" into "\r\n" on the channel;
		// errors share it so that they appear in order.
		c.Stderr = sess
	}
	if cmd := sess.RawCommand(); cmd != "" {
		c.Command = &cmd
	}
	code, err := s.opts.Run(c)
	if err != nil {
		fmt.Fprintf(c.Stderr, "esash: %v\n", err)
		return 1
	}
	return code
}

// term is a pty's window size.
type term struct {
	w, h atomic.Int32
	mu   sync.Mutex
	cbs  []func()
}

func newTerm(w ssh.Window) *term {
	t := &term{}
	t.w.Store(int32(w.Width))
	t.h.Store(int32(w.Height))
	return t
}

func (t *term) width() int {
	if w := int(t.w.Load()); w > 0 {
		return w
	}
	return 80
}

func (t *term) height() int {
	if h := int(t.h.Load()); h > 0 {
		return h
	}
	return 24
}

func (t *term) onResize(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cbs = append(t.cbs, f)
}

func (t *term) resize(w ssh.Window) {
	changed := t.w.Swap(int32(w.Width)) != int32(w.Width)
	t.h.Store(int32(w.Height))
	if !changed {
		return
	}
	t.mu.Lock()
	cbs := append([]func(){}, t.cbs...)
	t.mu.Unlock()
	for _, f := range cbs {
		f()
	}
}
