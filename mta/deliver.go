package mta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
)

// The delivery engine: a loop that takes due messages from the queue,
// delivers each recipient domain under its destination controls, records
// what is done (a recipients record after each domain, the queue's
// tombstone once no recipient is left, so a restart never delivers it
// again; a crash between a server's 250 and that record delivers those
// recipients again: at-least-once, at most the deliveries in flight, as
// Postfix), keeps what is deferred for a retry with back-off, and bounces
// what failed permanently or stayed longer than the maximum time in queue.
// A message is delivered by one worker at a time (the in-flight set), from
// its current queue record (see scanQueue).

// DeliveryOptions tune the delivery engine.
type DeliveryOptions struct {
	// Enabled starts the delivery loop at Boot/activate.
	Enabled bool
	// Poll is how often the queue is scanned for due messages (1 s).
	Poll time.Duration
	// RetryInitial is the first retry delay (60 s), doubled per attempt
	// up to RetryMax (1 h).
	RetryInitial, RetryMax time.Duration
	// MaxQueueTime is how long a message may wait before it bounces (72 h).
	MaxQueueTime time.Duration
	// Timeout bounds connecting and each SMTP exchange (30 s).
	Timeout time.Duration
	// AlertInterval is the minimum time between two required-TLS alerts
	// for one domain (1 h).
	AlertInterval time.Duration
	// Workers bounds the messages delivered at once (32).
	Workers int
	// MXPort is the port of mail exchangers found in DNS (25); tests
	// use another.
	MXPort int
}

type delivery struct {
	mu       sync.Mutex
	inflight map[int64]bool
	alerted  map[string]time.Time
	dcids    *maillog.Counter
	cache    *outCache
	kick     chan struct{}
	pool     map[string][]*outConn // idle delivery connections by destination
	stop     chan struct{}
	ctx      context.Context // cancelled by stopDelivery: deliveries in progress end
	cancel   context.CancelFunc
	started  bool
	wg       sync.WaitGroup
	sem      chan struct{}
	limits   connLimits // open connections against the configured maxima
	// A message that waited for a connection slot is dispatched again
	// when one is freed (limits.go: slotFreed, wakeOnSlot).
	slotGen atomic.Uint64 // slots freed so far
	waiting atomic.Bool   // a message waits for a slot
}

// outCache is what delivery derives from one configuration.
type outCache struct {
	cfg    *config.Config
	dest   *config.DestIndex
	routes *config.RouteIndex
	tls    outTLS
}

