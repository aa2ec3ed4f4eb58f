package mta

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
)

// TestDeliverySlotFreedBeforeRecords: with one worker and the queue's
// syncs held up (a slow disk), deliveries go on: the worker gives its slot
// back once the remote server has answered, and the removal of a
// delivered message (queue.Done) waits for no sync at all (issue 17:
// workers idling in the removal's fsync let the queue grow behind them).
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
	defer close(gate)
	waitFor(t, "both messages at the sink and out of the queue while the queue's syncs are held up", func() bool {
		return len(sink.list()) == 2 && !inQueue(s, m1) && !inQueue(s, m2)
	})
}

// TestDeliverWaitingWokenBySlot: a message that found its destination's
// connections all in use is dispatched again as soon as one is free (a
// kept connection parked, or one closed), not at the next poll, and the
// per-destination limit holds while thirty messages compete for two
// connections.
func TestDeliverWaitingWokenBySlot(t *testing.T) {
	p := newPKI(t)
	sink := startGoSink(t, nil, func(g *goSink) { g.hold = 50 * time.Millisecond })
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"sink.test": hp(sink.addr, sink.port)})
	cfg.Destinations.Entries = append(cfg.Destinations.Entries, config.DestControl{Domain: "sink.test", MaxConcurrency: 2, TLS: config.TLSOutNo})
	cfg.Destinations.Default.MaxMsgsPerConn = 4 // connections close and reopen too
	s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.Poll = time.Hour })
	var mids []int64
	for i := range 30 {
		mids = append(mids, enqueue(t, s, "", fmt.Sprintf("r%d@sink.test", i)))
	}
	waitFor(t, "all at the sink without a poll", func() bool { return len(sink.list()) == len(mids) })
	for _, mid := range mids {
		waitFor(t, "removal", func() bool { return !inQueue(s, mid) })
	}
	if got := sink.maxActive.Load(); got > 2 {
		t.Errorf("%d connections at once to sink.test, limit 2", got)
	}
	if strings.Contains(logLines(t, dir), "Delayed:") {
		t.Error("waiting for a connection slot was logged as a delay")
	}
}

// TestDeliverTLSResumption: a new connection to a server seen before
// resumes its TLS session from the ticket it gave, and the destination's
// verification still runs (and logs) on every connection.
func TestDeliverTLSResumption(t *testing.T) {
	p := newPKI(t)
	cert := p.leaf(t, "sink", "sink.test")
	for _, mode := range []config.TLSOut{config.TLSOutRequired, config.TLSOutRequiredVerify} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			sink := startGoSink(t, &cert)
			cfg := outCfg(t, p, mode, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			cfg.Destinations.Default.MaxMsgsPerConn = 1 // a connection per message
			s, dir := startOut(t, cfg, func(o *Options) { o.Delivery.Workers = 1 })
			for i := range 3 {
				mid := enqueue(t, s, "", fmt.Sprintf("r%d@sink.test", i))
				waitFor(t, "delivery", func() bool { return !inQueue(s, mid) })
			}
			var resumed []bool
			for _, r := range sink.list() {
				resumed = append(resumed, r.resumed)
			}
			if fmt.Sprint(resumed) != "[false true true]" {
				t.Errorf("sessions resumed %v, want [false true true]", resumed)
			}
			if n := strings.Count(logLines(t, dir), "TLS success"); n != 3 {
				t.Errorf("%d TLS success lines for 3 connections", n)
			}
		})
	}
}
