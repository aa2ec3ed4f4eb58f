package config

import (
	"container/heap"
	"net/netip"
	"sort"
	"strings"
)

// HATMatcher answers, for a connecting host, which sender group of a
// listener's host access table it falls in, the mail flow policy that
// group uses and the parameters in force. It is built once per committed
// configuration and then only read, so any number of connections may use
// it at once.
//
// The table is read top to bottom and the first sender group with an
// entry matching the host wins, as AsyncOS does. The lookup does not scan
// the entries: addresses, CIDR blocks and ranges are folded into sorted,
// disjoint segments labelled with the first group covering them (a binary
// search), host names into a map, and .domain patterns into a map of
// suffixes; the answer is the earliest group among the few hits.
type HATMatcher struct {
	groups   []SenderGroup
	policies []MailFlowPolicy // per group: its policy (Action REJECT when missing)
	params   []HATParams      // per group: effective parameters
	v4, v6   segments
	hosts    map[string]int // exact host name -> first group
	domains  map[string]int // ".example.com" -> first group
	all      int            // first group holding ALL, or len(groups)
	// What a host that no entry matches gets.
	noGroup  SenderGroup
	noPolicy MailFlowPolicy
	noParams HATParams
}

// segments are disjoint address intervals [start[i], start[i+1]) with the
// first group covering each; rank len(groups) means none. Addresses are
// kept as 128-bit integers (IPv4 in the low 32 bits) for a fast search.
type segments struct {
	start []u128
	rank  []int
}

type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

func (x u128) less(y u128) bool { return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo }

// NewHATMatcher indexes a listener's host access table. Entries that do not
// parse (Validate refuses them) are ignored.
func NewHATMatcher(l Listener) *HATMatcher {
	m := &HATMatcher{
		groups:  append([]SenderGroup(nil), l.SenderGroups...),
		hosts:   map[string]int{},
		domains: map[string]int{},
		all:     len(l.SenderGroups),
	}
	pol := make(map[string]MailFlowPolicy, len(l.Policies))
	for _, p := range l.Policies {
		if _, dup := pol[p.Name]; !dup {
			pol[p.Name] = p
		}
	}
	m.policies = make([]MailFlowPolicy, len(l.SenderGroups))
	m.params = make([]HATParams, len(l.SenderGroups))
	var v4, v6 []interval
	for i, g := range l.SenderGroups {
		p, ok := pol[g.Policy]
		if !ok {
			p = MailFlowPolicy{Name: g.Policy, Action: Reject}
		}
		m.policies[i] = p
		m.params[i] = EffectiveParams(p.Params, l.DefaultPolicy)
		for _, h := range g.Hosts {
			hp, err := ParseHostPattern(h)
			if err != nil {
				continue
			}
			switch hp.Kind {
			case PatternAll:
				m.all = min(m.all, i)
			case PatternHost:
				if _, ok := m.hosts[hp.Name]; !ok {
					m.hosts[hp.Name] = i
				}
			case PatternDomain:
				if _, ok := m.domains[hp.Name]; !ok {
					m.domains[hp.Name] = i
				}
			case PatternRange:
				iv := interval{hp.Lo, hp.Hi, i}
				if hp.Lo.Is4() {
					v4 = append(v4, iv)
				} else {
					v6 = append(v6, iv)
				}
			}
		}
	}
	none := len(l.SenderGroups)
	m.v4 = buildSegments(v4, none)
	m.v6 = buildSegments(v6, none)
	m.noPolicy = MailFlowPolicy{Action: Reject}
	m.noParams = EffectiveParams(HATParams{}, l.DefaultPolicy)
	return m
}

// Match returns the sender group a host falls in, its policy, and the
// policy's parameters with every unset value taken from the listener's
// default policy. verifiedName is the host's PTR name when it was
// verified by a forward lookup, "" otherwise: names never match an
// unverified host. A host that no entry matches gets an empty SenderGroup
// (Name "") and a REJECT policy: a table without ALL refuses the rest.
// The pointers are never nil; they point into the matcher, which is
// shared by every connection, so they must not be written through.
func (m *HATMatcher) Match(ip netip.Addr, verifiedName string) (*SenderGroup, *MailFlowPolicy, *HATParams) {
	r := m.rank(ip, verifiedName)
	if r >= len(m.groups) {
		return &m.noGroup, &m.noPolicy, &m.noParams
	}
	return &m.groups[r], &m.policies[r], &m.params[r]
}

func (m *HATMatcher) rank(ip netip.Addr, verifiedName string) int {
	best := m.all
	ip = ip.WithZone("").Unmap()
	if ip.Is4() {
		best = min(best, m.v4.find(ip))
	} else if ip.Is6() {
		best = min(best, m.v6.find(ip))
	}
	if verifiedName == "" || len(m.hosts)+len(m.domains) == 0 {
		return best
	}
	name := verifiedName
	if strings.HasSuffix(name, ".") || hasUpper(name) {
		name = normalName(name)
	}
	if r, ok := m.hosts[name]; ok {
		best = min(best, r)
	}
	if len(m.domains) > 0 {
		for i := 0; i < len(name); i++ {
			if name[i] == '.' {
				if r, ok := m.domains[name[i:]]; ok {
					best = min(best, r)
				}
			}
		}
	}
	return best
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func (s segments) find(ip netip.Addr) int {
	x := toU128(ip)
	// The last segment starting at or before x.
	lo, hi := 0, len(s.start)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if x.less(s.start[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == 0 {
		return int(^uint(0) >> 1)
	}
	return s.rank[lo-1]
}

type interval struct {
	lo, hi netip.Addr
	rank   int
}

// rankHeap holds the intervals covering the sweep position, earliest
// group on top.
type rankHeap []interval

func (h rankHeap) Len() int           { return len(h) }
func (h rankHeap) Less(i, j int) bool { return h[i].rank < h[j].rank }
func (h rankHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rankHeap) Push(x any)        { *h = append(*h, x.(interval)) }
func (h *rankHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// buildSegments folds intervals into disjoint segments, each labelled with
// the smallest rank covering it (none where nothing does), by a sweep over
// the interval ends.
func buildSegments(ivs []interval, none int) segments {
	if len(ivs) == 0 {
		return segments{}
	}
	sort.Slice(ivs, func(i, j int) bool { return ivs[i].lo.Less(ivs[j].lo) })
	bounds := make([]netip.Addr, 0, 2*len(ivs))
	for _, iv := range ivs {
		bounds = append(bounds, iv.lo)
		if n := iv.hi.Next(); n.IsValid() {
			bounds = append(bounds, n)
		}
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Less(bounds[j]) })
	var s segments
	var active rankHeap
	next := 0
	for k, b := range bounds {
		if k > 0 && b == bounds[k-1] {
			continue
		}
		for next < len(ivs) && !b.Less(ivs[next].lo) {
			heap.Push(&active, ivs[next])
			next++
		}
		for active.Len() > 0 && active[0].hi.Less(b) {
			heap.Pop(&active)
		}
		r := none
		if active.Len() > 0 {
			r = active[0].rank
		}
		if n := len(s.rank); n > 0 && s.rank[n-1] == r {
			continue // same label as the segment before: extend it
		}
		s.start = append(s.start, toU128(b))
		s.rank = append(s.rank, r)
	}
	return s
}
