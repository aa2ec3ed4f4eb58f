package mta

import (
	"strings"
	"sync"

	"esash/config"
)

// connLimits counts the open delivery connections (in use or kept idle for
// reuse) against deliveryconfig's system-wide maximum, its maximum with
// TLS, and destconfig's per-domain concurrency. A limit of 0 or less is
// no limit.
//
// A delivery that finds no free slot does not fail: its recipients wait
// (rcptWaiting) and the message is tried again at the next scan, without
// counting an attempt, as AsyncOS holds mail for a busy destination.
type connLimits struct {
	mu     sync.Mutex
	total  int
	tls    int
	perDom map[string]int
	freed  func() // called after a slot is given back (Server.slotFreed)
}

// reserve takes a connection slot for dom, if both the system-wide and the
// domain's limits allow one.
func (l *connLimits) reserve(max, domMax int, dom string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && l.total >= max || domMax > 0 && l.perDom[dom] >= domMax {
		return false
	}
	if l.perDom == nil {
		l.perDom = map[string]int{}
	}
	l.total++
	l.perDom[dom]++
	return true
}

// release gives dom's slot back and says so (freed).
func (l *connLimits) release(dom string) {
	l.unreserve(dom)
	if l.freed != nil {
		l.freed()
	}
}

// unreserve gives back a slot taken by a reservation that could not be
// completed (no TLS slot): nothing was freed for a waiting message, and
// saying so would have that message retried, fail the same way and wake
// itself again, in a loop.
func (l *connLimits) unreserve(dom string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.perDom[dom]--; l.perDom[dom] <= 0 {
		delete(l.perDom, dom)
	}
}

// reserveTLS takes one of the TLS slots.
func (l *connLimits) reserveTLS(max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if max > 0 && l.tls >= max {
		return false
	}
	l.tls++
	return true
}

func (l *connLimits) releaseTLS() {
	l.mu.Lock()
	l.tls--
	l.mu.Unlock()
	if l.freed != nil {
		l.freed()
	}
}

// slotFreed notes that a connection slot was given back or a kept
// connection became free for the next message, and wakes the delivery
// loop when a message waits for one: it is dispatched again at once, not
// at the next poll (issue 17).
func (s *Server) slotFreed() {
	d := &s.dlv
	d.slotGen.Add(1)
	if d.waiting.Swap(false) {
		s.KickDelivery()
	}
}

// wakeOnSlot is called once a message that waited for a slot is no longer
// claimed, gen being slotGen when it was dispatched: a slot freed since
// then may have found it still claimed, so the loop is woken now; else
// the next slotFreed wakes it. (waiting is set before slotGen is read, and
// slotFreed bumps slotGen before it reads waiting: one of the two always
// sees the other.)
func (s *Server) wakeOnSlot(gen uint64) {
	d := &s.dlv
	d.waiting.Store(true)
	if d.slotGen.Load() != gen {
		s.KickDelivery()
	}
}

// counts is what is open now (tests and status).
func (l *connLimits) counts(dom string) (total, tls, domain int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.tls, l.perDom[dom]
}

// reserveConn takes a connection slot for a delivery to dom. When a limit
// is reached it closes an idle kept connection to make room, once.
func (s *Server) reserveConn(cfg *config.Config, dc config.DestControl, dom string) bool {
	lim := &s.dlv.limits
	for try := 0; ; try++ {
		if lim.reserve(cfg.Delivery.MaxConcurrency, dc.MaxConcurrency, dom) {
			return true
		}
		if try > 0 {
			return false
		}
		// The domain's limit can only be relieved by one of its own
		// connections (which frees a system-wide slot too); the
		// system-wide one by any.
		_, _, perDom := lim.counts(dom)
		only := ""
		if dc.MaxConcurrency > 0 && perDom >= dc.MaxConcurrency {
			only = dom
		}
		if !s.evictIdle(only, false) {
			return false
		}
	}
}

// reserveTLS takes a TLS slot, closing an idle kept TLS connection to
// make room once if the limit is reached.
func (s *Server) reserveTLS(cfg *config.Config) bool {
	lim := &s.dlv.limits
	if lim.reserveTLS(cfg.Delivery.MaxTLSConcurrency) {
		return true
	}
	return s.evictIdle("", true) && lim.reserveTLS(cfg.Delivery.MaxTLSConcurrency)
}

// evictIdle closes one idle kept connection: to dom only when dom is not
// empty, one holding a TLS slot when tlsOnly. It reports whether it
// closed one.
func (s *Server) evictIdle(dom string, tlsOnly bool) bool {
	d := &s.dlv
	d.mu.Lock()
	var victim *outConn
	for key, l := range d.pool {
		if dom != "" && !strings.HasPrefix(key, dom+"|") {
			continue
		}
		for i, conn := range l {
			if tlsOnly && !conn.tlsSlot {
				continue
			}
			if conn.idle.Stop() { // else its idle timer is closing it already
				d.pool[key] = append(l[:i:i], l[i+1:]...)
				victim = conn
				break
			}
		}
		if victim != nil {
			break
		}
	}
	d.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.c.quit()
	s.closeOut(victim)
	return true
}
