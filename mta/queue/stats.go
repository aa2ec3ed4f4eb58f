package queue

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// The queue's summary, kept as the index changes, so that showqueue on a
// queue of a million messages costs the number of destination domains and
// the few messages it lists, not the queue's length (issue 17): List
// copies every entry's metadata (seconds at a million), Stats and Next
// copy nothing per message.
//
// count is called wherever the index gains or loses an entry or an
// entry's recipients change (replay and writeBatch, forget), under q.mu
// or by Open's single goroutine.

// DomainStats is what the queue holds for one recipient domain.
type DomainStats struct {
	Domain     string // lower case
	Messages   int    // messages with at least one recipient still due there
	Recipients int    // recipients still due there
}

// Stats is the queue's summary.
type Stats struct {
	Messages   int
	Recipients int
	Bytes      int64
	// Domains are the destination domains, most recipients first (then
	// by name), at most the number Stats was asked for; DomainCount is
	// how many there are in all.
	Domains     []DomainStats
	DomainCount int
	// Oldest is the lowest MID queued (MIDs grow with arrival) and its
	// arrival time; zero when the queue is empty.
	OldestMID  int64
	OldestTime time.Time
	// Loading: the queue is still replaying its segments (Background),
	// so the figures cover the messages read so far.
	Loading bool
}

type domainCount struct{ messages, recipients int }

// queueStats is guarded by Queue.mu.
type queueStats struct {
	recipients int
	domains    map[string]*domainCount
	// minMID is the lowest MID indexed, maxMID the highest ever indexed;
	// when minMID leaves, the next is found by probing the MIDs above it
	// (MIDs are allocated in order, so each is passed over once), or by
	// a scan when the gap is wider than maxProbe.
	minMID, maxMID int64
}

const maxProbe = 1 << 16

// domainOf is the lower-cased domain of an address ("" without one).
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// count adds (sign 1) or takes away (sign -1) an entry's recipients and
// domains from the summary.
func (q *Queue) count(e *entry, sign int) {
	st := &q.stats
	if st.domains == nil {
		st.domains = map[string]*domainCount{}
	}
	to := e.meta.To
	st.recipients += sign * len(to)
	for i, r := range to {
		d := domainOf(r)
		first := true // the message counts once per domain
		for _, p := range to[:i] {
			if domainOf(p) == d {
				first = false
				break
			}
		}
		dc := st.domains[d]
		if dc == nil {
			dc = &domainCount{}
			st.domains[strings.Clone(d)] = dc
		}
		dc.recipients += sign
		if first {
			dc.messages += sign
		}
		if dc.recipients == 0 {
			delete(st.domains, d)
		}
	}
}

// indexed notes a MID entering the index (after count(e, 1) on a new
// entry); unindexed one leaving it.
func (q *Queue) indexed(mid int64) {
	st := &q.stats
	if len(q.index) == 1 || mid < st.minMID {
		st.minMID = mid
	}
	st.maxMID = max(st.maxMID, mid)
}

func (q *Queue) unindexed(mid int64) {
	st := &q.stats
	if mid != st.minMID || len(q.index) == 0 {
		return
	}
	for m := mid + 1; m <= st.maxMID && m-mid <= maxProbe; m++ {
		if _, ok := q.index[m]; ok {
			st.minMID = m
			return
		}
	}
	st.minMID = 0
	for m := range q.index {
		if st.minMID == 0 || m < st.minMID {
			st.minMID = m
		}
	}
}

// Stats returns the queue's summary with at most topDomains domains.
func (q *Queue) Stats(topDomains int) Stats {
	q.mu.RLock()
	s := q.statsLocked()
	q.mu.RUnlock()
	return q.top(s, topDomains)
}

// Overview returns the summary, with at most topDomains domains, and the
// metadata of at most n messages as Next does, both at one moment: a
// listing from a second read counted messages it did not list (delivered
// in between) or listed some it had not counted (showqueue).
func (q *Queue) Overview(topDomains, n int) (Stats, []Meta) {
	q.mu.Lock()
	s := q.statsLocked()
	next := q.nextLocked(n)
	q.mu.Unlock()
	return q.top(s, topDomains), next
}

