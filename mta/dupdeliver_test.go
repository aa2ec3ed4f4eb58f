package mta

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"esash/config"
)

// closedPort is a loopback address and port nothing listens on: a
// connection to it is refused at once, so its recipients defer.
func closedPort(t testing.TB) (string, int) {
	t.Helper()
	ip := sinkIP()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return ip, port
}

var subjectMID = regexp.MustCompile(`(?m)^Subject: test (\d+)\r?$`)

// copiesAt counts what a sink received per (message, recipient): the
// message is known by the "Subject: test <MID>" line enqueue writes.
func copiesAt(t testing.TB, msgs []received) map[string]int {
	t.Helper()
	copies := map[string]int{}
	for _, m := range msgs {
		sm := subjectMID.FindStringSubmatch(m.data)
		if sm == nil {
			t.Fatalf("sink got a message without its test subject:\n%s", m.data)
		}
		for _, to := range m.to {
			copies[sm[1]+" "+to]++
		}
	}
	return copies
}

// duplicates is how many copies beyond the first copies holds.
func duplicates(copies map[string]int) (n int, some []string) {
	for k, c := range copies {
		if c > 1 {
			n += c - 1
			if len(some) < 5 {
				some = append(some, fmt.Sprintf("%s ×%d", k, c))
			}
		}
	}
	return n, some
}

// waitLong polls cond until it holds or a generous deadline passes (the
// machine may be loaded: the deadline bounds a hang, it times nothing).
func waitLong(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeliverNoDuplicates is issue 12 item 5 without faults: thousands of
// two-recipient messages, one recipient at a sink that accepts, the other
// at a closed port so that it defers and is retried again and again while
// new messages arrive. Each (message, recipient) must reach the sink once.
// Retries come every few milliseconds and the queue is scanned every
// millisecond, so scans overlap deliveries in progress all the time: a scan
// that acted on the queue as it was when it began sent the already
// delivered recipient again (dozens of duplicates per run).
func TestDeliverNoDuplicates(t *testing.T) {
	const messages = 3000
	p := newPKI(t)
	sink := startGoSink(t, nil)
	deadIP, deadPort := closedPort(t)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{
		"sink.test": hp(sink.addr, sink.port), "dead.test": hp(deadIP, deadPort)})
	s, _ := startOut(t, cfg, func(o *Options) {
		o.Delivery.Poll = time.Millisecond
		o.Delivery.RetryInitial, o.Delivery.RetryMax = time.Millisecond, 20*time.Millisecond
	})
	// Messages arrive while earlier ones are delivered and retried, from
	// a few submitters at once, as from several clients.
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < messages/4; i++ {
				enqueue(t, s, "alice@example.com", "bob@sink.test", "carol@dead.test")
			}
		}()
	}
	wg.Wait()
	// Done when the sink holds every message and no queued message still
	// lists the sink's recipient (only the deferred ones remain). Stop at
	// the first duplicate: the test has failed then.
	waitLong(t, "every message at the sink", 3*time.Minute, func() bool {
		copies := copiesAt(t, sink.list())
		if n, _ := duplicates(copies); n > 0 || len(copies) < messages {
			return n > 0
		}
		for _, m := range s.queue.List() {
			if len(m.To) != 1 || m.To[0] != "carol@dead.test" {
				return false
			}
		}
		return true
	})
	// Deliveries still in progress end before counting.
	s.stopDelivery()
	copies := copiesAt(t, sink.list())
	dup, some := duplicates(copies)
	if dup > 0 {
		t.Fatalf("%d duplicate deliveries in %d messages (e.g. %s)", dup, messages, strings.Join(some, ", "))
	}
	if len(copies) != messages {
		t.Errorf("%d of %d messages reached the sink", len(copies), messages)
	}
	// Every message is still queued for its deferred recipient, with the
	// right recipient IDs (carol was RID 1).
	if n, _ := s.queue.Len(); n != messages {
		t.Errorf("%d messages queued, want %d", n, messages)
	}
	for _, m := range s.queue.List() {
		if len(m.To) != 1 || m.To[0] != "carol@dead.test" || len(m.RIDs) != 1 || m.RIDs[0] != 1 {
			t.Fatalf("MID %d queued for %v (RIDs %v), want carol@dead.test (RID 1)", m.MID, m.To, m.RIDs)
		}
	}
}

// stallingPeer accepts connections and never greets; it reports each
// connection it accepts on the returned channel.
func stallingPeer(t testing.TB) (string, int, chan net.Conn) {
	t.Helper()
	ip := sinkIP()
	ln, err := net.Listen("tcp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			conns <- c
		}
	}()
	return ip, ln.Addr().(*net.TCPAddr).Port, conns
}

// TestDeliveredRecordedBeforeNextDomain: the recipients of one domain
// that were delivered are recorded in the queue before the next domain
// is tried, so a crash while that one hangs (up to the delivery timeout)
// does not send them again: only the delivery in progress is in flight.
func TestDeliveredRecordedBeforeNextDomain(t *testing.T) {
	p := newPKI(t)
	sink := startGoSink(t, nil)
	slowIP, slowPort, conns := stallingPeer(t)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{
		"sink.test": hp(sink.addr, sink.port), "slow.test": hp(slowIP, slowPort)})
	s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Timeout = time.Minute })
	mid := enqueue(t, s, "alice@example.com", "bob@sink.test", "carol@slow.test", "dave@sink.test")
	var c net.Conn
	waitLong(t, "the connection to slow.test", time.Minute, func() bool {
		select {
		case c = <-conns:
			return true
		default:
			return false
		}
	})
	if n := len(sink.list()); n != 1 {
		t.Fatalf("sink got %d messages, want 1", n)
	}
	m, ok := s.queue.Get(mid)
	if !ok || fmt.Sprint(m.To, m.RIDs) != "[carol@slow.test] [1]" {
		t.Fatalf("while slow.test is tried, MID %d is queued for %v (RIDs %v), want [carol@slow.test] (RID 1)", mid, m.To, m.RIDs)
	}
	// The slow peer goes away: carol is deferred, still RID 1.
	c.Close()
	waitLong(t, "the retry recorded", time.Minute, func() bool { m, _ = s.queue.Get(mid); return m.Attempts > 0 })
	if fmt.Sprint(m.To, m.RIDs) != "[carol@slow.test] [1]" {
		t.Fatalf("after the attempt, MID %d is queued for %v (RIDs %v)", mid, m.To, m.RIDs)
	}
	if n := len(sink.list()); n != 1 {
		t.Fatalf("sink got %d messages, want 1", n)
	}
}