// deliveryDefaults fills the delivery options (called by New).
func (s *Server) deliveryDefaults() {
	s.dlv.kick = make(chan struct{}, 1)
	s.dlv.limits.freed = s.slotFreed
	o := &s.opts.Delivery
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.RetryInitial == 0 {
		o.RetryInitial = time.Minute
	}
	if o.RetryMax == 0 {
		o.RetryMax = time.Hour
	}
	if o.MaxQueueTime == 0 {
		o.MaxQueueTime = 72 * time.Hour
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	if o.AlertInterval == 0 {
		o.AlertInterval = time.Hour
	}
	if o.Workers == 0 {
		o.Workers = 32
	}
	if o.MXPort == 0 {
		o.MXPort = 25
	}
}

// startDelivery starts the loop once (called from activate).
func (s *Server) startDelivery() {
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started || !s.opts.Delivery.Enabled {
		return
	}
	d.started = true
	d.inflight = map[int64]bool{}
	d.alerted = map[string]time.Time{}
	d.stop = make(chan struct{})
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.sem = make(chan struct{}, s.opts.Delivery.Workers)
	d.wg.Add(1)
	go s.deliveryLoop()
	s.stsCache() // mtasts.go: the policy cache and the TLS-RPT loop start with delivery
}

// stopDelivery stops the loop and waits for deliveries in progress.
func (s *Server) stopDelivery() {
	d := &s.dlv
	d.mu.Lock()
	started := d.started
	if started && d.stop != nil {
		select {
		case <-d.stop:
		default:
			close(d.stop)
		}
		d.cancel()
	}
	d.mu.Unlock()
	if started {
		d.wg.Wait()
		s.drainPool()
	}
}

// KickDelivery asks the loop to scan the queue now.
func (s *Server) KickDelivery() {
	select {
	case s.dlv.kick <- struct{}{}:
	default:
	}
}

func (s *Server) outConfig() *outCache {
	rt := s.rt.Load()
	if rt == nil || rt.cfg == nil {
		return nil
	}
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache != nil && d.cache.cfg == rt.cfg {
		return d.cache
	}
	c := &outCache{cfg: rt.cfg, dest: config.NewDestIndex(&rt.cfg.Destinations),
		routes: config.NewRouteIndex(rt.cfg.Routes), tls: buildOutTLS(rt.cfg, s.opts.SystemRoots)}
	if err := c.tls.clientCertErr; err != nil {
		// Once per configuration: delivery goes on without it.
		s.errorf("outbound TLS offers no client certificate: %v", err)
	}
	d.cache = c
	return c
}

func (s *Server) deliveryLoop() {
	d := &s.dlv
	defer d.wg.Done()
	t := time.NewTicker(s.opts.Delivery.Poll)
	defer t.Stop()
	for {
		s.scanQueue()
		select {
		case <-d.stop:
			return
		case <-t.C:
		case <-d.kick:
		}
	}
}

// scanQueue dispatches the due messages. Its listing only names the
// candidates: by the time the scan reaches a message, a delivery of it
// that was in progress when the listing was taken may have ended, having
// delivered some recipients and set a later retry. So each message is
// claimed first (the in-flight set: never two deliveries of one message at
// once) and then read again from the queue, and that current record, with
// the recipients still due and the current retry time, is what is
// dispatched. A delivery releases its claim only after its queue records
// (recipients, retry, removal) are written, so the record read under the
// claim is never older than the last delivery's outcome.
func (s *Server) scanQueue() {
	d := &s.dlv
	oc := s.outConfig()
	if oc == nil {
		return
	}
	now := s.opts.Now()
	// Only the messages due now: the queue's due index does not visit
	// the others, however many (issue 17). A retry time can only move
	// earlier through DeliverNow, which kicks a new scan.
	for _, mid := range s.queue.Due(now) {
		m, due := s.claimDue(mid, now)
		if !due {
			continue
		}
		select {
		case d.sem <- struct{}{}:
		case <-d.stop:
			s.releaseClaim(m.MID)
			return
		}
		d.wg.Add(1)
		gen := d.slotGen.Load()
		go func(m queue.Meta) {
			defer d.wg.Done()
			var once sync.Once
			free := func() { once.Do(func() { <-d.sem }) }
			defer free()
			waited := s.deliverMessage(oc, m, free)
			s.releaseClaim(m.MID)
			if waited {
				s.wakeOnSlot(gen)
			}
		}(m)
	}
}

// claimDue marks mid in flight and returns its current queue record when
// it is still queued and due at now; otherwise (in flight already, removed,
// retry later) it claims nothing and reports false.
func (s *Server) claimDue(mid int64, now time.Time) (queue.Meta, bool) {
	d := &s.dlv
	d.mu.Lock()
	if d.inflight[mid] {
		d.mu.Unlock()
		return queue.Meta{}, false
	}
	d.inflight[mid] = true
	d.mu.Unlock()
	m, ok := s.queue.Get(mid)
	if !ok || now.Before(m.NextTry) {
		s.releaseClaim(mid)
		return queue.Meta{}, false
	}
	return m, true
}

// releaseClaim ends mid's delivery: a later scan may dispatch it again.
func (s *Server) releaseClaim(mid int64) {
	d := &s.dlv
	d.mu.Lock()
	delete(d.inflight, mid)
	d.mu.Unlock()
}

// rcptResult is the outcome for one recipient.
type rcptResult int

const (
	rcptDeferred rcptResult = iota
	rcptDone
	rcptBounced
	// rcptWaiting: not attempted, a concurrency limit was reached; tried
	// again at the next scan without counting an attempt.
	rcptWaiting
)

type outcome struct {
	res  rcptResult
	code string // enhanced status
	text string
}

// deliverMessage makes one delivery attempt of every recipient of m.
// It calls free, which gives the worker slot back, once the remote
// servers have answered: writing the outcome (the queue's removal, its
// retry or recipients record, a bounce) waits for the queue's group
// commit, and a slot held through that would idle while messages wait
// behind it (issue 17). The message stays claimed until its records are
// written (scanQueue). It reports whether a recipient waits for a
// connection slot.
func (s *Server) deliverMessage(oc *outCache, m queue.Meta, free func()) (waited bool) {
	if oc.discardsAll(m) { // discard.go: nothing to read, no remote server
		free()
		if err := s.queue.Done(m.MID); err != nil && err != queue.ErrNotFound {
			s.errorf("queue: remove MID %d: %v", m.MID, err)
		}
		return false
	}
	body, err := s.queue.Read(m.MID)
	if err != nil {
		if !errors.Is(err, queue.ErrNotFound) { // else removed meanwhile
			s.errorf("MID %d not delivered: %v", m.MID, err)
			s.scheduleRetry(m, s.opts.Now())
		}
		return false
	}
	byDomain := map[string][]int{}
	var order []string
	for i, to := range m.To {
		dom := domainOf(to)
		if _, ok := byDomain[dom]; !ok {
			order = append(order, dom)
		}
		byDomain[dom] = append(byDomain[dom], i)
	}
	results := make([]outcome, len(m.To))
	recorded := len(m.To) // recipients the queue holds for m
	for k, dom := range order {
		s.deliverDomain(oc, m, body, dom, byDomain[dom], results)
		if k < len(order)-1 {
			recorded = s.recordProgress(m, results, recorded)
		}
	}
	free()
	s.settle(oc, m, body, results, recorded)
	return slices.ContainsFunc(results, func(o outcome) bool { return o.res == rcptWaiting })
}

// settle records the outcome of an attempt of m: bounces for the
// recipients refused for good or expired, then the queue's removal when
// none is left, else the recipients still due and, when one was
// deferred, the next retry.
func (s *Server) settle(oc *outCache, m queue.Meta, body []byte, results []outcome, recorded int) {
	now := s.opts.Now()
	expired := now.Sub(m.Time) > s.opts.Delivery.MaxQueueTime
	var remaining []string
	var remainingRIDs []int
	var deferred bool
	var bounced []outcome
	var bouncedTo []string
	for i, r := range results {
		switch {
		case r.res == rcptDone:
		case r.res == rcptBounced:
			bounced, bouncedTo = append(bounced, r), append(bouncedTo, m.To[i])
		case expired:
			s.log.Infof("%s", maillog.Bounced(0, m.MID, ridsOf(m, []int{i}), "5.4.7", "Delivery expired (message too old)"))
			bounced = append(bounced, outcome{rcptBounced, "5.4.7", "Delivery expired (message too old) " + r.text})
			bouncedTo = append(bouncedTo, m.To[i])
		default:
			remaining = append(remaining, m.To[i])
			remainingRIDs = append(remainingRIDs, ridsOf(m, []int{i})[0])
			deferred = deferred || r.res == rcptDeferred
		}
	}
	if len(bounced) > 0 {
		s.sendDSN(oc.cfg, m, body, bouncedTo, bounced)
	}
	if len(remaining) == 0 {
		if err := s.queue.Done(m.MID); err != nil && err != queue.ErrNotFound {
			s.errorf("queue: remove MID %d: %v", m.MID, err)
		}
		return
	}
	if len(remaining) < recorded {
		// Record the progress durably: the message is kept for the
		// recipients still due only.
		if err := s.queue.SetRecipients(m.MID, remaining, remainingRIDs); err != nil {
			s.errorf("queue: recipients of MID %d not recorded: %v", m.MID, err)
		}
	}
	if deferred { // else only waiting for a free connection: no back-off
		s.scheduleRetry(m, now)
	}
}

// recordProgress records durably which recipients of m are delivered so
// far, before the next domain is tried: should the process die while
// that one is in progress (a slow server holds it up to the delivery
// timeout), a restart does not send them again. Recipients refused for
// good stay until their bounce is queued, at the end of the attempt. It
// returns how many recipients the queue holds for m.
func (s *Server) recordProgress(m queue.Meta, results []outcome, recorded int) int {
	var to []string
	var idx []int
	for i, r := range results {
		if r.res != rcptDone {
			to, idx = append(to, m.To[i]), append(idx, i)
		}
	}
	if len(to) == recorded || len(to) == 0 {
		return recorded
	}
	if err := s.queue.SetRecipients(m.MID, to, ridsOf(m, idx)); err != nil {
		s.errorf("queue: recipients of MID %d not recorded: %v", m.MID, err)
		return recorded
	}
	return len(to)
}

// scheduleRetry backs m off after a deferred attempt: the delay doubles
// per attempt up to RetryMax. The schedule is kept in the queue, so a
// restart keeps it too.
func (s *Server) scheduleRetry(m queue.Meta, now time.Time) {
	delay := s.opts.Delivery.RetryInitial << min(m.Attempts, 30)
	if delay > s.opts.Delivery.RetryMax || delay <= 0 {
		delay = s.opts.Delivery.RetryMax
	}
	if err := s.queue.SetRetry(m.MID, m.Attempts+1, now.Add(delay)); err != nil && err != queue.ErrNotFound {
		s.errorf("queue: retry of MID %d not recorded: %v", m.MID, err)
	}
}

func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return config.NormalizeDomain(addr[i+1:])
}

