package queue

import (
	"slices"
	"testing"
	"time"
)

// bgFixture is a closed queue: messages 1-6, 2 removed, 3 deferred an hour.
func bgFixture(t *testing.T) (dir string, later time.Time) {
	dir = t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for mid := int64(1); mid <= 6; mid++ {
		put(t, q, mid, "old")
	}
	later = time.Now().Add(time.Hour).Truncate(time.Second)
	if err := q.Remove(2); err != nil {
		t.Fatal(err)
	}
	if err := q.SetRetry(3, 1, later); err != nil {
		t.Fatal(err)
	}
	q.Close()
	return dir, later
}

func mids(ms []Meta) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.MID)
	}
	return out
}

// TestBackgroundOpen: with Background, a queue accepts and lists new
// messages while the replay of the old ones is held; the delivery scan
// sees only the new ones; a change to an existing message waits for the
// replay; after it everything is there, with its retry state, and a
// reopen finds the same.
func TestBackgroundOpen(t *testing.T) {
	dir, later := bgFixture(t)
	hold := make(chan struct{})
	loadHook = func() { <-hold }
	defer func() { loadHook = nil }()
	q, err := Open(dir, Options{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { q.Close() }()
	put(t, q, 7, "new")
	if got := mids(q.List()); !slices.Equal(got, []int64{7}) {
		t.Fatalf("while loading, List %v, want [7]", got)
	}
	if got := q.Due(time.Now()); !slices.Equal(got, []int64{7}) {
		t.Fatalf("while loading, Due %v, want [7]", got)
	}
	if b, err := q.Read(7); err != nil || string(b) != "new" {
		t.Fatalf("while loading, Read(7) %q %v", b, err)
	}
	retried := make(chan error, 1)
	go func() { retried <- q.SetRetry(1, 1, later) }()
	select {
	case <-q.Loaded():
		t.Fatal("loaded while the replay is held")
	default:
	}
	close(hold)
	if err := <-retried; err != nil {
		t.Fatal(err)
	}
	<-q.Loaded()
	if err := q.LoadErr(); err != nil {
		t.Fatal(err)
	}
	check := func(q *Queue) {
		t.Helper()
		if got := mids(q.List()); !slices.Equal(got, []int64{1, 3, 4, 5, 6, 7}) {
			t.Fatalf("List %v, want [1 3 4 5 6 7]", got)
		}
		if got := q.Due(time.Now()); !slices.Equal(got, []int64{4, 5, 6, 7}) {
			t.Fatalf("Due %v, want [4 5 6 7] (1 and 3 deferred)", got)
		}
		if m, _ := q.Get(3); !m.NextTry.Equal(later) || m.Attempts != 1 {
			t.Fatalf("MID 3 retry state %v %d", m.NextTry, m.Attempts)
		}
		if b, err := q.Read(4); err != nil || string(b) != "old" {
			t.Fatalf("Read(4) %q %v", b, err)
		}
	}
	check(q)
	if err := q.Remove(4); err != nil {
		t.Fatal(err)
	}
	if err := q.Remove(4); err != ErrNotFound {
		t.Fatalf("second Remove: %v", err)
	}
	put(t, q, 4, "old") // as it was, for check
	q.Close()
	q, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(q)
}

// TestBackgroundOpenClose: Close during the replay stops it; nothing is
// lost and the next Open has everything.
func TestBackgroundOpenClose(t *testing.T) {
	dir, _ := bgFixture(t)
	hold := make(chan struct{})
	loadHook = func() { <-hold }
	defer func() { loadHook = nil }()
	q, err := Open(dir, Options{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 7, "new")
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	close(hold)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	q, err = Open(dir, Options{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	<-q.Loaded()
	if got := mids(q.List()); !slices.Equal(got, []int64{1, 3, 4, 5, 6, 7}) {
		t.Fatalf("List %v, want [1 3 4 5 6 7]", got)
	}
}
