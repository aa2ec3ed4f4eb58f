package mta

import (
	"context"
	"testing"
	"time"
)

// TestTLSRPTHangingRuaDoesNotHoldClose: a domain's https: rua that
// accepts the report and never answers must not hold up the MTA's Close
// for the report's timeout (the delivery timeout, here an hour; per
// domain, serially): stopping the report loop cancels the report in
// progress.
func TestTLSRPTHangingRuaDoesNotHoldClose(t *testing.T) {
	w := newSTSWorldRpt(t, map[string]string{"good.test": "v=TLSRPTv1; rua=https://mta-sts.rpt.test:{port}/hang"})
	hold := make(chan struct{})
	w.ps.mu.Lock()
	w.ps.hold["rpt.test"] = hold // a POST to /hang waits on it
	w.ps.mu.Unlock()
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	s, _ := startOut(t, w.cfg, w.opts, func(o *Options) {
		o.Delivery.Timeout = time.Hour
		o.MTASTS.ReportInterval = 200 * time.Millisecond
	})
	good := enqueue(t, s, "a@example.com", "b@good.test")
	stsWait(t, "delivery to good.test", func() bool { return sinkHas(w.sink, "b@good.test") && !inQueue(s, good) })
	fetches := w.ps.requests.Load()
	stsWait(t, "the report POSTed to the hanging rua", func() bool { return w.ps.requests.Load() > fetches })

	closed := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(60 * time.Second): // the report's own timeout is an hour
		release()
		<-closed
		t.Fatal("Close waited for a TLS-RPT report to a rua that does not answer")
	}
}