func setAll(results []outcome, rids []int, o outcome) {
	for _, i := range rids {
		results[i] = o
	}
}

// deliverDomain delivers m to the recipients rids (all of domain dom),
// trying the targets in order until one answers.
func (s *Server) deliverDomain(oc *outCache, m queue.Meta, body []byte, dom string, rids []int, results []outcome) {
	timeout := s.opts.Delivery.Timeout
	ctx, cancel := context.WithTimeout(s.dlv.ctx, timeout)
	tg, discard, err := targets(ctx, resolverFor(oc.cfg), oc.routes, dom, s.opts.Delivery.MXPort)
	cancel()
	if discard {
		setAll(results, rids, outcome{res: rcptDone})
		return
	}
	var nsd *noSuchDomain
	if errors.As(err, &nsd) {
		s.log.Infof("%s", maillog.Bounced(0, m.MID, ridsOf(m, rids), "5.1.2", nsd.msg))
		setAll(results, rids, outcome{rcptBounced, "5.1.2", nsd.msg})
		return
	}
	if err != nil || len(tg) == 0 {
		why := "no mail exchanger"
		if err != nil {
			why = err.Error()
		}
		s.log.Infof("%s", maillog.Delayed(0, m.MID, ridsOf(m, rids), "4.4.3", "DNS lookup failed for "+dom+": "+why))
		setAll(results, rids, outcome{rcptDeferred, "4.4.3", why})
		return
	}
	dc := oc.dest.Lookup(dom)
	tg, dc, ok := s.applySTS(oc, dc, m, dom, tg, rids, results) // mtasts.go
	if !ok {
		return
	}
	for _, t := range tg {
		done := s.attempt(oc, dc, m, body, dom, t, rids, results)
		if done {
			return
		}
	}
}

