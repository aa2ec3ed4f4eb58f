package queue

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDueDropsStaleItems: a backlog deferred for hours and a stream of
// new mail delivered at once (the common case issue 17 is about): each
// delivered message leaves a stale item that is due, and the heap is
// rebuilt only once stale items are half of it, so without more every
// scan (one per received message: KickDelivery) would walk all of them:
// a backlog of a million means half a million items per scan. Due drops
// the stale items it finds at the top of the heap.
func TestDueDropsStaleItems(t *testing.T) {
	q, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	later := time.Now().Add(5 * time.Hour)
	// More stale items (stream) than the rebuild's 1024, fewer than half
	// of the heap.
	const backlog, stream = 1500, 1100
	for mid := int64(1); mid <= backlog; mid++ {
		m := Meta{MID: mid, To: []string{"b@y.test"}, NextTry: later}
		if err := q.Put(m, strings.NewReader("deferred"), int64(len("deferred"))); err != nil {
			t.Fatal(err)
		}
	}
	for mid := int64(backlog + 1); mid <= backlog+stream; mid++ {
		put(t, q, mid, "new")
		if got := q.Due(time.Now()); !slices.Equal(got, []int64{mid}) {
			t.Fatalf("Due %v, want [%d]", got, mid)
		}
		if err := q.Remove(mid); err != nil {
			t.Fatal(err)
		}
	}
	if got := q.Due(time.Now()); len(got) != 0 {
		t.Fatalf("Due %v after the stream, want none", got)
	}
	q.mu.RLock()
	items, live := len(q.due.items), len(q.index)
	q.mu.RUnlock()
	if items > live+1 {
		t.Fatalf("the heap holds %d items for %d messages: the delivered ones' stale items stay, walked by every scan", items, live)
	}
}
