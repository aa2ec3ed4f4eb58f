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
	s := Stats{Messages: len(q.index), Recipients: q.stats.recipients, Bytes: q.bytes, DomainCount: len(q.stats.domains)}
	for d, c := range q.stats.domains {
		s.Domains = append(s.Domains, DomainStats{Domain: d, Messages: c.messages, Recipients: c.recipients})
	}
	if e, ok := q.index[q.stats.minMID]; ok {
		s.OldestMID, s.OldestTime = e.meta.MID, e.meta.Time
	}
	q.mu.RUnlock()
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
// first, oldest first). It walks the due heap from its root and visits
// only the items above the n-th live one (and the stale ones among
// them), never the queue. While a background load runs, the heap holds
// only the messages put since Open (Stats says Loading).
func (q *Queue) Next(n int) []Meta {
	if n <= 0 {
		return nil
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	items := q.due.items
	var out []Meta
	seen := map[int64]bool{} // a message re-put under its MID may have two live items
	cand := []int{0}         // a min-heap of item positions, ordered by their items
	less := func(a, b int) bool { return items[cand[a]].less(items[cand[b]]) }
	for len(cand) > 0 && len(out) < n {
		i := cand[0]
		last := len(cand) - 1
		cand[0] = cand[last]
		cand = cand[:last]
		siftDown(cand, 0, less)
		if i >= len(items) {
			continue
		}
		it := items[i]
		if e, ok := q.index[it.mid]; ok && dueAt(e.meta.NextTry) == it.at && !seen[it.mid] {
			seen[it.mid] = true
			out = append(out, e.meta)
		}
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(items) {
				cand = append(cand, c)
				siftUp(cand, len(cand)-1, less)
			}
		}
	}
	return out
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

func siftUp(h []int, i int, less func(a, b int) bool) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(i, p) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []int, i int, less func(a, b int) bool) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && less(r, l) {
			m = r
		}
		if !less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