// statsLocked is the summary with every domain, unsorted; q.mu held.
func (q *Queue) statsLocked() Stats {
	s := Stats{Messages: len(q.index), Recipients: q.stats.recipients, Bytes: q.bytes, DomainCount: len(q.stats.domains)}
	for d, c := range q.stats.domains {
		s.Domains = append(s.Domains, DomainStats{Domain: d, Messages: c.messages, Recipients: c.recipients})
	}
	if e, ok := q.index[q.stats.minMID]; ok {
		s.OldestMID, s.OldestTime = e.meta.MID, e.meta.Time
	}
	return s
}

// top notes a load in progress, sorts the domains, most recipients
// first, and keeps topDomains.
func (q *Queue) top(s Stats, topDomains int) Stats {
	select {
	case <-q.loaded:
	default:
		s.Loading = true
	}
	slices.SortFunc(s.Domains, func(a, b DomainStats) int {
		return cmp.Or(cmp.Compare(b.Recipients, a.Recipients), cmp.Compare(a.Domain, b.Domain))
	})
	if len(s.Domains) > topDomains {
		s.Domains = s.Domains[:max(topDomains, 0)]
	}
	return s
}

// Next returns the metadata of at most n messages in the order the
// delivery scan meets them: next try, then MID (messages never deferred
// first, oldest first). It pops the due heap's smallest items, dropping
// the stale ones it meets for good and pushing the n live ones back: its
// cost is n plus the stale items ahead of them, each of which is paid for
// once, by the retry or removal that made it stale, never the queue's
// length. A message put and then deferred leaves a stale item at the head
// of the heap (its first, at-once try), so a walk that only skipped them
// would cross a whole queue of deferred messages. While a background
// load runs, the heap holds only the messages put since Open (Stats says
// Loading).
func (q *Queue) Next(n int) []Meta {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.nextLocked(n)
}

// nextLocked is Next with q.mu held (write: it pops the heap).
func (q *Queue) nextLocked(n int) []Meta {
	if n <= 0 {
		return nil
	}
	h := &q.due
	var out []Meta
	var live []dueItem
	for len(h.items) > 0 && len(out) < n {
		it := h.pop()
		e, ok := q.index[it.mid]
		if !ok || dueAt(e.meta.NextTry) != it.at || len(live) > 0 && live[len(live)-1] == it {
			h.stale = max(h.stale-1, 0) // a re-put MID's second item counts as stale
			continue
		}
		live = append(live, it)
		out = append(out, e.meta)
	}
	for _, it := range live {
		h.items = append(h.items, it)
		up(h.items, len(h.items)-1)
	}
	return out
}

// pop removes the smallest item; guarded by Queue.mu (write).
func (h *dueHeap) pop() dueItem {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	down(h.items, 0)
	return top
}

func up(items []dueItem, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !items[i].less(items[p]) {
			return
		}
		items[i], items[p] = items[p], items[i]
		i = p
	}
}

// mergeStats adds the summary of a background load (whose duplicates
// were forgotten) to q's, whose index now holds both. Guarded by q.mu.
func (q *Queue) mergeStats(old *queueStats) {
	st := &q.stats
	if st.domains == nil {
		st.domains = map[string]*domainCount{}
	}
	st.recipients += old.recipients
	for d, c := range old.domains {
		dc := st.domains[d]
		if dc == nil {
			dc = &domainCount{}
			st.domains[d] = dc
		}
		dc.messages += c.messages
		dc.recipients += c.recipients
	}
	if len(old.domains) > 0 || old.maxMID > 0 {
		if _, ok := q.index[st.minMID]; !ok || old.minMID < st.minMID {
			if _, ok := q.index[old.minMID]; ok {
				st.minMID = old.minMID
			}
		}
		st.maxMID = max(st.maxMID, old.maxMID)
	}
}
