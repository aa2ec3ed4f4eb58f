package mta

import (
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
)

// TestDeliverySlotFreedBeforeRecords: a worker gives its slot back once
// the remote server has answered, not after the queue's group commit of
// the removal: with one worker and the queue's sync held up, the next
// message is still delivered (issue 17: workers idling in the removal's
// fsync let the queue grow behind them).
func TestDeliverySlotFreedBeforeRecords(t *testing.T) {
	p := newPKI(t)
	// The sink holds each message a little, so the first delivery is
	// still in progress when the queue's syncs are held up below.
	sink := startGoSink(t, nil, func(g *goSink) { g.hold = 300 * time.Millisecond })
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	var holding atomic.Bool
	gate := make(chan struct{})
	s, _ := startOut(t, cfg, func(o *Options) {
		o.Delivery.Workers = 1
		o.QueueBeforeSync = func() error {
			if holding.Load() {
				<-gate
			}
			return nil
		}
	})
	m1 := enqueue(t, s, "", "a@sink.test")
	m2 := enqueue(t, s, "", "b@sink.test")
	holding.Store(true)
	released := false
	release := func() {
		if !released {
			released = true
			holding.Store(false)
			close(gate)
		}
	}
	defer release()
	waitFor(t, "both messages at the sink while the first one's removal waits for its sync", func() bool { return len(sink.list()) == 2 })
	if !inQueue(s, m1) {
		t.Error("the first message was removed while the queue's syncs were held up")
	}
	release()
	waitFor(t, "both removed", func() bool { return !inQueue(s, m1) && !inQueue(s, m2) })
}
