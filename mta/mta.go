// Package mta is the appliance's embedded MTA, inbound side: one go-smtp
// server per listener and mail flow policy, fed by the listener's socket
// after its host access table has classified each connection; STARTTLS
// with the listener's certificate profile; a durable queue; mail_logs in
// the AsyncOS format.
//
// Configuration reaches it through Prepare, shaped as the store's
// PrepareFunc: the new generation (certificates, HAT matchers, go-smtp
// servers, new listening sockets) is built off to the side while the old
// one serves; activate publishes it with an atomic pointer, abort throws it
// away. Boot uses the same path at start. Sessions keep the generation they
// began under until they end.
//
// The package never imports the store, the shell or the commands.
package mta

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
	"esash/pki"
)

// Resolver is the DNS the MTA asks for reverse names; *net.Resolver is one.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Options configure an MTA.
type Options struct {
	// DataDir holds queue/ and counters/ (the ICID and MID marks).
	DataDir string
	// LogDir holds mail_logs/; default DataDir/logs.
	LogDir string
	// Now is the clock of the log lines and Received headers.
	Now func() time.Time
	// Resolver answers reverse DNS; nil is dnsconfig's resolver (dns.go).
	Resolver Resolver
	// DNSTimeout bounds the reverse lookup of a new connection; 0 is
	// dnsconfig's reverse-DNS timeout.
	DNSTimeout time.Duration
	// ReadTimeout is the wait for each read of a client's input (5 min;
	// shorter under load, see slow.go), so also for each command, for
	// progress inside a message and for the STARTTLS handshake;
	// WriteTimeout bounds each reply (1 min).
	ReadTimeout, WriteTimeout time.Duration
	// SystemRoots are the system CAs a client certificate may chain to;
	// nil loads the system pool.
	SystemRoots func() (*x509.CertPool, error)
	// PerMessageSync makes the queue sync after every message instead of
	// once per batch (benchmarks compare the two).
	PerMessageSync bool
	// QueueBeforeSync is a fault injection point for tests.
	QueueBeforeSync func() error
	// QueueCommitDelay is how long the queue's writer waits for messages
	// of other open mail transactions before a sync (queue.Options
	// CommitDelay); 0 means defaultCommitDelay, negative none.
	QueueCommitDelay time.Duration
	// ErrorLog receives internal errors; nil writes them to mail_logs.
	ErrorLog func(format string, args ...any)
	// Delivery tunes the outbound delivery engine (deliver.go).
	Delivery DeliveryOptions
	// MTASTS tunes MTA-STS (mtasts.go).
	MTASTS MTASTSOptions
}

// Server is the MTA.
type Server struct {
	opts  Options
	log   *maillog.Log
	icids *maillog.Counter
	mids  *maillog.Counter
	queue *queue.Queue
	spool string // messages over spillAt while they arrive
	rt    atomic.Pointer[generation]
	rdns  *rdnsCache
	dlv   delivery
	sts   stsState // MTA-STS policy cache (mtasts.go)

	sessions sessions // accepted connections not yet closed, of every generation (sessions.go)
	// transactions counts the mail transactions open (MAIL accepted,
	// the message not yet handed to the queue): the queue's commit delay
	// waits for them (queue.Options.Siblings).
	transactions atomic.Int64
	global       globalLimits // listenerconfig SETUP's shared limits (global.go)
	crls         crlStore     // certconfig CRL, kept fresh (crl.go)
	// retiring counts the goroutines that shut down replaced generations
	// once their sessions end; stop cuts their wait short when Close
	// gives up (cancelStop).
	retiring   sync.WaitGroup
	stop       context.Context
	cancelStop context.CancelFunc

	mu      sync.Mutex // guards everything below
	sockets map[string]*socket
	counts  map[string]*connCounts // per listener name, shared by its sockets (countsOf)
	pending bool
	closed  bool
	loops   sync.WaitGroup
	genSeq  int // number of the last generation activated
}

