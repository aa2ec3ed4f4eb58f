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
// When an opening fails (no answer, TLS policy, no free slot), the
// deliveries waiting for it take its outcome instead of trying in turn:
// they were going to the same host, from the same interface, under the
// same policy (the pool key), and a host that does not answer would
// otherwise hold them maxOpening at a time, a connect timeout each.

// maxOpening bounds the connections being opened at once per pool key.
const maxOpening = 2

// openFail is the outcome a failed opening gave its recipients, and
// open's result (may the next target be tried: !next).
type openFail struct {
	o      outcome
	result bool
}

// acquire returns an idle kept connection for key, or nil with mayOpen
// when the caller may open a new one, having taken an opening (given back
// by opened). It waits while maxOpening connections are being opened for
// key; fail is set when one of those failed meanwhile. Neither: the
// delivery loop is stopping.
func (s *Server) acquire(key string) (conn *outConn, mayOpen bool, fail *openFail) {
	d := &s.dlv
	for {
		d.mu.Lock()
		if conn := d.takeIdleLocked(key); conn != nil {
			d.mu.Unlock()
			return conn, false, nil
		}
		if d.opening[key] < maxOpening {
			if d.opening == nil {
				d.opening = map[string]int{}
			}
			d.opening[key]++
			d.mu.Unlock()
			return nil, true, nil
		}
		seen := d.openFails[key]
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
			return nil, false, nil
		}
		d.mu.Lock()
		f := d.openFails[key]
		d.mu.Unlock()
		if f != nil && f != seen {
			return nil, false, f
		}
	}
}

// opened gives back an opening taken by acquire; fail is its outcome when
// it failed, for the deliveries waiting (nil: it succeeded).
func (s *Server) opened(key string, fail *openFail) {
	d := &s.dlv
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.opening[key]--; d.opening[key] <= 0 {
		delete(d.opening, key)
	}
	if fail == nil {
		delete(d.openFails, key)
	} else {
		if d.openFails == nil {
			d.openFails = map[string]*openFail{}
		}
		d.openFails[key] = fail
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
