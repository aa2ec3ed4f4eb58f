package mta

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"esash/config"
	"esash/maillog"
)

// socket is one listening address. It outlives configuration generations: a
// commit that keeps a listener's address keeps its socket, so reloading a
// certificate or a policy never closes the port.
type socket struct {
	srv  *Server
	addr string
	ln   net.Listener
	// counts are the listener's, shared by its IPv4 and IPv6 sockets:
	// its limits hold for the listener, not per address.
	counts *connCounts

	mu     sync.Mutex
	closed bool
}

// connCounts are the connections and recipients a listener is serving,
// for its concurrency and rate limits.
type connCounts struct {
	mu      sync.Mutex
	total   int
	perHost map[netip.Addr]int
	rate    map[netip.Addr]*rateWindow
	conns   map[*mconn]struct{} // the counted connections, for eviction
	live    atomic.Int64        // total, read without the lock (load)
	global  *globalLimits       // the server's, for the rate window
}

type rateWindow struct {
	start time.Time
	n     int
}

func newSocket(s *Server, addr string, ln net.Listener, counts *connCounts) *socket {
	return &socket{srv: s, addr: addr, ln: ln, counts: counts}
}

func newConnCounts() *connCounts {
	return &connCounts{perHost: map[netip.Addr]int{}, rate: map[netip.Addr]*rateWindow{}, conns: map[*mconn]struct{}{}}
}

func (sk *socket) close() {
	sk.mu.Lock()
	sk.closed = true
	sk.mu.Unlock()
	sk.ln.Close()
}

func (sk *socket) serve() {
	defer sk.srv.loops.Done()
	var delay time.Duration
	for {
		c, err := sk.ln.Accept()
		if err != nil {
			sk.mu.Lock()
			closed := sk.closed
			sk.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors and the like: back off, keep serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			sk.srv.errorf("accept on %s: %v; retrying in %v", sk.addr, err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		sk.srv.sessions.add(c, sk.srv.rt.Load())
		go sk.handle(c)
	}
}

// acquire counts a connection against the listener's and the host's
// concurrency limits; it reports which limit refused it. When the
// listener is full, or idleCap connections without an accepted message
// are open, the one of those that has been silent longest gives its slot
// to m, if it has been silent for at least lim.evictSilent: it is
// returned as victim, already uncounted, for the caller to evict.
func (sk *connCounts) acquire(m *mconn, listenerMax, hostMax int, lim *sessionLimits) (refused string, victim *mconn) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	full := listenerMax > 0 && sk.total >= listenerMax
	if full || lim.idleCap > 0 && sk.withoutMessage() >= lim.idleCap {
		victim = sk.longestSilent(time.Now().Add(-lim.evictSilent).UnixNano())
		if victim == nil && full {
			return "listener", nil
		}
	}
	if hostMax > 0 && sk.perHost[m.ip] >= hostMax {
		return "host", nil
	}
	if victim != nil {
		sk.uncount(victim)
	}
	sk.total++
	sk.perHost[m.ip]++
	sk.conns[m] = struct{}{}
	m.counted = true
	sk.live.Store(int64(sk.total))
	if at := lim.stressAt; at > 0 && int64(sk.total) == at {
		now := time.Now()
		for c := range sk.conns {
			if c != m {
				c.underLoad(now)
			}
		}
	}
	return "", victim
}

func (sk *connCounts) release(m *mconn) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	sk.uncount(m)
}

// uncount takes m out of the counts, once.
func (sk *connCounts) uncount(m *mconn) {
	if !m.counted {
		return
	}
	m.counted = false
	delete(sk.conns, m)
	sk.total--
	if sk.perHost[m.ip]--; sk.perHost[m.ip] <= 0 {
		delete(sk.perHost, m.ip)
	}
	sk.live.Store(int64(sk.total))
}

// withoutMessage counts the connections that have had no message
// accepted.
func (sk *connCounts) withoutMessage() int {
	n := 0
	for c := range sk.conns {
		if c.msgs.Load() == 0 {
			n++
		}
	}
	return n
}

// longestSilent is the connection without an accepted message whose
// client has sent nothing for the longest time, at least since before,
// or nil. A connection in the middle of a message is never one: a client
// on a slow link pausing in its first large message is sending mail, and
// cutting it would lose the transfer.
func (sk *connCounts) longestSilent(before int64) *mconn {
	var victim *mconn
	var oldest int64
	for c := range sk.conns {
		if c.msgs.Load() != 0 || c.inMessage.Load() || c.lastRead.Load() > before {
			continue
		}
		if t := c.lastRead.Load(); victim == nil || t < oldest {
			victim, oldest = c, t
		}
	}
	return victim
}

// allowRcpt applies "rate limiting per host": at most limit recipients an
// hour from one address.
func (sk *connCounts) allowRcpt(ip netip.Addr, limit int, now time.Time) bool {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	w := sk.rate[ip]
	period := sk.global.period()
	if w == nil || now.Sub(w.start) >= period || now.Before(w.start) {
		if len(sk.rate) > 100000 {
			for k, v := range sk.rate {
				if now.Sub(v.start) >= period {
					delete(sk.rate, k)
				}
			}
		}
		w = &rateWindow{start: now}
		sk.rate[ip] = w
	}
	if w.n >= limit {
		return false
	}
	w.n++
	return true
}