// outConn is an open delivery connection, kept between messages to one
// destination up to its messages-per-connection limit.
type outConn struct {
	c       *smtpConn
	dcid    int64
	ifIP    string
	sent    int
	stopCut func() bool
	idle    *time.Timer
	dom     string // its connection slot, released by closeOut
	tlsSlot bool   // holds a TLS slot too
}

// poolIdle is how long an idle delivery connection is kept.
const poolIdle = 5 * time.Second

func poolKey(dom string, t target, dc config.DestControl, helo string) string {
	return dom + "|" + hostPort(t) + "|" + string(dc.TLS) + "|" + dc.DANE + "|" + helo
}

// takePooled returns an idle connection for key, or nil.
func (s *Server) takePooled(key string) *outConn {
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.pool[key]) > 0 {
		l := d.pool[key]
		conn := l[len(l)-1]
		d.pool[key] = l[:len(l)-1]
		if conn.idle.Stop() {
			return conn
		}
	}
	return nil
}

// park keeps conn for the next message to key.
func (s *Server) park(key string, conn *outConn) {
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pool == nil {
		d.pool = map[string][]*outConn{}
	}
	conn.idle = time.AfterFunc(poolIdle, func() {
		d.mu.Lock()
		l := d.pool[key]
		for i, x := range l {
			if x == conn {
				d.pool[key] = append(l[:i:i], l[i+1:]...)
				break
			}
		}
		d.mu.Unlock()
		conn.c.quit()
		s.closeOut(conn)
	})
	d.pool[key] = append(d.pool[key], conn)
	defer s.slotFreed() // after d.mu: the kept connection is free for the next message
}

// drainPool closes every idle connection (at shutdown).
func (s *Server) drainPool() {
	d := &s.dlv
	d.mu.Lock()
	var all []*outConn
	for k, l := range d.pool {
		for _, conn := range l {
			if conn.idle.Stop() {
				all = append(all, conn)
			}
		}
		delete(d.pool, k)
	}
	d.mu.Unlock()
	for _, conn := range all {
		s.closeOut(conn)
	}
}

