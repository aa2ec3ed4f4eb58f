package mta

import (
	"errors"
	"fmt"
	"net"
	"time"

	"esash/config"
)

// Slow and idle clients. A connection's read deadline is set before every
// read of the client's input (mconn.Read), as the earliest of:
//
//   - the per-read timeout: Options.ReadTimeout (5 minutes, RFC 5321
//     4.5.3.2.7), or the listener's stress timeout (SETUP > SLOWCLIENTS,
//     10 s) while the listener holds its stress share of its maximum
//     connections (Postfix's stress-dependent smtpd_timeout); when the
//     listener comes under load, connections already waiting get the
//     stress timeout from then;
//   - the connection's start plus listenerconfig SETUP's "maximum
//     connection time" (900 s);
//   - its last accepted message (or its start) plus SETUP's "timeout for
//     unsuccessful inbound connections" (300 s): NOOP, RSET, HELO, VRFY
//     and refused commands are no progress. It does not cut a message
//     while it is transferred (a slow link with a large message); the
//     per-read timeout and the maximum connection time still do.
//
// When the listener is full, or connections without an accepted message
// hold their share of it, a new connection takes the slot of the one of
// those that has been silent longest, if that one has been silent for half
// the stress timeout and is not in the middle of a message
// (connCounts.acquire), and only once the new connection also holds its
// global slot (socket.admit): its deadline is moved to now, go-smtp
// answers 421 and closes it.

// sessionLimits are one listener's limits in one configuration generation.
type sessionLimits struct {
	idle         time.Duration // per read
	stressIdle   time.Duration // per read under load
	stressAt     int64         // connections from which the listener is under load; 0 never
	maxSession   time.Duration
	unsuccessful time.Duration
	idleCap      int           // connections without a message the listener keeps; 0 no cap
	evictSilent  time.Duration // the least silence that makes a connection give its slot
}

func newLimits(cfg *config.Config, l config.Listener, opts Options) sessionLimits {
	g := cfg.ListenSetup.Effective()
	sc := l.SlowClients.Effective()
	lim := sessionLimits{
		idle:         opts.ReadTimeout,
		stressIdle:   time.Duration(sc.StressTimeout) * time.Second,
		maxSession:   time.Duration(g.MaxConnTime) * time.Second,
		unsuccessful: time.Duration(g.IdleTimeout) * time.Second,
	}
	// A client that paused for a DNS look-up or a slow disk keeps its
	// slot; one silent for half the stress timeout is not sending mail.
	lim.evictSilent = lim.stressIdle / 2
	if l.MaxConnections > 0 {
		lim.stressAt = int64(ceilPercent(l.MaxConnections, sc.StressPercent))
		lim.idleCap = ceilPercent(l.MaxConnections, sc.IdlePercent)
	}
	return lim
}

// ceilPercent is pct percent of n, rounded up, at least 1.
func ceilPercent(n, pct int) int {
	return max(1, (n*pct+99)/100)
}

// Why a read deadline was what it was, for the log line when it expires.
const (
	whyIdle = iota
	whyStress
	whySession
	whyUnsuccessful
	whyEvicted
)

var pastDeadline = time.Unix(1, 0)

// armRead sets the read deadline for the next read (see above). Only the
// connection's session goroutine reads, so the plain fields are its own.
func (m *mconn) armRead() {
	lim := &m.lst.limits
	now := time.Now()
	if n := m.msgs.Load(); n != m.seenMsgs {
		m.seenMsgs, m.lastMsg = n, now
	}
	d, why := now.Add(lim.idle), int32(whyIdle)
	if m.stressed() {
		d, why = now.Add(lim.stressIdle), whyStress
	}
	if t := m.start.Add(lim.maxSession); lim.maxSession > 0 && t.Before(d) {
		d, why = t, whySession
	}
	if t := m.lastMsg.Add(lim.unsuccessful); lim.unsuccessful > 0 && !m.inMessage.Load() && t.Before(d) {
		d, why = t, whyUnsuccessful
	}
	m.deadlineMu.Lock()
	defer m.deadlineMu.Unlock()
	m.setDeadline(d, why)
	// acquire stores the load (live) before it calls underLoad, as evict
	// stores its flag before it takes the lock; so look again after
	// setting ours. Either this look sees the load, or underLoad runs
	// after our deadline was set, and shortens it: the stress deadline is
	// never overwritten by the normal one.
	if why != whyStress && m.stressed() {
		if t := now.Add(lim.stressIdle); t.Before(d) {
			m.setDeadline(t, whyStress)
		}
	}
	if m.evicted.Load() {
		m.why.Store(whyEvicted)
		m.Conn.SetReadDeadline(pastDeadline)
	}
}

// setDeadline records the read deadline and why, and sets it;
// m.deadlineMu held. The lock makes the record and the connection's
// deadline one: underLoad, from another goroutine, stored its stress
// deadline, then armRead stored and set an earlier one (the maximum
// connection time), then underLoad set its own: the session outlived its
// maximum time by up to the stress timeout, and the log gave the wrong
// reason.
func (m *mconn) setDeadline(d time.Time, why int32) {
	m.why.Store(why)
	m.deadline.Store(d.UnixNano())
	m.Conn.SetReadDeadline(d)
}

// stressed reports whether the listener holds its stress share of its
// connections, so that the stress timeout holds.
func (m *mconn) stressed() bool {
	lim := &m.lst.limits
	return lim.stressAt > 0 && lim.stressIdle < lim.idle && m.sock.counts.live.Load() >= lim.stressAt
}

// underLoad shortens the deadline of a connection that was already
// waiting when the listener came under load: the stress timeout holds
// for it from now, not from its next command.
func (m *mconn) underLoad(now time.Time) {
	lim := &m.lst.limits
	if lim.stressIdle >= lim.idle {
		return
	}
	d := now.Add(lim.stressIdle)
	m.deadlineMu.Lock()
	defer m.deadlineMu.Unlock()
	if m.deadline.Load() > d.UnixNano() && !m.evicted.Load() {
		m.setDeadline(d, whyStress)
	}
}

// evict ends a connection to free its slot: its pending or next read
// times out at once, and go-smtp answers 421 and closes it.
func (m *mconn) evict() {
	m.evicted.Store(true)
	m.deadlineMu.Lock()
	defer m.deadlineMu.Unlock()
	m.Conn.SetReadDeadline(pastDeadline)
}

// readFailed logs, once, why a read timed out.
func (m *mconn) readFailed(err error) {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !m.timeoutLogged.CompareAndSwap(false, true) {
		return
	}
	if m.evicted.Load() {
		m.why.Store(whyEvicted)
	}
	lim := &m.lst.limits
	var text string
	switch m.why.Load() {
	case whyStress:
		text = fmt.Sprintf("no input for %s while the listener was under load", seconds(lim.stressIdle))
	case whySession:
		text = fmt.Sprintf("maximum connection time of %s reached", seconds(lim.maxSession))
	case whyUnsuccessful:
		text = fmt.Sprintf("no message accepted in %s", seconds(lim.unsuccessful))
	case whyEvicted:
		text = "no message accepted; its slot was given to a new connection"
	default:
		text = fmt.Sprintf("no input for %s", seconds(lim.idle))
	}
	m.srv.log.Infof("ICID %d timeout: %s", m.icid, text)
}

func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d seconds", d/time.Second)
	}
	return d.String()
}
