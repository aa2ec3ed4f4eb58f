package mta

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"esash/maillog"
)

// deadlineConn records the read deadlines set on it; before recording the
// first one it runs onSet once, to put another goroutine's step exactly
// between armRead's choice of a deadline and its setting it.
type deadlineConn struct {
	net.Conn // nil: only SetReadDeadline is used
	mu       sync.Mutex
	onSet    func()
	last     time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	hook := c.onSet
	c.onSet = nil
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	c.mu.Lock()
	c.last = t
	c.mu.Unlock()
	return nil
}

func (c *deadlineConn) lastDeadline() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// evictTestSocket is a socket with lim as its listener's limits, on a
// server that has only a log and its global limits.
func evictTestSocket(t *testing.T, lim sessionLimits, listenerMax int) (*socket, *lrt) {
	t.Helper()
	log, err := maillog.Open(t.TempDir(), "mail", "mail", maillog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	srv := &Server{log: log}
	sk := &socket{srv: srv, counts: newConnCounts()}
	sk.counts.global = &srv.global
	x := &lrt{srv: srv, limits: lim}
	x.l.MaxConnections = listenerMax
	return sk, x
}

// testConn is a connection of sk counted as silent since silentSince.
func testConn(sk *socket, x *lrt, icid int64, silentSince time.Time) *mconn {
	m := &mconn{Conn: &deadlineConn{}, srv: sk.srv, sock: sk, lst: x, icid: icid,
		ip: netip.MustParseAddr("127.0.0.2"), start: silentSince, lastMsg: silentSince}
	m.lastRead.Store(silentSince.UnixNano())
	return m
}

// A client transferring its first message that pauses (a slow link, a
// large message) keeps its slot: only a connection that is not sending
// mail gives it to a newcomer.
func TestEvictSparesMessageInTransfer(t *testing.T) {
	lim := sessionLimits{idle: time.Minute, stressIdle: 10 * time.Second, evictSilent: 5 * time.Second}
	sk, x := evictTestSocket(t, lim, 1)
	long := time.Now().Add(-time.Hour)
	sending := testConn(sk, x, 1, long)
	if why, _ := sk.counts.acquire(sending, 1, 0, &lim); why != "" {
		t.Fatalf("first connection refused: %s", why)
	}
	sending.inMessage.Store(true)
	why, victim := sk.counts.acquire(testConn(sk, x, 2, time.Now()), 1, 0, &lim)
	if victim != nil {
		t.Fatalf("ICID %d, in DATA, was evicted for a newcomer", victim.icid)
	}
	if why != "listener" {
		t.Fatalf("newcomer on a full listener: refused %q, want \"listener\"", why)
	}
	// Once its message is done (and none accepted, say a 554), it is
	// an idle connection again and gives its slot.
	sending.inMessage.Store(false)
	if _, victim := sk.counts.acquire(testConn(sk, x, 3, time.Now()), 1, 0, &lim); victim != sending {
		t.Fatalf("silent connection without a message not evicted: %v", victim)
	}
}

// A newcomer that the global limit refuses takes no slot: the silent
// connection it would have replaced is not evicted and no log line says
// it was.
func TestEvictOnlyWhenAdmitted(t *testing.T) {
	lim := sessionLimits{idle: time.Minute, stressIdle: 10 * time.Second, evictSilent: 5 * time.Second}
	sk, x := evictTestSocket(t, lim, 1)
	silent := testConn(sk, x, 1, time.Now().Add(-time.Hour))
	if why := sk.admit(silent, x); why != "" {
		t.Fatalf("first connection refused: %s", why)
	}
	sk.srv.global.maxConns.Store(1) // the silent one holds the only global slot
	newcomer := testConn(sk, x, 2, time.Now())
	if why := sk.admit(newcomer, x); why != "global" {
		t.Fatalf("newcomer over the global limit: refused %q, want \"global\"", why)
	}
	if silent.evicted.Load() || !silent.counted {
		t.Fatalf("the silent connection was evicted (counted %v) for a newcomer that was refused", silent.counted)
	}
	if newcomer.counted || newcomer.global.Load() {
		t.Fatalf("the refused newcomer still holds a slot (listener %v, global %v)", newcomer.counted, newcomer.global.Load())
	}
	if n := sk.srv.global.conns.Load(); n != 1 {
		t.Fatalf("global connections counted: %d, want 1", n)
	}
	// With room globally, the newcomer takes the silent one's slot.
	sk.srv.global.maxConns.Store(2)
	if why := sk.admit(newcomer, x); why != "" {
		t.Fatalf("newcomer with a global slot free: refused %q", why)
	}
	if !silent.evicted.Load() {
		t.Fatal("the silent connection kept its slot")
	}
}

// The listener comes under load while a connection is arming its read:
// armRead chose the normal timeout (not yet under load), then acquire
// put the listener under load and called underLoad (another goroutine)
// before armRead set its own deadline. The stress timeout must win.
func TestStressDeadlineRacesArmRead(t *testing.T) {
	lim := sessionLimits{idle: 5 * time.Minute, stressIdle: 10 * time.Second, stressAt: 2}
	sk, x := evictTestSocket(t, lim, 0)
	m := testConn(sk, x, 1, time.Now())
	dc := m.Conn.(*deadlineConn)
	m.deadline.Store(time.Now().Add(lim.idle).UnixNano()) // its previous read's
	loaded := make(chan struct{})
	dc.onSet = func() {
		// acquire, between armRead's look at the load and its setting
		// the deadline: the newcomer puts the listener under load.
		sk.counts.live.Store(lim.stressAt)
		go func() { m.underLoad(time.Now()); close(loaded) }()
	}
	armed := time.Now()
	m.armRead()
	<-loaded
	if got, limit := dc.lastDeadline(), armed.Add(time.Minute); got.After(limit) {
		t.Fatalf("read deadline %v after the load began, want within the stress timeout (%v)", got.Sub(armed).Round(time.Second), lim.stressIdle)
	}
	if m.why.Load() != whyStress {
		t.Fatalf("why = %d, want whyStress", m.why.Load())
	}
}

// The other order: underLoad has stored its stress deadline and is about
// to set it when the session goroutine arms its next read with an earlier
// one (the maximum connection time is 2 s away). underLoad's later set
// must not move the deadline past the session's end: the stress timeout
// shortens a deadline, it never lengthens one.
func TestUnderLoadRacesArmRead(t *testing.T) {
	lim := sessionLimits{idle: 5 * time.Minute, stressIdle: 10 * time.Second, stressAt: 2, maxSession: 15 * time.Minute}
	sk, x := evictTestSocket(t, lim, 0)
	start := time.Now().Add(-lim.maxSession + 2*time.Second)
	m := testConn(sk, x, 1, start)
	m.lastMsg = time.Now()
	dc := m.Conn.(*deadlineConn)
	m.deadline.Store(time.Now().Add(lim.idle).UnixNano()) // its previous read's
	sk.counts.live.Store(lim.stressAt)
	armed := make(chan struct{})
	dc.onSet = func() {
		// The session goroutine arms its read between underLoad's look at
		// the deadline and its set. Without the deadline lock it finishes
		// at once; with it, it waits for underLoad, which this bounded
		// wait lets go on.
		go func() { m.armRead(); close(armed) }()
		select {
		case <-armed:
		case <-time.After(300 * time.Millisecond):
		}
	}
	m.underLoad(time.Now())
	<-armed
	end := start.Add(lim.maxSession)
	if got := dc.lastDeadline(); got.After(end) {
		t.Fatalf("read deadline %v past the maximum connection time", got.Sub(end).Round(time.Second))
	}
	if got := time.Unix(0, m.deadline.Load()); !got.Equal(dc.lastDeadline()) {
		t.Fatalf("deadline recorded %v, set on the connection %v", got, dc.lastDeadline())
	}
	if m.why.Load() != whySession {
		t.Fatalf("why = %d, want whySession (the log's reason)", m.why.Load())
	}
}