func (s *Server) closeOut(conn *outConn) {
	conn.stopCut()
	conn.c.close()
	s.dlv.limits.release(conn.dom)
	if conn.tlsSlot {
		s.dlv.limits.releaseTLS()
	}
	s.log.Infof("%s", maillog.DCIDClose(conn.dcid))
}

// attempt is one delivery to t, on a kept connection when there is one,
// else on a new one. It reports true when the recipients have their
// outcome (delivered, bounced or deferred by the remote MTA or the TLS
// policy); false means the next target may be tried.
func (s *Server) attempt(oc *outCache, dc config.DestControl, m queue.Meta, body []byte, dom string, t target, rids []int, results []outcome) bool {
	// The interface is part of the key: a kept connection is reused only
	// from the interface this target is delivered from now.
	oi, _ := deliveryIface(oc.cfg, ifaceSetting(oc.cfg, m), t.ip)
	key := poolKey(dom, t, dc, oi.name+"|"+oi.helo)
	if pc := s.takePooled(key); pc != nil {
		handled, st, started := s.transfer(pc, m, body, dom, t, rids, results)
		if started || handled {
			s.finish(key, dc, pc, st)
			return handled
		}
		// The kept connection died before the envelope went out: the
		// remote closed it; open a new one.
		s.closeOut(pc)
	}
	c, ok := s.open(oc, dc, m, dom, t, rids, results)
	if c == nil {
		return ok
	}
	handled, st, _ := s.transfer(c, m, body, dom, t, rids, results)
	s.finish(key, dc, c, st)
	return handled
}

// finish keeps c for the next message when it is usable and under the
// destination's messages-per-connection limit (after an RSET when a
// transaction may be open, deliver_transfer.go); otherwise it ends it.
func (s *Server) finish(key string, dc config.DestControl, c *outConn, st sessState) {
	if st != sessBroken {
		c.sent++
		if dc.MaxMsgsPerConn <= 0 || c.sent < dc.MaxMsgsPerConn {
			if st == sessReady {
				s.park(key, c)
				return
			}
			if r, err := c.c.cmd("RSET"); err == nil && r.Code == 250 {
				s.park(key, c)
				return
			}
		}
		c.c.quit()
	}
	s.closeOut(c)
}

// replyOutcome records a refusal: 5xx bounces, anything else defers.
func (s *Server) replyOutcome(dcid int64, m queue.Meta, rids []int, r smtpReply, results []outcome) bool {
	text := r.plain()
	if r.Code/100 == 5 {
		s.log.Infof("%s", maillog.Bounced(dcid, m.MID, ridsOf(m, rids), r.enhanced(), fmt.Sprintf("%d %s", r.Code, text)))
		setAll(results, rids, outcome{rcptBounced, r.enhanced(), fmt.Sprintf("%d %s", r.Code, text)})
		return true
	}
	s.log.Infof("%s", maillog.Delayed(dcid, m.MID, ridsOf(m, rids), r.enhanced(), fmt.Sprintf("%d %s", r.Code, text)))
	setAll(results, rids, outcome{rcptDeferred, r.enhanced(), fmt.Sprintf("%d %s", r.Code, text)})
	return true
}

func connReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// tlsAlert sends the required-TLS failure alert when destconfig enabled
// it, at most once per domain per AlertInterval.
func (s *Server) tlsAlert(cfg *config.Config, dom, reason string) {
	rcpts := cfg.TLSFailAlertRecipients()
	if len(rcpts) == 0 {
		return
	}
	d := &s.dlv
	now := s.opts.Now()
	d.mu.Lock()
	last, seen := d.alerted[dom]
	if seen && now.Sub(last) < s.opts.Delivery.AlertInterval {
		d.mu.Unlock()
		return
	}
	d.alerted[dom] = now
	d.mu.Unlock()
	host := cfg.Hostname
	subject := fmt.Sprintf("Warning <System> %s: TLS required for %s failed", host, dom)
	text := fmt.Sprintf("The Warning message is:\r\n\r\nA TLS connection to the domain %s was required but could not be negotiated: %s.\r\nMessages to %s stay in the queue and will be retried.\r\n\r\nVersion: esash\r\nHostname: %s\r\n",
		dom, reason, dom, host)
	// Sent from alertconfig's interface (ifaceSetting), from alertconfig's
	// FROM address or AsyncOS's default.
	from := cfg.Alerts.From
	if from == "" {
		from = "alert@" + host
	}
	if err := s.injectFrom(cfg.Alerts.Interface, from, from, rcpts, subject, text); err != nil {
		s.errorf("alert: %v", err)
		return
	}
	for _, a := range rcpts {
		s.log.Infof("%s", maillog.AlertSent(config.TLSFailAlertClass, config.TLSFailAlertSeverity, a, subject))
	}
}

