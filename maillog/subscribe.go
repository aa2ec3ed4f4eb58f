package maillog

// subscriber is one live tail. A pointer is the map key so cancel can find
// and remove exactly its own entry.
type subscriber struct {
	ch chan string
}

// Subscribe streams every line written after the call (without the trailing
// newline) to the returned channel, for an in-process "tail -f".
//
// The writer never waits for a subscriber: if the channel buffer is full the
// line is dropped for that subscriber and counted in Dropped, because a stuck
// terminal must not stall mail delivery. cancel is idempotent and closes the
// channel; Close also closes every subscriber channel.
func (l *Log) Subscribe() (<-chan string, func()) {
	s := &subscriber{ch: make(chan string, l.opts.SubscriberBuffer)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	l.subs[s] = struct{}{}
	cancel := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		// Close may already have closed the channel; the map entry tells.
		if _, ok := l.subs[s]; ok {
			delete(l.subs, s)
			close(s.ch)
		}
	}
	return s.ch, cancel
}

// Dropped is the total number of lines not delivered to slow subscribers.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// publish hands line to every subscriber without blocking. Callers hold mu,
// which both orders lines as in the file and keeps cancel from closing a
// channel mid-send.
func (l *Log) publish(line string) {
	for s := range l.subs {
		select {
		case s.ch <- line:
		default:
			l.dropped.Add(1)
		}
	}
}