// handle classifies a new connection and hands it to the go-smtp server
// of its mail flow policy, or refuses it.
func (sk *socket) handle(c net.Conn) {
	s := sk.srv
	x := s.rt.Load().listeners[sk.addr]
	if x == nil { // the listener is going away
		c.Close()
		s.sessions.done(c)
		return
	}
	icid, err := s.icids.Next()
	if err != nil {
		s.errorf("ICID counter: %v", err)
		writeLine(c, "421 4.3.0 Service not available, closing transmission channel")
		c.Close()
		s.sessions.done(c)
		return
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	ip := ap.Addr().Unmap()
	now := time.Now()
	m := &mconn{Conn: c, srv: s, sock: sk, icid: icid, ip: ip, start: now, lastMsg: now}
	m.lastRead.Store(now.UnixNano())
	m.rdns, m.host = s.rdns.lookup(ip)
	for attempt := 0; ; attempt++ {
		m.lst = x
		s.sessions.assign(c, x.gen)
		m.dec = x.hat.Match(ip, m.host)
		if attempt == 0 { // the connection's two first lines, in one write
			s.log.Infos(maillog.NewICID(icid, x.iface.Name, x.ip.String(), ip.String(), m.rdns, m.host != ""),
				maillog.ICIDPolicy(icid, string(m.dec.Action), m.dec.Group, m.dec.Rule, ""))
		}
		switch m.dec.Action {
		case config.TCPRefuse:
			c.Close()
			s.log.Infof("%s", maillog.ICIDClose(icid))
			s.sessions.done(c)
			return
		case config.Reject:
			m.reject()
			return
		}
		if why := sk.admit(m, x); why != "" {
			text := "421 4.4.5 Too many concurrent SMTP connections; please try again later."
			if why == "host" {
				text = "421 4.7.0 Too many concurrent SMTP connections from this IP address; please try again later."
			}
			s.log.Infof("ICID %d refused: %s", icid, strings.TrimPrefix(text, "421 "))
			writeLine(c, text)
			c.Close()
			s.log.Infof("%s", maillog.ICIDClose(icid))
			s.sessions.done(c)
			return
		}
		ss := x.servers[m.dec.Policy]
		if ss == nil {
			ss = x.servers[""]
		}
		if ss.ln.push(m) {
			return
		}
		// That generation shut down between our look-up and now: take
		// the connection to the current one.
		sk.counts.release(m)
		m.releaseGlobal()
		if x = s.rt.Load().listeners[sk.addr]; x == nil || attempt > 3 {
			c.Close()
			s.log.Infof("%s", maillog.ICIDClose(icid))
			s.sessions.done(c)
			return
		}
	}
}

// admit counts m against the listener's, its host's and the global
// connection limits; it names the limit that refused it, "" when m is
// admitted. A connection whose slot m takes is evicted (and logged) only
// once m holds every slot, so a refusal never cuts an innocent one.
func (sk *socket) admit(m *mconn, x *lrt) string {
	// The global slot first: acquire uncounts its victim as it counts m,
	// so a refusal after it would have cut the victim for nothing.
	if !m.takeGlobal() {
		return "global"
	}
	why, victim := sk.counts.acquire(m, x.l.MaxConnections, m.dec.Params.MaxConcurrency, &x.limits)
	if why != "" {
		m.releaseGlobal()
		return why
	}
	if victim != nil {
		victim.evict()
		sk.srv.log.Infof("ICID %d takes the slot of ICID %d, which has no message and has been silent longest", m.icid, victim.icid)
	}
	return ""
}

// reject answers a REJECT policy: the rejection banner, then 503 to every
// command until QUIT, as RFC 5321 asks of a server that declines service.
func (m *mconn) reject() {
	p := m.dec.Params
	code := p.RejectCode
	if code == 0 {
		code = 554
	}
	text := p.RejectText
	if text == "" {
		text = "Access denied"
	}
	writeLine(m.Conn, fmt.Sprintf("%d %s %s", code, m.lst.hostname, text))
	r := bufio.NewReaderSize(m.Conn, 1024)
	for i := 0; i < 10; i++ {
		m.Conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			break
		}
		if strings.EqualFold(strings.TrimSpace(string(line)), "QUIT") {
			writeLine(m.Conn, "221 2.0.0 Bye")
			break
		}
		writeLine(m.Conn, "503 5.5.1 No SMTP service here")
	}
	m.Conn.Close()
	m.srv.log.Infof("%s", maillog.ICIDClose(m.icid))
	m.srv.sessions.done(m.Conn)
}

// rdnsCache looks up and forward-confirms reverse DNS names, remembering
// answers for a few minutes: a busy sender opens many connections.
type rdnsCache struct {
	source func() (Resolver, time.Duration) // the resolver now, and its timeout
	mu     sync.Mutex
	m      map[netip.Addr]rdnsEntry
}

type rdnsEntry struct {
	name, verified string
	at             time.Time
}

func newRDNSCache(source func() (Resolver, time.Duration)) *rdnsCache {
	return &rdnsCache{source: source, m: map[netip.Addr]rdnsEntry{}}
}

// lookup returns the reverse name and, when its forward lookup leads back
// to ip, the verified name.
func (c *rdnsCache) lookup(ip netip.Addr) (name, verified string) {
	now := time.Now()
	c.mu.Lock()
	if e, ok := c.m[ip]; ok && now.Sub(e.at) < 5*time.Minute {
		c.mu.Unlock()
		return e.name, e.verified
	}
	c.mu.Unlock()
	r, timeout := c.source()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	names, err := r.LookupAddr(ctx, ip.String())
	if err == nil && len(names) > 0 {
		name = strings.TrimSuffix(names[0], ".")
		if addrs, err := r.LookupHost(ctx, name); err == nil {
			for _, a := range addrs {
				if p, err := netip.ParseAddr(a); err == nil && p.Unmap() == ip {
					verified = name
					break
				}
			}
		}
	}
	c.mu.Lock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	c.m[ip] = rdnsEntry{name: name, verified: verified, at: now}
	c.mu.Unlock()
	return name, verified
}