// sendDSN queues a bounce notification to the sender of m (none for the
// null sender, so bounces never loop).
func (s *Server) sendDSN(cfg *config.Config, m queue.Meta, body []byte, to []string, why []outcome) {
	if m.From == "" {
		return
	}
	host := cfg.Hostname
	var b strings.Builder
	b.WriteString("This is the mail delivery system at " + host + ".\r\n\r\n")
	b.WriteString("Your message could not be delivered to the following recipients:\r\n\r\n")
	for i, a := range to {
		fmt.Fprintf(&b, "<%s>: %s %s\r\n", a, why[i].code, why[i].text)
	}
	b.WriteString("\r\n--- Headers of the original message ---\r\n\r\n")
	if i := bytes.Index(body, []byte("\r\n\r\n")); i >= 0 {
		b.Write(body[:i+2])
	} else {
		b.Write(body)
	}
	if err := s.injectFrom("", "", "MAILER-DAEMON@"+host, []string{m.From},
		fmt.Sprintf("Delivery Status Notification (Failure) MID %d", m.MID), b.String()); err != nil {
		s.errorf("bounce MID %d: %v", m.MID, err)
	}
}

// SubmitMessage queues a complete message the appliance writes for an
// administrator (mailconfig); the delivery loop sends it like any other.
func (s *Server) SubmitMessage(from string, to []string, msg []byte) (int64, error) {
	mid, err := s.mids.Next()
	if err != nil {
		return 0, err
	}
	meta := queue.Meta{MID: mid, Listener: config.InternalListener, From: from, To: to, Time: s.opts.Now()}
	if err := s.queue.Put(meta, bytes.NewReader(msg), int64(len(msg))); err != nil {
		return 0, err
	}
	s.log.Infof("Start MID %d (internally generated)", mid)
	s.KickDelivery()
	return mid, nil
}

// injectFrom queues a message the appliance itself writes; the delivery
// loop sends it like any other, from the interface setting iface when it
// is not empty (alerts), else from deliveryconfig's.
func (s *Server) injectFrom(iface, envFrom, hdrFrom string, to []string, subject, text string) error {
	mid, err := s.mids.Next()
	if err != nil {
		return err
	}
	now := s.opts.Now()
	msg := fmt.Sprintf("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%d.esash@%s>\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
		hdrFrom, "<"+strings.Join(to, ">, <")+">", subject, now.Format(time.RFC1123Z), mid, domainOf(hdrFrom), text)
	meta := queue.Meta{MID: mid, Listener: config.InternalListener, Interface: iface, From: envFrom, To: to, Time: now}
	if err := s.queue.Put(meta, strings.NewReader(msg), int64(len(msg))); err != nil {
		return err
	}
	s.log.Infof("Start MID %d (internally generated)", mid)
	s.KickDelivery()
	return nil
}

// ridsOf maps positions in m.To to the recipient IDs the message was
// received with (they stay the same after a partial delivery).
func ridsOf(m queue.Meta, idx []int) []int {
	if len(m.RIDs) != len(m.To) {
		return idx
	}
	out := make([]int, len(idx))
	for j, i := range idx {
		out[j] = m.RIDs[i]
	}
	return out
}

// DeliverNow makes the queued messages with a later retry time due at
// once: those with a recipient in domain, or all when domain is "". Their
// attempts so far are kept, so the back-off goes on from there if they
// defer again. It returns how many were rescheduled.
func (s *Server) DeliverNow(domain string) int {
	n := 0
	now := s.opts.Now()
	for _, m := range s.queue.List() {
		if !m.NextTry.After(now) || domain != "" && !slices.ContainsFunc(m.To, func(to string) bool { return domainOf(to) == domain }) {
			continue
		}
		if err := s.queue.SetRetry(m.MID, m.Attempts, time.Time{}); err != nil {
			if err != queue.ErrNotFound {
				s.errorf("queue: reschedule MID %d: %v", m.MID, err)
			}
			continue
		}
		n++
	}
	if n > 0 {
		s.log.Infof("delivernow: %d messages rescheduled for immediate delivery", n)
		s.KickDelivery()
	}
	return n
}
