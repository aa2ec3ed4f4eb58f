package web

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
)

// HTTPS connections and the certificate each was opened with. Browsers
// keep connections open between pages and open spare ones ahead of time;
// after a commit that changes an address's certificate, a connection made
// with the old one must not carry another request, or the browser would
// go on seeing the old certificate. Such a connection is closed at once
// when it is between requests, and after its response otherwise.

type connSet struct {
	mu sync.Mutex
	m  map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	set  *connSet
	addr netip.AddrPort

	mu    sync.Mutex
	cert  *tls.Certificate // what the handshake served
	state http.ConnState
	stale bool
	once  sync.Once
}

// track registers a new connection on addr.
func (cs *connSet) track(c net.Conn, addr netip.AddrPort) *trackedConn {
	tc := &trackedConn{Conn: c, set: cs, addr: addr}
	cs.mu.Lock()
	cs.m[tc] = struct{}{}
	cs.mu.Unlock()
	return tc
}

func (tc *trackedConn) served(cert *tls.Certificate) {
	tc.mu.Lock()
	tc.cert = cert
	tc.mu.Unlock()
}

func (tc *trackedConn) Close() error {
	err := tc.Conn.Close()
	tc.once.Do(func() {
		tc.set.mu.Lock()
		delete(tc.set.m, tc)
		tc.set.mu.Unlock()
	})
	return err
}

// state is the http.Server's ConnState hook.
func (cs *connSet) state(c net.Conn, st http.ConnState) {
	tlsConn, ok := c.(*tls.Conn)
	if !ok {
		return
	}
	tc, ok := tlsConn.NetConn().(*trackedConn)
	if !ok {
		return
	}
	tc.mu.Lock()
	tc.state = st
	stale := tc.stale
	tc.mu.Unlock()
	switch {
	case st == http.StateClosed || st == http.StateHijacked:
		tc.once.Do(func() {
			cs.mu.Lock()
			delete(cs.m, tc)
			cs.mu.Unlock()
		})
	case st == http.StateIdle && stale:
		tc.Close()
	}
}

// retire marks the connections whose certificate rt no longer serves on
// their address, and closes those between requests.
func (cs *connSet) retire(rt *runtime) {
	cs.mu.Lock()
	all := make([]*trackedConn, 0, len(cs.m))
	for tc := range cs.m {
		all = append(all, tc)
	}
	cs.mu.Unlock()
	for _, tc := range all {
		var now *tls.Certificate
		if ep := rt.endpoints[tc.addr]; ep != nil {
			now = ep.cert
		}
		tc.mu.Lock()
		retire := tc.cert != nil && !sameChain(tc.cert, now)
		if retire {
			tc.stale = true
		}
		idle := tc.state == http.StateIdle || tc.state == http.StateNew
		tc.mu.Unlock()
		if retire && idle {
			tc.Close()
		}
	}
}

func sameChain(a, b *tls.Certificate) bool {
	return a != nil && b != nil && slices.EqualFunc(a.Certificate, b.Certificate, bytes.Equal)
}
