package mta

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
	"esash/mtasts"
	"esash/tlsrpt"
)

// MTA-STS (RFC 8461) on delivery, the policy side of esash/mtasts.
//
// Which deliveries apply a policy: every delivery by MX, whether its
// domain has a destination entry or goes by DEFAULT, unless destconfig
// MTASTS exempts it (config.MTASTS.AppliesTo: Off exempts the domains
// without an entry, Exempt lists exempt entries). An SMTP route is the
// administrator's choice of host and never applies one. Per delivery
// attempt of a domain, the policy in force (mtasts.Cache.Get: at once
// from memory when known; a domain never seen waits for its discovery at
// most the delivery timeout; a policy of max_age 0 is fetched for each
// delivery and applies to it) acts as follows:
//
//   - enforce: only the mail exchangers the policy's mx patterns match are
//     tried (the others are logged and skipped; none left defers the
//     recipients, 4.7.5), and under Required - Verify: STARTTLS is
//     mandatory and the certificate must chain to the CA lists and name
//     the MX host (§4.2: the MX name, not the domain). Failures defer and
//     are logged as any Required - Verify failure.
//   - testing: delivery as without a policy, except Preferred becomes
//     Preferred - Verify so the certificate is checked and an unverified
//     one is logged (delivery goes on); an MX outside the policy is logged
//     and used.
//
// Precedence of a destination entry's TLS setting (decision; RFC 8461
// §4.2, §5: a domain that publishes enforce requires validated TLS). An
// administrator who writes TLS "No" or "Preferred" for a domain usually
// wrote it before the domain published a policy, or for its other
// receivers; letting it silently undo the domain's published requirement
// would be the downgrade MTA-STS exists to prevent. So an enforce policy
// raises the entry's setting to Required - Verify, the strongest there is:
// an entry can be as strong, never weaker. An administrator who means the
// entry's own setting to govern says so explicitly: destconfig MTASTS
// lists the entry as exempt, and then no policy applies to it at all
// (neither its mx list nor its TLS requirement). tlsverify and destconfig
// DETAIL say which rule governs a domain (STSReport).
//   - none, no policy, a policy that could not be fetched (§5.1): as
//     without MTA-STS.
//
// DANE takes precedence (RFC 8461 §2): when DANE authenticates a target
// (dane.go), the TLSA records verify the certificate, not the CA lists.
//
// mail_logs lines (esash's, AsyncOS has no MTA-STS):
//
//	MID 5 MTA-STS policy of example.com: mode enforce, id 2026..., mx ...
//	MTA-STS: MX other.example.com of example.com does not match the policy; not used
//	MTA-STS testing: MX other.example.com of example.com does not match the policy; used
//	Delayed: DCID 0 MID 5 to RID [0] - 4.7.5 MTA-STS policy of example.com: no MX host matches ...
//	MTA-STS policy of example.com fetched: id ..., mode enforce, ...

// MTASTSOptions tune MTA-STS.
type MTASTSOptions struct {
	// Port is the policy servers' HTTPS port (443; tests use another).
	Port int
	// Refresh is how long a cached policy's TXT id is trusted before a
	// background check (1 h).
	Refresh time.Duration
	// ReportInterval is the TLS-RPT period (24 h, tlsrpt.go).
	ReportInterval time.Duration
	// AllowPrivate lets policy fetches and reports go to loopback and
	// private addresses (fetchguard.go): tests, labs.
	AllowPrivate bool
}

// stsState is the MTA's policy cache, opened at first use.
type stsState struct {
	once  sync.Once
	cache *mtasts.Cache
	err   error
	src   atomic.Pointer[stsSource] // of the last configuration used
	// TLS-RPT (tlsrpt.go), started with the cache.
	rec              *tlsrpt.Recorder
	rptStop, rptDone chan struct{}
	// rptCtx bounds the reports being sent: stopReports cancels it, so
	// an https: rua that never answers does not hold up Close.
	rptCtx    context.Context
	rptCancel context.CancelFunc
}

// stsSource discovers policies under one configuration: dnsconfig's
// resolver, the CA lists, the delivery interface.
type stsSource struct {
	cfg *config.Config
	s   *Server
	mtasts.Fetcher
}

func (x *stsSource) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return resolverFor(x.cfg).LookupTXT(ctx, name)
}

