package mta

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"esash/config"
	"esash/mta/queue"
)

// TestDiscardRouteReadsNothing: a message whose recipients are all routed
// to /dev/null is removed from the queue without its bytes being read. The
// proof is a message whose bytes are damaged on disk (an older segment,
// so its checksum is checked when it is first read): read, it would fail
// and wait for a retry; discarded unread, it leaves the queue, and so does
// a sound one beside it.
func TestDiscardRouteReadsNothing(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "queue")
	q, err := queue.Open(qdir, queue.Options{SegmentSize: 1}) // a segment per message
	if err != nil {
		t.Fatal(err)
	}
	for mid := int64(1); mid <= 2; mid++ {
		body := "Subject: discard\r\n\r\nhello\r\n"
		m := queue.Meta{MID: mid, From: "a@client.test", To: []string{"x@void.test", "y@VOID.test"}, Time: time.Now()}
		if err := q.Put(m, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(qdir, "q-0000000000000001.seg")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("hello"))
	if i < 0 {
		t.Fatal("message 1 not in the first segment")
	}
	b[i] = 'j'
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	p := newPKI(t)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"void.test": "/dev/null"})
	errs := make(chan string, 16)
	s := startMTA(t, dir, cfg, func(o *Options) {
		o.Delivery = DeliveryOptions{Enabled: true, Poll: 20 * time.Millisecond, RetryInitial: time.Hour, Timeout: 5 * time.Second}
		o.ErrorLog = func(format string, args ...any) {
			select {
			case errs <- format:
			default:
			}
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		if n, _ := s.queue.Len(); n == 0 {
			break
		}
		select {
		case e := <-errs:
			t.Fatalf("the discarded message was read: %s", e)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the messages routed to /dev/null are still queued")
		}
		s.KickDelivery()
		time.Sleep(10 * time.Millisecond)
	}
}