// generation is one immutable generation of the MTA's configuration.
type generation struct {
	num       int // 1 for the one Boot activates, then one per commit
	cfg       *config.Config
	inTLS     config.TLSPolicy // sslconfig INBOUND
	listeners map[string]*lrt  // by listening address
	down      map[string]string
	// down: address -> why its listener does not run (boot, or a later
	// commit that left it as it was); such an address failing again does
	// not refuse a commit that did not introduce it.
}

// lrt is one listener in one configuration generation.
type lrt struct {
	srv      *Server
	gen      *generation // the generation this listener belongs to
	l        config.Listener
	iface    config.Interface
	ip       netip.Addr // one of the interface's addresses (IPv4, IPv6)
	addr     string
	hostname string
	cert     *tls.Certificate
	roots    *x509.CertPool // for "verify client certificate"
	hat      hatMatcher
	servers  map[string]*smtpServer // by policy name ("" = fallback)
	limits   sessionLimits          // slow clients (slow.go)
}

type smtpServer struct {
	s      *smtp.Server
	ln     *chanListener
	served chan struct{} // set by start, closed when Serve has returned
}

// New opens the MTA's queue, counters and log. It serves nothing until
// Boot or a prepared configuration is activated.
// mailLogWriteBehind is how late a mail_logs line may reach its file
// (maillog's write-behind): a message's four to six lines in three
// events cost one write(2) each otherwise, a fifth of the CPU a message
// costs at 5,000 messages/s. The daemon's own readers (tail, grep, the web
// UI) see every line at once.
const mailLogWriteBehind = 2 * time.Millisecond

func New(opts Options) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("mta: no data directory")
	}
	if opts.LogDir == "" {
		opts.LogDir = filepath.Join(opts.DataDir, "logs")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = 5 * time.Minute
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = time.Minute
	}
	if opts.SystemRoots == nil {
		opts.SystemRoots = pki.SystemRoots
	}
	s := &Server{opts: opts, sockets: map[string]*socket{}}
	s.stop, s.cancelStop = context.WithCancel(context.Background())
	s.deliveryDefaults()
	s.rdns = newRDNSCache(s.reverseDNS)
	var err error
	if s.log, err = maillog.Open(opts.LogDir, "mail_logs", "mail", maillog.Options{Now: opts.Now, WriteBehind: mailLogWriteBehind}); err != nil {
		return nil, fmt.Errorf("mta: %w", err)
	}
	fail := func(err error) (*Server, error) {
		s.closeStores()
		return nil, fmt.Errorf("mta: %w", err)
	}
	cdir := filepath.Join(opts.DataDir, "counters")
	if err := os.MkdirAll(cdir, 0o700); err != nil {
		return fail(err)
	}
	if s.icids, err = maillog.OpenCounter(filepath.Join(cdir, "icid"), 0); err != nil {
		return fail(err)
	}
	if s.mids, err = maillog.OpenCounter(filepath.Join(cdir, "mid"), 0); err != nil {
		return fail(err)
	}
	if s.dlv.dcids, err = maillog.OpenCounter(filepath.Join(cdir, "dcid"), 0); err != nil {
		return fail(err)
	}
	s.spool = spoolDir(opts.DataDir)
	if err := clearSpool(s.spool); err != nil {
		return fail(err)
	}
	if s.queue, err = queue.Open(filepath.Join(opts.DataDir, "queue"), queue.Options{Background: true,
		PerMessageSync: opts.PerMessageSync, BeforeSync: opts.QueueBeforeSync, Log: s.errorf,
		CommitDelay: commitDelay(opts.QueueCommitDelay), Siblings: s.openTransactions}); err != nil {
		return fail(err)
	}
	s.rt.Store(&generation{listeners: map[string]*lrt{}, down: map[string]string{}})
	// A small queue is loaded at once; a large one (a million messages
	// take seconds) goes on loading while the listeners accept mail and
	// the new messages are delivered (queue/load.go, issue 17).
	if s.queue.WaitLoaded(time.Second) {
		s.logQueueOpened()
	} else {
		s.log.Infof("Queue opening: the queued messages are loaded in the background; new mail is accepted")
		go func() {
			<-s.queue.Loaded()
			s.logQueueOpened()
			s.KickDelivery()
		}()
	}
	return s, nil
}

