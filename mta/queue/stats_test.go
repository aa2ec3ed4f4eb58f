package queue

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// statsOracle computes Stats and Next from List, the slow way.
func statsOracle(list []Meta, top, n int) (Stats, []int64) {
	s := Stats{Messages: len(list)}
	dom := map[string]*DomainStats{}
	for _, m := range list {
		s.Bytes += m.Size
		s.Recipients += len(m.To)
		seen := map[string]bool{}
		for _, r := range m.To {
			d := domainOf(r)
			if dom[d] == nil {
				dom[d] = &DomainStats{Domain: d}
			}
			dom[d].Recipients++
			if !seen[d] {
				seen[d] = true
				dom[d].Messages++
			}
		}
	}
	if len(list) > 0 {
		s.OldestMID, s.OldestTime = list[0].MID, list[0].Time
	}
	for _, d := range dom {
		s.Domains = append(s.Domains, *d)
	}
	s.DomainCount = len(s.Domains)
	slices.SortFunc(s.Domains, func(a, b DomainStats) int {
		return cmp.Or(cmp.Compare(b.Recipients, a.Recipients), cmp.Compare(a.Domain, b.Domain))
	})
	if len(s.Domains) > top {
		s.Domains = s.Domains[:top]
	}
	order := slices.Clone(list)
	slices.SortFunc(order, func(a, b Meta) int {
		return cmp.Or(cmp.Compare(dueAt(a.NextTry), dueAt(b.NextTry)), cmp.Compare(a.MID, b.MID))
	})
	var next []int64
	for _, m := range order[:min(n, len(order))] {
		next = append(next, m.MID)
	}
	return s, next
}

func checkStats(t *testing.T, q *Queue, step string) {
	t.Helper()
	const top, n = 3, 7
	want, wantNext := statsOracle(q.List(), top, n)
	got := q.Stats(top)
	got.Loading = false
	if !got.OldestTime.Equal(want.OldestTime) {
		t.Fatalf("%s: oldest time %v, List says %v", step, got.OldestTime, want.OldestTime)
	}
	got.OldestTime, want.OldestTime = time.Time{}, time.Time{}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: Stats\n got %+v\nwant %+v", step, got, want)
	}
	var gotNext []int64
	for _, m := range q.Next(n) {
		gotNext = append(gotNext, m.MID)
	}
	if !slices.Equal(gotNext, wantNext) {
		t.Fatalf("%s: Next %v, List says %v", step, gotNext, wantNext)
	}
	// Next drops stale items from the due heap: Due must still agree.
	now := time.Date(2026, 12, 5, 21, 2, 0, 0, time.UTC)
	var wantDue []int64
	for _, m := range q.List() {
		if !m.NextTry.After(now) {
			wantDue = append(wantDue, m.MID)
		}
	}
	if gotDue := q.Due(now); !slices.Equal(gotDue, wantDue) {
		t.Fatalf("%s: Due %v, List says %v", step, gotDue, wantDue)
	}
}

// TestStatsAgainstList runs random puts (new MIDs, MIDs used again),
// removals, retries, recipient changes and reopens (a replay, in the
// foreground and in the background) and checks after each that the
// incremental summary and Next agree with List.
func TestStatsAgainstList(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 17))
			dir := t.TempDir()
			q, err := Open(dir, Options{SegmentSize: 4 << 10})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { q.Close() }()
			domains := []string{"a.test", "B.test", "b.test", "c.test", "d.test"}
			rcpts := func() []string {
				to := make([]string, 1+rng.IntN(4))
				for i := range to {
					to[i] = fmt.Sprintf("u%d@%s", rng.IntN(3), domains[rng.IntN(len(domains))])
				}
				return to
			}
			base := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
			nextMID := int64(1)
			for step := 0; step < 400; step++ {
				list := q.List()
				pick := func() (Meta, bool) {
					if len(list) == 0 {
						return Meta{}, false
					}
					return list[rng.IntN(len(list))], true
				}
				var op string
				switch r := rng.IntN(20); {
				case r < 7:
					mid := nextMID
					nextMID++
					if rng.IntN(10) == 0 {
						nextMID += 2 * maxProbe // a gap wider than the probe
					}
					if m, ok := pick(); ok && rng.IntN(8) == 0 {
						mid = m.MID // a MID used again: the later record wins
					}
					op = fmt.Sprint("put ", mid)
					m := Meta{MID: mid, From: "s@x.test", To: rcpts(), Time: base.Add(time.Duration(mid) * time.Second)}
					err = q.Put(m, strings.NewReader("body\r\n"), 6)
				case r < 11:
					if m, ok := pick(); ok {
						op = fmt.Sprint("remove ", m.MID)
						err = q.Remove(m.MID)
					}
				case r < 15:
					if m, ok := pick(); ok {
						op = fmt.Sprint("retry ", m.MID)
						err = q.SetRetry(m.MID, m.Attempts+1, base.Add(time.Duration(rng.IntN(5))*time.Minute))
					}
				case r < 19:
					if m, ok := pick(); ok {
						keep := 1 + rng.IntN(len(m.To))
						rids := make([]int, keep)
						for i := range rids {
							rids[i] = i
						}
						op = fmt.Sprint("recipients ", m.MID)
						err = q.SetRecipients(m.MID, m.To[:keep], rids)
					}
				default:
					bg := rng.IntN(2) == 0
					op = fmt.Sprint("reopen background=", bg)
					if err = q.Close(); err == nil {
						q, err = Open(dir, Options{SegmentSize: 4 << 10, Background: bg})
						if err == nil {
							<-q.Loaded()
							err = q.LoadErr()
						}
					}
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", step, op, err)
				}
				checkStats(t, q, fmt.Sprintf("step %d %s", step, op))
			}
		})
	}
}

// TestStatsDuringBackgroundLoad: messages put while the old ones are
// still loading are counted, and the merge adds the old ones.
func TestStatsDuringBackgroundLoad(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	for mid := int64(1); mid <= 3; mid++ {
		if err := q.Put(Meta{MID: mid, To: []string{"r@old.test"}, Time: at}, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	release := make(chan struct{})
	loadHook = func() { <-release }
	defer func() { loadHook = nil }()
	q, err = Open(dir, Options{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Put(Meta{MID: 9, To: []string{"r@new.test"}, Time: at}, strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	if s := q.Stats(10); !s.Loading || s.Messages != 1 || s.OldestMID != 9 {
		t.Fatalf("while loading: %+v", s)
	}
	close(release)
	<-q.Loaded()
	checkStats(t, q, "loaded")
	if s := q.Stats(10); s.Loading || s.Messages != 4 || s.OldestMID != 1 || s.DomainCount != 2 {
		t.Fatalf("loaded: %+v", s)
	}
}