// dial resolves host through dnsconfig's resolver and connects, to a
// public address only (fetchguard.go), from the interface delivery would
// use for that address (outiface.go).
func (x *stsSource) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, _, err := resolverFor(x.cfg).LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		if !x.s.opts.MTASTS.AllowPrivate {
			if err := checkPublic(host, ip); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		oi, err := deliveryIface(x.cfg, x.cfg.Delivery.Interface, ip.String())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d := net.Dialer{LocalAddr: oi.local}
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return nil, errors.Join(errs...)
}

// stsCache opens the cache in DATA/mtasts once.
func (s *Server) stsCache() (*mtasts.Cache, error) {
	st := &s.sts
	st.once.Do(func() {
		st.cache, st.err = mtasts.Open(mtasts.Options{Dir: s.opts.DataDir + "/mtasts", Now: s.opts.Now,
			Refresh: s.opts.MTASTS.Refresh, Log: func(f string, a ...any) { s.log.Infof(f, a...) }})
		if st.err == nil {
			s.startReports() // tlsrpt.go
		}
	})
	return st.cache, st.err
}

// closeSTS stops the background refreshes (Close).
func (s *Server) closeSTS() {
	st := &s.sts
	st.once.Do(func() {}) // never opened: stays closed
	if st.cache != nil {
		st.cache.Close()
	}
	s.stopReports() // tlsrpt.go
}

// stsSourceFor is the source of oc's configuration, made once per
// configuration.
func (s *Server) stsSourceFor(oc *outCache) *stsSource {
	if x := s.sts.src.Load(); x != nil && x.cfg == oc.cfg {
		return x
	}
	x := &stsSource{cfg: oc.cfg, s: s}
	x.Fetcher = mtasts.Fetcher{Roots: stsRoots(oc), Port: s.opts.MTASTS.Port, Dial: x.dial}
	s.sts.src.Store(x)
	return x
}

// stsRoots are the CA lists that verify policy and report servers: never
// nil, which crypto/tls would read as "the system's" whatever certconfig
// says.
func stsRoots(oc *outCache) *x509.CertPool {
	if oc.tls.roots == nil {
		return x509.NewCertPool()
	}
	return oc.tls.roots
}

// stsDecision is what MTA-STS decided for one delivery of a domain.
type stsDecision struct {
	applies bool   // destconfig MTASTS selects the domain
	why     string // why it does not apply
	res     mtasts.Result
}

func (d stsDecision) mode() mtasts.Mode {
	if !d.applies || d.res.Policy == nil {
		return ""
	}
	return d.res.Policy.Mode
}

// stsWhyNot says why MTA-STS does not apply to mail to dom under the
// entry dc; "" when it does.
func stsWhyNot(oc *outCache, dc config.DestControl, dom string) string {
	if !oc.cfg.Destinations.MTASTS.AppliesTo(dc.Domain) {
		if dc.Domain == config.DefaultDomain {
			return "MTA-STS is off for domains without a destination entry (destconfig MTASTS)"
		}
		return "the destination entry " + dc.Domain + " is exempt from MTA-STS (destconfig MTASTS): its own TLS setting governs"
	}
	if r, ok := oc.routes.RouteFor(dom); ok && !r.UsesDNS() {
		return "mail to " + dom + " follows an SMTP route, not its MX"
	}
	return ""
}

// stsFor finds the policy in force for mail to dom under the entry dc;
// lookup false reads the cache only.
func (s *Server) stsFor(ctx context.Context, oc *outCache, dc config.DestControl, dom string, lookup bool) stsDecision {
	if why := stsWhyNot(oc, dc, dom); why != "" {
		return stsDecision{why: why}
	}
	c, err := s.stsCache()
	if err != nil {
		return stsDecision{why: err.Error()}
	}
	if !lookup {
		r, _ := c.Peek(dom)
		return stsDecision{applies: true, res: r}
	}
	return stsDecision{applies: true, res: c.Get(ctx, dom, s.stsSourceFor(oc))}
}

// stsTLS is the TLS setting a delivery under tls uses when a policy of
// mode applies: enforce requires Required - Verify, the strongest
// setting, whatever the entry says (see the precedence rule above);
// testing checks the certificate of a Preferred delivery so that a
// failure is logged, and changes nothing else.
func stsTLS(mode mtasts.Mode, tls config.TLSOut) config.TLSOut {
	switch {
	case mode == mtasts.ModeEnforce:
		return config.TLSOutRequiredVerify
	case mode == mtasts.ModeTesting && tls == config.TLSOutPreferred:
		return config.TLSOutPreferredVerify
	}
	return tls
}