func (s *Server) logQueueOpened() {
	if err := s.queue.LoadErr(); err != nil {
		if !errors.Is(err, queue.ErrClosed) { // else shut down while loading
			s.log.Criticalf("Queue not loaded: %v", err)
		}
		return
	}
	n, b := s.queue.Len()
	s.log.Infof("Queue opened: %d messages, %d bytes", n, b)
}

func (s *Server) closeStores() {
	s.closeSTS() // mtasts.go
	if s.queue != nil {
		s.queue.Close()
	}
	if s.mids != nil {
		s.mids.Close()
	}
	if s.dlv.dcids != nil {
		s.dlv.dcids.Close()
	}
	if s.icids != nil {
		s.icids.Close()
	}
	if s.log != nil {
		s.log.Close()
	}
}

func (s *Server) errorf(format string, args ...any) {
	if s.opts.ErrorLog != nil {
		s.opts.ErrorLog(format, args...)
		return
	}
	s.log.Warningf(format, args...)
}

// Log is mail_logs, for the shell's tail.
func (s *Server) Log() *maillog.Log { return s.log }

// Queue is the message queue, for status commands.
func (s *Server) Queue() *queue.Queue { return s.queue }

// Listening lists the addresses served now, sorted.
func (s *Server) Listening() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for a := range s.sockets {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// Prepare readies cfg without disturbing what runs: it parses the
// certificates, compiles the host access tables, builds the go-smtp
// servers and binds the sockets of new listening addresses. It fails with
// the reason (port in use, address missing, bad certificate) and leaves the
// running configuration alone. activate publishes the new generation; abort
// releases what was prepared. Exactly one of them must be called. A ctx
// that ends while it binds sockets fails it with ctx's error.
func (s *Server) Prepare(ctx context.Context, cfg *config.Config) (activate, abort func(), err error) {
	p, err := s.prepare(ctx, cfg, false)
	if err != nil {
		return nil, nil, err
	}
	return p.activate, p.abort, nil
}

// Boot applies the committed configuration at start. Listeners that cannot
// start are reported in the error and left down; the others serve. A ctx
// already over, or ending while it binds, applies nothing.
func (s *Server) Boot(ctx context.Context, cfg *config.Config) error {
	p, err := s.prepare(ctx, cfg, true)
	if p == nil {
		return err
	}
	p.activate()
	return err
}

type prepared struct {
	s      *Server
	rt     *generation
	fresh  map[string]*socket // sockets bound for this configuration
	once   sync.Once
	closed bool
}

func (s *Server) prepare(ctx context.Context, cfg *config.Config, boot bool) (*prepared, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mta: prepare: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("the MTA is shut down")
	}
	if s.pending {
		return nil, errors.New("another configuration is being applied")
	}
	old := s.rt.Load()
	rt, err := s.build(cfg)
	if err != nil {
		return nil, err
	}
	p := &prepared{s: s, rt: rt, fresh: map[string]*socket{}}
	var bootErrs []error
	for _, addr := range sortedKeys(rt.listeners) {
		l := rt.listeners[addr]
		if _, ok := s.sockets[addr]; ok {
			continue
		}
		ln, err := listen(ctx, addr)
		if err := ctx.Err(); err != nil {
			if ln != nil {
				ln.Close()
			}
			p.release()
			return nil, fmt.Errorf("mta: prepare: %w", err)
		}
		if err == nil {
			p.fresh[addr] = newSocket(s, addr, ln, s.countsOf(l.l.Name))
			continue
		}
		reason := bindReason(l, err)
		_, wasDown := old.down[addr]
		_, wasUp := old.listeners[addr]
		if boot || wasDown && !wasUp {
			// Not this change's doing: keep it down, serve the rest.
			rt.down[addr] = reason
			delete(rt.listeners, addr)
			bootErrs = append(bootErrs, errors.New(reason))
			continue
		}
		p.release()
		return nil, errors.New(reason)
	}
	s.pending = true
	return p, errors.Join(bootErrs...)
}

