package queue

import (
	"slices"
	"time"
)

// The due index: a min-heap of (next try, MID) items, so that the
// delivery scan, run every second, visits the messages that are due and
// not the whole queue (a million messages deferred for an unreachable
// domain cost it nothing until their time comes; issue 17).
//
// Items are never updated in place: a retry record pushes an item with
// the new time, and the old one becomes stale, as does the item of a
// removed message. An item is live when its message is still indexed with
// that next try. Stale items are skipped where the scan meets them and
// dropped by rebuilding the heap from the index (writeBatch) once they are
// more than half the heap, so the heap stays under twice the queue's
// length and each rebuild is paid for by as many retries and removals.

type dueItem struct {
	at  int64 // NextTry in Unix nanoseconds; 0 for the zero time (at once)
	mid int64
}

type dueHeap struct {
	items []dueItem
	stale int // items known stale, counted as they become so
}

func dueAt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (a dueItem) less(b dueItem) bool { return a.at < b.at || a.at == b.at && a.mid < b.mid }

// push adds an item; guarded by Queue.mu. Before Open built the heap
// (rebuild), pushes are ignored: rebuild takes every message then.
func (h *dueHeap) push(t time.Time, mid int64) {
	if h.items == nil {
		return
	}
	h.items = append(h.items, dueItem{dueAt(t), mid})
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.items[i].less(h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

// rebuild makes the heap from the index: one live item per message.
func (h *dueHeap) rebuild(index map[int64]*entry) {
	items := make([]dueItem, 0, max(len(index), 16))
	for mid, e := range index {
		items = append(items, dueItem{dueAt(e.meta.NextTry), mid})
	}
	for i := len(items)/2 - 1; i >= 0; i-- {
		down(items, i)
	}
	h.items, h.stale = items, 0
}

func down(items []dueItem, i int) {
	for {
		l := 2*i + 1
		if l >= len(items) {
			return
		}
		m := l
		if r := l + 1; r < len(items) && items[r].less(items[l]) {
			m = r
		}
		if !items[m].less(items[i]) {
			return
		}
		items[i], items[m] = items[m], items[i]
		i = m
	}
}

// live reports an item whose message is indexed with that next try.
func (q *Queue) live(it dueItem) bool {
	e, ok := q.index[it.mid]
	return ok && dueAt(e.meta.NextTry) == it.at
}

// popStale drops the stale items at the top of the heap (Queue.mu held
// for writing). The messages delivered at once leave theirs there, the
// oldest first: without this every scan would walk them until a rebuild,
// which waits for them to be half the heap (half a million items behind
// a deferred backlog of a million).
func (q *Queue) popStale() {
	h := &q.due
	for len(h.items) > 0 && !q.live(h.items[0]) {
		last := len(h.items) - 1
		h.items[0] = h.items[last]
		h.items = h.items[:last]
		down(h.items, 0)
		if h.stale > 0 {
			h.stale--
		}
	}
}

// Due returns the MIDs of the messages whose next try is at or before
// now, oldest MID first. It visits only the heap's items due by now (live
// or stale), not the queue, once the stale ones at its top are dropped.
func (q *Queue) Due(now time.Time) []int64 {
	limit := now.UnixNano()
	q.mu.Lock()
	q.popStale()
	q.mu.Unlock()
	q.mu.RLock()
	var out []int64
	items := q.due.items
	stack := []int{0}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i >= len(items) || items[i].at > limit {
			continue // and so is every item below it
		}
		if q.live(items[i]) {
			out = append(out, items[i].mid)
		}
		stack = append(stack, 2*i+1, 2*i+2)
	}
	q.mu.RUnlock()
	slices.Sort(out)
	return slices.Compact(out) // a message re-put under its MID may have two live items
}