// applySTS looks up and applies the policy for one delivery attempt of
// dom: the targets to try and the destination controls to use. ok false:
// the recipients have their outcome (deferred).
func (s *Server) applySTS(oc *outCache, dc config.DestControl, m queue.Meta, dom string, tg []target, rids []int, results []outcome) ([]target, config.DestControl, bool) {
	ctx, cancel := context.WithTimeout(s.dlv.ctx, s.opts.Delivery.Timeout)
	d := s.stsFor(ctx, oc, dc, dom, true)
	cancel()
	mode := d.mode()
	if d.applies && d.res.Policy == nil && d.res.Err != nil && !errors.Is(d.res.Err, mtasts.ErrNoRecord) {
		s.rptPolicyFailure(oc, dom, stsFetchResult(d.res.Err), d.res.Err.Error()) // tlsrpt.go
	}
	if mode == "" || mode == mtasts.ModeNone {
		return tg, dc, true
	}
	p := d.res.Policy
	s.log.Infof("MID %d MTA-STS policy of %s: id %s, %s", m.MID, dom, d.res.ID, p.String())
	if mode == mtasts.ModeTesting {
		for _, t := range tg {
			if !p.MatchMX(t.host) {
				s.log.Infof("MTA-STS testing: MX %s of %s does not match the policy; used", or(t.host, t.ip), dom)
			}
		}
		dc.TLS = stsTLS(mode, dc.TLS)
		return tg, dc, true
	}
	kept := tg[:0:0]
	for _, t := range tg {
		if !p.MatchMX(t.host) {
			s.log.Infof("MTA-STS: MX %s of %s does not match the policy; not used", or(t.host, t.ip), dom)
			s.tlsReport(oc, rptSession{dom: dom, t: t}, rptBroken, "MX host not in the MTA-STS policy")
			continue
		}
		t.stsMX = true
		kept = append(kept, t)
	}
	if len(kept) == 0 {
		why := fmt.Sprintf("MTA-STS policy of %s: no MX host matches (mx: %s)", dom, strings.Join(p.MX, " "))
		s.log.Infof("%s", maillog.Delayed(0, m.MID, ridsOf(m, rids), "4.7.5", why))
		setAll(results, rids, outcome{rcptDeferred, "4.7.5", why})
		return nil, dc, false
	}
	if was := dc.TLS; was != config.TLSOutRequiredVerify {
		dc.TLS = stsTLS(mode, was)
		s.log.Infof("MID %d MTA-STS policy of %s (enforce) requires TLS with a verified certificate: Required - Verify instead of %s (destination entry %s)", m.MID, dom, was.Label(), dc.Domain)
	}
	return kept, dc, true
}

// entryName names dc for the CLI.
func entryName(dc config.DestControl) string {
	if dc.Domain == config.DefaultDomain {
		return "default entry's"
	}
	return "destination entry " + dc.Domain + "'s"
}

// verifyDomain is the domain name a certificate may also match: none for
// a target an enforced policy selected (RFC 8461 §4.2: the MX host).
func verifyDomain(t target, dom string) string {
	if t.stsMX {
		return ""
	}
	return dom
}

// STSReport writes what MTA-STS does for mail to domain under the running
// configuration: whether it applies, the policy in force and where it
// came from (tlsverify, destconfig DETAIL). lookup makes it discover the
// policy when the cache has none (tlsverify); without it, only the cache
// is read.
func (s *Server) STSReport(ctx context.Context, domain string, lookup bool, emit func(string)) {
	oc := s.outConfig()
	if oc == nil {
		return
	}
	domain = config.NormalizeDomain(domain)
	dc := oc.dest.Lookup(domain)
	d := s.stsFor(ctx, oc, dc, domain, lookup)
	switch {
	case !d.applies:
		emit("MTA-STS: not applied: " + d.why + ".")
	case d.res.Policy == nil:
		emit("MTA-STS: no policy in force for " + domain + ": " + or(d.res.Note, "none cached") + ".")
	default:
		emit(fmt.Sprintf("MTA-STS: policy in force for %s: %s.", domain, d.res.Policy.String()))
		emit("MTA-STS: from " + d.res.Note + ".")
		if eff := stsTLS(d.res.Policy.Mode, dc.TLS); eff != dc.TLS && d.res.Policy.Mode == mtasts.ModeEnforce {
			emit("MTA-STS: the enforce policy requires TLS with a verified certificate: delivery uses Required - Verify, not the " + entryName(dc) + " TLS setting (" + dc.TLS.Label() + "); exempt the entry in destconfig MTASTS for its own setting to govern.")
		}
	}
}
