package mta

// Slow start: at most maxOpening connections are being opened at once to
// one destination (pool key). A burst of messages no longer opens one
// connection each, all handshaking at once while the first one ready
// could carry them in turn: the others wait for a kept connection to be
// parked or for an opening to end, and the destination's connections grow
// by maxOpening per handshake while messages keep coming, as Postfix's
// queue manager grows a destination's concurrency (issue 17: the relay's
// first messages waited half a second behind 32 simultaneous handshakes
// on a loaded core, and a short burst cost a handshake per message).
// Waiting holds the worker slot; it ends with the delivery loop's stop.

// maxOpening bounds the connections being opened at once per pool key.
const maxOpening = 2

// acquire returns an idle kept connection for key, or nil with mayOpen
// when the caller may open a new one, having taken an opening (given back
// by opened). It waits while maxOpening connections are being opened for
// key. nil without mayOpen: the delivery loop is stopping.
func (s *Server) acquire(key string) (conn *outConn, mayOpen bool) {
	d := &s.dlv
	for {
		d.mu.Lock()
		if conn := d.takeIdleLocked(key); conn != nil {
			d.mu.Unlock()
			return conn, false
		}
		if d.opening[key] < maxOpening {
			if d.opening == nil {
				d.opening = map[string]int{}
			}
			d.opening[key]++
			d.mu.Unlock()
			return nil, true
		}
		if d.freedFor == nil {
			d.freedFor = map[string]chan struct{}{}
		}
		ch, ok := d.freedFor[key]
		if !ok {
			ch = make(chan struct{})
			d.freedFor[key] = ch
		}
		d.mu.Unlock()
		select {
		case <-ch:
		case <-d.ctx.Done():
			return nil, false
		}
	}
}

// opened gives back an opening taken by acquire, whatever came of it.
func (s *Server) opened(key string) {
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opening[key]--; d.opening[key] <= 0 {
		delete(d.opening, key)
	}
	d.wakeKeyLocked(key)
}

// wakeKeyLocked wakes the deliveries waiting in acquire for key (d.mu
// held).
func (d *delivery) wakeKeyLocked(key string) {
	if ch, ok := d.freedFor[key]; ok {
		close(ch)
		delete(d.freedFor, key)
	}
}