// countsOf returns the connection counts of the listener named name,
// shared by its sockets. Called with s.mu held.
func (s *Server) countsOf(name string) *connCounts {
	if s.counts == nil {
		s.counts = map[string]*connCounts{}
	}
	c := s.counts[name]
	if c == nil {
		c = newConnCounts()
		c.global = &s.global
		s.counts[name] = c
	}
	return c
}

func bindReason(l *lrt, err error) string {
	var why string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		why = fmt.Sprintf("port %d on %s is already in use", l.l.Port, l.ip)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		why = fmt.Sprintf("address %s (interface %s) is not configured on this host", l.ip, l.iface.Name)
	case errors.Is(err, syscall.EACCES):
		why = fmt.Sprintf("no permission to listen on port %d", l.l.Port)
	default:
		why = err.Error()
	}
	return fmt.Sprintf("listener %s cannot listen on %s: %s", l.l.Name, l.addr, why)
}

func listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{}
	return lc.Listen(ctx, "tcp", addr)
}

// release closes the sockets bound for an abandoned configuration.
func (p *prepared) release() {
	for _, sk := range p.fresh {
		sk.ln.Close()
	}
}

func (p *prepared) abort() {
	p.once.Do(func() {
		p.s.mu.Lock()
		defer p.s.mu.Unlock()
		p.release()
		p.rt.shutdown(context.Background())
		p.s.pending = false
	})
}

func (p *prepared) activate() {
	p.once.Do(func() {
		s := p.s
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pending = false
		if s.closed {
			p.release()
			return
		}
		s.global.set(p.rt.cfg)
		s.applyCRLs(p.rt.cfg)
		s.genSeq++
		p.rt.num = s.genSeq
		for _, l := range p.rt.listeners {
			l.start()
		}
		old := s.rt.Swap(p.rt)
		for addr, sk := range p.fresh {
			s.sockets[addr] = sk
			s.loops.Add(1)
			go sk.serve()
		}
		for addr, sk := range s.sockets {
			if _, ok := p.rt.listeners[addr]; !ok {
				sk.close()
				delete(s.sockets, addr)
			}
		}
		// Sessions already open finish under the old generation.
		s.retire(old)
		s.startDelivery()
	})
}

// build compiles cfg into a generation, without touching sockets.
func (s *Server) build(cfg *config.Config) (*generation, error) {
	rt := &generation{cfg: cfg, listeners: map[string]*lrt{}, down: map[string]string{}}
	var err error
	if rt.inTLS, err = cfg.SSL.InboundPolicy(); err != nil {
		return nil, fmt.Errorf("ssl.inbound: %w", err)
	}
	if _, err := cfg.SSL.OutboundPolicy(); err != nil {
		return nil, fmt.Errorf("ssl.outbound: %w", err)
	}
	ifaces := map[string]config.Interface{}
	for _, in := range cfg.Interfaces {
		ifaces[in.Name] = in
	}
	certs := map[string]config.Certificate{}
	for _, c := range cfg.Certificates {
		certs[c.Name] = c
	}
	loaded := map[string]*tls.Certificate{}
	var roots *x509.CertPool
	for _, l := range cfg.Listeners {
		in, ok := ifaces[l.Interface]
		if !ok {
			return nil, fmt.Errorf("listener %s: interface %q does not exist", l.Name, l.Interface)
		}
		if l.Protocol != "" && l.Protocol != "SMTP" {
			return nil, fmt.Errorf("listener %s: protocol %s is not supported", l.Name, l.Protocol)
		}
		// A listener serves every address of its interface, as on
		// AsyncOS: IPv4, and IPv6 when the interface has one.
		var ips []netip.Addr
		if ip, err := netip.ParseAddr(in.IPv4); err == nil && ip.Is4() {
			ips = append(ips, ip)
		}
		if ip, err := netip.ParseAddr(in.IPv6); err == nil && ip.Is6() && !ip.Is4In6() {
			ips = append(ips, ip)
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("listener %s: interface %s has no address", l.Name, in.Name)
		}
		x := &lrt{srv: s, gen: rt, l: l, iface: in, hostname: in.Hostname, hat: newHAT(l), limits: newLimits(cfg, l, s.opts)}
		if x.hostname == "" {
			x.hostname = cfg.Hostname
		}
		if needsTLS(l) {
			ct, ok := certs[l.Certificate]
			if !ok {
				return nil, fmt.Errorf("listener %s: certificate profile %q does not exist", l.Name, l.Certificate)
			}
			if x.cert = loaded[ct.Name]; x.cert == nil {
				c, err := loadCertificate(ct)
				if err != nil {
					return nil, fmt.Errorf("listener %s: certificate profile %s: %w", l.Name, ct.Name, err)
				}
				loaded[ct.Name], x.cert = c, c
			}
			if needsClientVerify(l) {
				if roots == nil {
					var err error
					if roots, err = cfg.CAs.Pool(s.opts.SystemRoots); err != nil {
						return nil, fmt.Errorf("listener %s: %w", l.Name, err)
					}
				}
				x.roots = roots
			}
		}
		for _, ip := range ips {
			// One listener per address: its go-smtp servers hand sessions
			// to it, and it knows the address it serves.
			xa := *x
			xa.ip, xa.addr = ip, net.JoinHostPort(ip.String(), strconv.Itoa(l.Port))
			xa.servers = map[string]*smtpServer{"": xa.newServer(decision{Params: config.EffectiveParams(config.HATParams{}, l.DefaultPolicy)})}
			for _, p := range l.Policies {
				xa.servers[p.Name] = xa.newServer(decision{Policy: p.Name, Action: p.Action, Params: config.EffectiveParams(p.Params, l.DefaultPolicy)})
			}
			rt.listeners[xa.addr] = &xa
		}
	}
	return rt, nil
}

