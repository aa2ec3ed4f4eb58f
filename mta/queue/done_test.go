package queue

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eventually polls cond for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Done removes at once and costs no sync of its own: its tombstone rides
// on the next batch's sync, or on the lazy timer's when none comes, and
// holds across a reopen.
func TestDone(t *testing.T) {
	tests := []struct {
		name     string
		lazySync time.Duration
		// after Done(2) with three syncs done: what makes the
		// tombstone durable, and the syncs counted then.
		durable   func(t *testing.T, q *Queue)
		wantSyncs int64
	}{
		{"with the next message", time.Hour, func(t *testing.T, q *Queue) { put(t, q, 4, "four") }, 4},
		{"by the lazy timer", 20 * time.Millisecond, func(t *testing.T, q *Queue) {}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var syncs atomic.Int64
			q, err := Open(dir, Options{LazySync: tt.lazySync, BeforeSync: func() error { syncs.Add(1); return nil }})
			if err != nil {
				t.Fatal(err)
			}
			for mid := int64(1); mid <= 3; mid++ {
				put(t, q, mid, fmt.Sprint("message ", mid))
			}
			if err := q.Done(2); err != nil {
				t.Fatal(err)
			}
			if _, ok := q.Get(2); ok {
				t.Fatal("MID 2 is still queued after Done")
			}
			if err := q.Done(2); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second Done: %v", err)
			}
			if tt.lazySync == time.Hour {
				time.Sleep(20 * time.Millisecond) // the writer has had time to sync, if it would
				if n := syncs.Load(); n != 3 {
					t.Fatalf("%d syncs after three messages and a Done, want 3", n)
				}
			}
			tt.durable(t, q)
			eventually(t, fmt.Sprintf("%d syncs", tt.wantSyncs), func() bool { return syncs.Load() == tt.wantSyncs })
			q = reopen(t, q, dir)
			for _, m := range q.List() {
				if m.MID == 2 {
					t.Fatalf("MID 2 is back after reopening: %+v", q.List())
				}
			}
		})
	}
}

// Done on every message while others are put, across segment rotations:
// every segment but the current one is collected, nothing comes back.
func TestDoneConcurrentAndRotation(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				mid := int64(w*1000 + i)
				put(t, q, mid, strings.Repeat("m", 4096))
				if err := q.Done(mid); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if n, _ := q.Len(); n != 0 {
		t.Fatalf("len %d after Done of every message", n)
	}
	eventually(t, "one segment left", func() bool {
		put(t, q, 99999, "x") // a batch: the writer collects after it
		if err := q.Done(99999); err != nil {
			t.Fatal(err)
		}
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return len(segs) == 1
	})
	q = reopen(t, q, dir)
	if n, _ := q.Len(); n != 0 {
		t.Fatalf("resurrected %d", n)
	}
}
