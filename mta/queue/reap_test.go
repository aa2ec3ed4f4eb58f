package queue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdRemoval makes segment deletions wait for release; entered receives
// each path as its deletion starts. Restored when the test ends.
func holdRemoval(t *testing.T) (entered chan string, release chan struct{}) {
	entered, release = make(chan string, 16), make(chan struct{})
	removeSegment = func(p string) error {
		entered <- p
		<-release
		return os.Remove(p)
	}
	t.Cleanup(func() { removeSegment = os.Remove })
	return entered, release
}

// openSmallSegments opens a queue in dir whose segments are sealed past
// 4 KiB, logging to log.
func openSmallSegments(t *testing.T, dir string, log func(string, ...any)) *Queue {
	t.Helper()
	q, err := Open(dir, Options{SegmentSize: 4 << 10, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// sealOne puts message mid big enough to fill a segment of 4 KiB, so the
// next append starts a new one.
func sealOne(t *testing.T, q *Queue, mid int64) { put(t, q, mid, strings.Repeat("s", 5000)) }

// Deleting a collected segment took 20-30 ms on this disk, with the
// writer holding mu: every append, lookup and removal waited. With the
// deletion held, appends, removals and lookups still complete; the file
// goes once it is released.
func TestSegmentDeletionStallsNothing(t *testing.T) {
	entered, release := holdRemoval(t)
	dir := t.TempDir()
	q := openSmallSegments(t, dir, nil)
	defer q.Close()
	sealOne(t, q, 1)
	removed := make(chan error, 1)
	go func() { removed <- q.Remove(1) }() // segment 1 is collected after its batch
	select {
	case p := <-entered:
		if filepath.Base(p) != segName(1) {
			t.Fatalf("deleting %s, want %s", p, segName(1))
		}
	case <-time.After(waitLimit):
		t.Fatal("segment 1 never deleted")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := <-removed; err != nil {
			t.Error(err)
		}
		put(t, q, 2, "two")
		if err := q.Remove(2); err != nil {
			t.Error(err)
		}
		put(t, q, 3, "three")
		if n, _ := q.Len(); n != 1 {
			t.Errorf("len %d, want 1", n)
		}
	}()
	select {
	case <-done:
	case <-time.After(waitLimit):
		t.Error("appends and removals waited for a segment's deletion")
	}
	close(release)
	<-done
	eventually(t, "segment 1 deleted", func() bool {
		_, err := os.Stat(filepath.Join(dir, segName(1)))
		return os.IsNotExist(err)
	})
}

// A segment whose file cannot be deleted keeps every newer collected
// segment on disk (a tombstone must not go before what it buries) and is
// tried again, first, when the next segment is collected.
func TestSegmentDeletionInOrder(t *testing.T) {
	var mu sync.Mutex
	var tried []string
	failed := false
	removeSegment = func(p string) error {
		mu.Lock()
		defer mu.Unlock()
		tried = append(tried, filepath.Base(p))
		if !failed {
			failed = true
			return errors.New("injected")
		}
		return os.Remove(p)
	}
	t.Cleanup(func() { removeSegment = os.Remove })
	var logged sync.Map
	dir := t.TempDir()
	q := openSmallSegments(t, dir, func(f string, args ...any) { logged.Store(f, true) })
	defer q.Close()
	sealOne(t, q, 1)
	sealOne(t, q, 2)
	for _, mid := range []int64{2, 1} { // both collected by the second batch
		if err := q.Remove(mid); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(seq uint64) bool { _, err := os.Stat(filepath.Join(dir, segName(seq))); return err == nil }
	eventually(t, "the failed deletion logged", func() bool {
		_, ok := logged.Load("queue: deleting collected segments: %v; %d left, retried when the next one is collected")
		return ok
	})
	if !exists(1) || !exists(2) {
		t.Fatalf("segment 1 on disk %v, segment 2 %v: both must stay after 1 failed", exists(1), exists(2))
	}
	sealOne(t, q, 3)
	if err := q.Remove(3); err != nil {
		t.Fatal(err)
	}
	eventually(t, "segments 1 to 3 deleted", func() bool { return !exists(1) && !exists(2) && !exists(3) })
	mu.Lock()
	defer mu.Unlock()
	want := []string{segName(1), segName(1), segName(2), segName(3)}
	if !slices.Equal(tried, want) {
		t.Errorf("deletions tried %v, want %v", tried, want)
	}
}

// Close returns once the segments collected before it are deleted: a
// restart finds only what is live.
func TestCloseDeletesCollected(t *testing.T) {
	entered, release := holdRemoval(t)
	dir := t.TempDir()
	q := openSmallSegments(t, dir, nil)
	sealOne(t, q, 1)
	if err := q.Remove(1); err != nil {
		t.Fatal(err)
	}
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- q.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, segName(1))); !os.IsNotExist(err) {
		t.Errorf("segment 1 still on disk after Close: %v", err)
	}
}

// A deletion that fails at Open (or at the end of a background load)
// keeps its segment pending like any other: no newer segment, which may
// hold the tombstones of its messages, is deleted before it. Before, the
// segment left the table and was forgotten, a newer one was deleted, and
// the next restart brought its removed message back.
func TestOpenDeletionFailureKeepsOrder(t *testing.T) {
	for _, background := range []bool{false, true} {
		t.Run(fmt.Sprint("background=", background), func(t *testing.T) {
			dir := t.TempDir()
			seg1 := filepath.Join(dir, segName(1))
			failSeg1 := func(p string) error {
				if p == seg1 {
					return errors.New("injected")
				}
				return os.Remove(p)
			}
			removeSegment = failSeg1
			t.Cleanup(func() { removeSegment = os.Remove })
			// Segment 1: message 1; segment 2: its tombstone and message 2.
			q := openSmallSegments(t, dir, nil)
			sealOne(t, q, 1)
			if err := q.Remove(1); err != nil {
				t.Fatal(err)
			}
			sealOne(t, q, 2)
			q.Close() // segment 1 could not be deleted: still on disk
			if _, err := os.Stat(seg1); err != nil {
				t.Fatalf("segment 1: %v", err)
			}
			// A restart whose deletion of segment 1 fails too; then
			// message 2 goes, which empties segment 2.
			q, err := Open(dir, Options{SegmentSize: 4 << 10, Background: background})
			if err != nil {
				t.Fatal(err)
			}
			if !q.WaitLoaded(waitLimit) {
				t.Fatal("not loaded")
			}
			if err := q.Remove(2); err != nil {
				t.Fatal(err)
			}
			q.Close()
			removeSegment = os.Remove
			q, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if l := q.List(); len(l) != 0 {
				t.Errorf("after the restart: %d messages (MID %d first), want none: a tombstone went before what it buries", len(l), l[0].MID)
			}
		})
	}
}