func needsTLS(l config.Listener) bool {
	if l.DefaultPolicy.TLS == config.TLSInPreferred || l.DefaultPolicy.TLS == config.TLSInRequired {
		return true
	}
	for _, p := range l.Policies {
		if t := p.Params.TLS; t == config.TLSInPreferred || t == config.TLSInRequired {
			return true
		}
	}
	return false
}

func needsClientVerify(l config.Listener) bool {
	if l.DefaultPolicy.VerifyClientCert.EqualBool(true) {
		return true
	}
	for _, p := range l.Policies {
		if p.Params.VerifyClientCert.EqualBool(true) {
			return true
		}
	}
	return false
}

// newServer makes the go-smtp server for one mail flow policy: its limits,
// its banner host name, and TLS only when the policy offers it (go-smtp
// advertises STARTTLS whenever TLSConfig is set).
func (x *lrt) newServer(d decision) *smtpServer {
	s := smtp.NewServer(backend{x})
	s.Domain = x.hostname
	if d.Params.BannerHostname != "" {
		s.Domain = d.Params.BannerHostname
	}
	s.MaxMessageBytes = d.Params.MaxMessageSize
	s.MaxRecipients = d.Params.MaxRcptsPerMsg
	// Read deadlines are the connection's own (mconn.Read, slow.go):
	// set before every read, shorter under load, bounded by the session
	// limits. go-smtp's would be overridden anyway.
	s.ReadTimeout = 0
	s.WriteTimeout = x.srv.opts.WriteTimeout
	s.ErrorLog = errorLogger{x.srv}
	s.EnableSMTPUTF8 = true
	if x.cert != nil && (d.Params.TLS == config.TLSInPreferred || d.Params.TLS == config.TLSInRequired) {
		verify := d.Params.VerifyClientCert.EqualBool(true)
		// The handshake runs entirely under handshakeConfig (the sslconfig
		// policy and certificate committed last); the listener's config
		// also makes go-smtp offer STARTTLS.
		s.TLSConfig = config.ListenerTLSConfig(func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			return x.srv.handshakeConfig(hello, verify)
		})
	}
	ln := newChanListener(&net.TCPAddr{})
	return &smtpServer{s: s, ln: ln}
}

func (x *lrt) start() {
	for _, ss := range x.servers {
		ss.served = make(chan struct{})
		go func(ss *smtpServer, served chan struct{}) {
			defer close(served)
			ss.s.Serve(ss.ln)
		}(ss, ss.served)
	}
}

