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
