package queue

// trimDue pops the stale items at the head of the due heap, once per
// written batch. A message deferred on its first try leaves its at-once
// item stale at the very head, where every Due (each second) and every
// Next would otherwise walk past all of them until a rebuild: a million
// messages deferred since the last restart were a million items visited
// per scan (first showqueue after filling a queue of 1,000,000: 0.45 s
// before this, BenchmarkShowqueueBig). Each stale item is popped once,
// O(log n), paid by the retry or removal that made it stale. Guarded by
// q.mu (write).
func (q *Queue) trimDue() {
	h := &q.due
	for len(h.items) > 0 && h.stale > 0 {
		it := h.items[0]
		if e, ok := q.index[it.mid]; ok && dueAt(e.meta.NextTry) == it.at {
			return
		}
		h.pop()
		h.stale--
	}
}
