package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/commands/showqueue"
	"esash/mta/queue"
	"esash/shell/shelltest"
)

// BenchmarkShowqueueBig times the showqueue command path (the command,
// queueView, the queue's Stats and Next) over a queue of ESASH_BIGQUEUE
// messages (default 100,000; issue 17 asks for 1,000,000 under a second)
// built through the queue package, each deferred an hour as for an
// unreachable destination. first-s is the first call, ns/op the next:
//
//	ESASH_BIGQUEUE=1000000 go test -run '^$' -bench ShowqueueBig -benchtime 5x -timeout 1h ./cmd/esash/
func BenchmarkShowqueueBig(b *testing.B) {
	n := 100000
	if v := os.Getenv("ESASH_BIGQUEUE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("ESASH_BIGQUEUE=%q: want a count", v)
		}
	}
	q, err := queue.Open(b.TempDir(), queue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	fillQueue(b, q, n)
	a := shelltest.NewAppliance(b, shelltest.Options{}, showqueue.New(fixedQueue(q)))
	// The first call after the queue filled also drops the stale due
	// items every deferral left at the head of the heap (queue.Next).
	t0 := time.Now()
	a.Run(false, "showqueue\n")
	first := time.Since(t0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, _, _ := a.Run(false, "showqueue\n")
		if !strings.Contains(out, fmt.Sprintf("Messages in the queue: %d ", n)) || !strings.Contains(out, "more are not listed") {
			b.Fatalf("showqueue:\n%s", out)
		}
	}
	b.ReportMetric(first.Seconds(), "first-s")
}

// fillQueue puts n messages from many writers (group commit) and defers
// each an hour.
func fillQueue(b *testing.B, q *queue.Queue, n int) {
	now := time.Now()
	body := strings.Repeat("x", 200) + "\r\n"
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for mid := next.Add(1); mid <= int64(n); mid = next.Add(1) {
				m := queue.Meta{MID: mid, ICID: mid, Listener: "IncomingMail", RemoteIP: "192.0.2.17", HELO: "mail.sender.example",
					From: fmt.Sprintf("user%d@sender.example", mid%500), To: []string{fmt.Sprintf("rcpt%d@unreachable.example", mid)},
					TLS: &queue.TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"}, Time: now}
				if err := q.Put(m, strings.NewReader(body), int64(len(body))); err != nil {
					b.Error(err)
					return
				}
				if err := q.SetRetry(mid, 1, now.Add(time.Hour)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
