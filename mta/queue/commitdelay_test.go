package queue

import (
	"sync/atomic"
	"testing"
	"time"
)

// A message that finds siblings on their way waits for them: one sync
// covers it and the sibling that comes next. The delay is an hour, so the
// test ends only because the sibling's arrival, with none left after it,
// ends the wait.
func TestCommitDelayWaitsForSiblings(t *testing.T) {
	var syncs, siblings atomic.Int64
	siblings.Store(1)
	deciding := make(chan struct{}, 1)
	q, err := Open(t.TempDir(), Options{
		CommitDelay: time.Hour,
		BeforeSync:  func() error { syncs.Add(1); return nil },
		Siblings: func() int {
			select {
			case deciding <- struct{}{}:
			default:
			}
			return int(siblings.Load())
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	first := make(chan error, 1)
	go func() {
		first <- q.PutBytes(Meta{MID: 1, From: "a@x.test", To: []string{"b@y.test"}}, []byte("one\r\n"))
	}()
	select { // the writer holds MID 1 and has asked for siblings
	case <-deciding:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never asked for siblings")
	}
	select {
	case err := <-first:
		t.Fatalf("MID 1 was answered (%v) with a sibling on its way", err)
	default:
	}
	siblings.Store(0)
	put(t, q, 2, "two")
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := syncs.Load(); n != 1 {
		t.Fatalf("%d syncs for two messages committed together, want 1", n)
	}
}

// No sibling: no wait (with an hour's delay, a wait would hang the test).
// Siblings that never come: the delay ends the wait.
func TestCommitDelayBounded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		delay    time.Duration
		siblings int
	}{
		{"lone sender", time.Hour, 0},
		{"siblings that never come", 20 * time.Millisecond, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Open(t.TempDir(), Options{CommitDelay: tc.delay, Siblings: func() int { return tc.siblings }})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			put(t, q, 1, "one")
			put(t, q, 2, "two")
			if n, _ := q.Len(); n != 2 {
				t.Fatalf("%d messages queued, want 2", n)
			}
		})
	}
}

// Only a message waits for siblings (Options.CommitDelay): the records
// of deliveries and of the CLI (retry times, recipients left, removals)
// are written at once. DeliverNow reschedules a whole queue one SetRetry
// after another; each waiting out the delay while some client sits in an
// open transaction made it a millisecond per message longer. The delay
// is an hour, so a record that waits is seen (the wait for its answer is
// generous; Close ends the wait of a failing run).
func TestCommitDelayOnlyForMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(q *Queue) error
	}{
		{"retry time", func(q *Queue) error { return q.SetRetry(1, 1, time.Now().Add(time.Minute)) }},
		{"recipients left", func(q *Queue) error { return q.SetRecipients(1, []string{"c@y.test"}, []int{1}) }},
		{"removal", func(q *Queue) error { return q.Remove(1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var siblings atomic.Int64
			q, err := Open(t.TempDir(), Options{CommitDelay: time.Hour, Siblings: func() int { return int(siblings.Load()) }})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if err := q.PutBytes(Meta{MID: 1, From: "a@x.test", To: []string{"b@y.test", "c@y.test"}}, []byte("one\r\n")); err != nil {
				t.Fatal(err)
			}
			siblings.Store(1) // a client in an open transaction, for good
			done := make(chan error, 1)
			go func() { done <- tc.write(q) }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the record waited for the siblings of a message")
			}
		})
	}
}
