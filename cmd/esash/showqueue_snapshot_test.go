package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"esash/commands/showqueue"
	"esash/mta/queue"
	"esash/shell/shelltest"
)

// deliveringQueue is the queue as showqueue reads it, with deliveries
// done right after its first read.
type deliveringQueue struct {
	queueView
	deliver func()
}

func (d *deliveringQueue) Overview(top, n int) (showqueue.Summary, []showqueue.Message) {
	s, next := d.queueView.Overview(top, n)
	if d.deliver != nil {
		d.deliver()
		d.deliver = nil
	}
	return s, next
}

// TestShowqueueIsOneSnapshot: showqueue counted the queue and listed the
// messages next in line from two reads, so messages delivered in between
// were counted but not listed, and the listing said they were "not
// listed" while they were gone. The deliveries run right after
// showqueue's first read of the queue (the counts, then; now both).
func TestShowqueueIsOneSnapshot(t *testing.T) {
	q, err := queue.Open(t.TempDir(), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	now := time.Now()
	for mid := int64(1); mid <= 25; mid++ {
		m := queue.Meta{MID: mid, From: "a@sender.example", To: []string{fmt.Sprintf("r%d@dest.example", mid)}, Time: now}
		if err := q.PutBytes(m, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	dq := &deliveringQueue{queueView: fixedQueue(q), deliver: func() {
		for mid := int64(1); mid <= 10; mid++ {
			if err := q.Remove(mid); err != nil {
				t.Error(err)
			}
		}
	}}
	a := shelltest.NewAppliance(t, shelltest.Options{}, showqueue.New(dq))
	out, _, _ := a.Run(false, "showqueue\n")
	if dq.deliver != nil {
		t.Fatal("showqueue did not read the queue; the test no longer delivers inside it")
	}
	m := regexp.MustCompile(`Messages in the queue: (\d+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no count:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
	listed := regexp.MustCompile(`(?m)^\d+ +\d+ +\d+ +<`).FindAllString(out, -1)
	if len(listed) != min(total, 20) {
		t.Errorf("%d messages counted, %d listed: want the first %d of those counted\n%s", total, len(listed), min(total, 20), out)
	}
	if more := total - len(listed); more > 0 && !strings.Contains(out, fmt.Sprintf("; %d more are not listed", more)) {
		t.Errorf("no line that %d are not listed:\n%s", more, out)
	}
}