// shutdown stops a generation's servers once their sessions have ended.
func (rt *generation) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	for _, x := range rt.listeners {
		for _, ss := range x.servers {
			wg.Add(1)
			go func(ss *smtpServer) {
				defer wg.Done()
				ss.ln.Close()
				// go-smtp's Serve adds to a WaitGroup per accepted
				// connection and Shutdown waits on it: a Shutdown racing
				// the last Accept is a WaitGroup misuse. Once Serve has
				// returned no Add can follow.
				if ss.served != nil { // never started: nothing to wait for
					select {
					case <-ss.served:
					case <-ctx.Done():
					}
				}
				if err := ss.s.Shutdown(ctx); err != nil {
					ss.s.Close()
				}
			}(ss)
		}
	}
	wg.Wait()
}

// handshakeConfig is the TLS configuration of one STARTTLS handshake: the
// sslconfig INBOUND versions and suites and the certificate of the
// listener as configured now (a commit's new setting serves the next
// handshake), client verification from the connection's own policy.
func (s *Server) handshakeConfig(hello *tls.ClientHelloInfo, verify bool) (*tls.Config, error) {
	m := connOf(hello.Conn)
	if m == nil {
		return nil, errors.New("unknown connection")
	}
	m.sawHello.Store(true)
	cert := m.lst.cert
	rt := s.rt.Load()
	if cur := rt.listeners[m.sock.addr]; cur != nil && cur.cert != nil {
		cert = cur.cert
	}
	cfg := rt.inTLS.ServerConfig()
	cfg.Certificates = []tls.Certificate{*cert}
	roots := m.lst.roots
	if verify && roots != nil {
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if verify && roots != nil {
			if err := s.verifyClientRevocation(cs, roots); err != nil {
				r := err.Error()
				m.failReason.Store(&r)
				return err
			}
		}
		m.tlsState.Store(&cs)
		m.phase.Store(phaseTLS)
		s.log.Infof("%s", maillog.ICIDTLSSuccess(m.icid, versionName(cs.Version), cipherName(cs.CipherSuite)))
		return nil
	}
	return cfg, nil
}

// retire shuts g down once its sessions have ended, or when Close gives
// up on them. Called with s.mu held and s.closed false, so that no retire
// follows Close's wait.
func (s *Server) retire(g *generation) {
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		g.shutdown(s.stop)
	}()
}

// forceCloseWait bounds Close's wait for sessions to end once their
// connections are closed: they end at their next read or write.
const forceCloseWait = 30 * time.Second

// Close stops accepting and waits until the sessions of every generation
// have ended and the goroutines serving them have returned. When ctx ends
// first it closes the connections still open and returns an error naming
// them by generation. Then it closes the queue, counters and log.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for addr, sk := range s.sockets {
		sk.close()
		delete(s.sockets, addr)
	}
	s.retire(s.rt.Load())
	s.mu.Unlock()
	s.stopDelivery()
	s.closeCRLs()
	s.loops.Wait()
	err := s.drain(ctx)
	s.log.Infof("MTA stopped")
	s.closeStores()
	return err
}

// drain waits for every session and generation; see Close.
func (s *Server) drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.sessions.wait()
		s.retiring.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	cut := s.sessions.closeAll()
	s.cancelStop()
	select {
	case <-done:
	case <-time.After(forceCloseWait):
		return fmt.Errorf("mta: close: %v, still running %v after their connections were closed: %w", cut, forceCloseWait, ctx.Err())
	}
	if len(cut) == 0 {
		return nil
	}
	err := fmt.Errorf("mta: close: %v: %w", cut, ctx.Err())
	s.errorf("%v", err)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// defaultCommitDelay is how long the queue waits for the messages of
// other open transactions before syncing. 1 ms: at 50 senders of 4 KiB
// messages it raised throughput by 7 % (fewer, bigger syncs; issue 17,
// session 8), 2 ms was no better; a lone sender never waits.
const defaultCommitDelay = time.Millisecond

func commitDelay(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return defaultCommitDelay
	}
	return d
}

// openTransactions is the number of mail transactions whose message is
// not yet handed to the queue.
func (s *Server) openTransactions() int { return int(s.transactions.Load()) }
