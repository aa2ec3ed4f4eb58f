package mta

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
)

// BenchmarkDeliverE2E: 50 clients send 4 KiB messages with STARTTLS into
// a listener; esash delivers them with Required TLS to a go-smtp receiver
// over kept connections. Reports messages/s end to end, TLS handshakes
// per delivered message, the deepest queue seen and the queue depth
// sampled every 100 ms (max, mean and a short series in the log).
func BenchmarkDeliverE2E(b *testing.B) {
	p := newPKI(b)
	cert := p.leaf(b, "sink", "sink.test")
	sink := startGoSink(b, &cert)
	cfg := baseConfig(b, p, config.TLSInPreferred)
	cfg.Destinations.Default.TLS = config.TLSOutRequired
	for i := range cfg.Listeners[0].Policies {
		cfg.Listeners[0].Policies[i].Params.MaxConcurrency = 0
	}
	cfg.Listeners[0].DefaultPolicy.MaxConcurrency = 1000
	cfg.Listeners[0].MaxConnections = 1000
	cfg.Routes = []config.Route{{Domain: "sink.test", Hosts: []config.RouteHost{{Host: sink.addr, Port: sink.port}}}}
	dir := b.TempDir()
	s := startMTA(b, dir, cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 5 * time.Millisecond, RetryInitial: time.Second, Timeout: 10 * time.Second}
	})
	body := "Subject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 4096/80)
	const clients = 50
	var maxDepth atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if n, _ := s.queue.Len(); int64(n) > maxDepth.Load() {
				maxDepth.Store(int64(n))
			}
		}
	}()
	// Queue depth over time: one sample every 100 ms from the first send
	// until everything is delivered, reported as a short series.
	var series []int
	seriesDone := make(chan struct{})
	go func() {
		defer close(seriesDone)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			n, _ := s.queue.Len()
			series = append(series, n)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := send(b, addr(cfg), clientTLS(p, "mx.test.local"), "a@x.test", []string{"b@sink.test"}, body); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	for len(sink.list()) < b.N && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	close(stop)
	<-seriesDone
	if got := len(sink.list()); got < b.N {
		b.Fatalf("%d of %d delivered", got, b.N)
	}
	ll := logLines(b, dir)
	if testing.Verbose() && len(ll) > 6000 {
		b.Log(ll[len(ll)-6000:])
	}
	hs := 0
	for _, l := range strings.Split(ll, "\n") {
		if strings.Contains(l, "DCID") && strings.Contains(l, "TLS success protocol") {
			hs++
		}
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(float64(hs)/float64(b.N), "out-handshakes/msg")
	b.ReportMetric(float64(maxDepth.Load()), "max-queue")
	maxS, sum := 0, 0
	for _, n := range series {
		maxS = max(maxS, n)
		sum += n
	}
	b.ReportMetric(float64(maxS), "max-queue-100ms")
	b.ReportMetric(float64(sum)/float64(len(series)), "mean-queue-100ms")
	b.Logf("N=%d in %v: queue depth every 100ms (%d samples, max %d; at most %d shown, each the max of its bucket): %v",
		b.N, el.Round(time.Millisecond), len(series), maxS, seriesShown, shortSeries(series, seriesShown))
}

// seriesShown bounds the queue-depth series the benchmark logs.
const seriesShown = 30

// shortSeries folds a into at most n buckets, keeping each bucket's max.
func shortSeries(a []int, n int) []int {
	if len(a) <= n {
		return a
	}
	out := make([]int, n)
	for i, v := range a {
		j := i * n / len(a)
		out[j] = max(out[j], v)
	}
	return out
}
