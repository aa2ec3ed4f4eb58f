package queue

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// dueByList is what Due must return: the listing filtered by next try.
func dueByList(q *Queue, now time.Time) []int64 {
	var out []int64
	for _, m := range q.List() {
		if !now.Before(m.NextTry) {
			out = append(out, m.MID)
		}
	}
	return out
}

// TestDueMatchesList: after random puts, retries (earlier, later, back to
// at once), removals and reopens, Due returns exactly the messages the
// full listing says are due, oldest MID first, at several times. Enough
// retries and removals happen for the heap to be rebuilt (stale items
// beyond half the heap) several times.
func TestDueMatchesList(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { q.Close() }()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1_800_000_000, 0)
	var live []int64
	next := int64(1)
	check := func(step int) {
		t.Helper()
		for _, dt := range []time.Duration{-time.Hour, 0, 30 * time.Second, 5 * time.Minute, 48 * time.Hour} {
			now := base.Add(dt)
			if got, want := q.Due(now), dueByList(q, now); !slices.Equal(got, want) {
				t.Fatalf("step %d, now %+v: Due %v, want %v", step, dt, got, want)
			}
		}
	}
	for step := 0; step < 4000; step++ {
		switch op := rng.IntN(10); {
		case op < 3 || len(live) == 0:
			put(t, q, next, "x")
			live = append(live, next)
			next++
		case op < 8:
			mid := live[rng.IntN(len(live))]
			at := time.Time{}
			if rng.IntN(4) > 0 {
				at = base.Add(time.Duration(rng.IntN(7200)-600) * time.Second)
			}
			if err := q.SetRetry(mid, 1, at); err != nil {
				t.Fatal(err)
			}
		default:
			i := rng.IntN(len(live))
			if err := q.Remove(live[i]); err != nil {
				t.Fatal(err)
			}
			live = slices.Delete(live, i, i+1)
		}
		if step%500 == 499 {
			check(step)
		}
		if step%2000 == 1999 {
			q.Close()
			if q, err = Open(dir, Options{SegmentSize: 64 << 10}); err != nil {
				t.Fatal(err)
			}
			check(step)
		}
	}
	if n := len(q.due.items); n > 2*len(live)+1100 {
		t.Fatalf("the due heap holds %d items for %d messages: stale items are not dropped", n, len(live))
	}
}

// TestDueConcurrent: Due runs while writers change the queue (-race).
func TestDueConcurrent(t *testing.T) {
	q, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < 300; i++ {
				mid := int64(w)*1000 + i + 1
				put(t, q, mid, "x")
				q.SetRetry(mid, 1, time.Now().Add(time.Hour))
				if i%3 == 0 {
					q.Remove(mid)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			q.Due(time.Now())
		}
	}()
	wg.Wait()
	<-done
	if d := q.Due(time.Now()); len(d) != 0 {
		t.Fatalf("due: %v, want none (all deferred an hour)", d)
	}
}

// TestOldRecordsStillRead: a queue written before issue 17 (message
// records with the Received header in their JSON meta, retry records with
// every Meta field) opens with the same messages, Received headers and
// retry state as one written now.
func TestOldRecordsStillRead(t *testing.T) {
	dir := t.TempDir()
	recv := "Received: from a.test (a.test [127.0.0.1])\r\n\tby mx.test with ESMTP id 5 for <b@y.test>;\r\n\tSat, 05 Dec 2026 21:00:00 +0000"
	body := recv + "\r\nSubject: x\r\n\r\nbody\r\n"
	next := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var seg []byte
	record := func(kind byte, m Meta, body string) {
		raw, err := json.Marshal(m) // every field, Received included: the old writer
		if err != nil {
			t.Fatal(err)
		}
		pay := append([]byte{kind, 0, 0, 0, 0}, raw...)
		binary.BigEndian.PutUint32(pay[1:5], uint32(len(raw)))
		pay = append(pay, body...)
		var hdr [headerLen]byte
		binary.BigEndian.PutUint32(hdr[0:4], uint32(len(pay)))
		binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(pay, castagnoli))
		seg = append(append(seg, hdr[:]...), pay...)
	}
	record(recMessage, Meta{MID: 5, From: "a@x.test", To: []string{"b@y.test"}, Received: recv}, body)
	record(recRetry, Meta{MID: 5, Attempts: 2, NextTry: next}, "")
	if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, bg := range []bool{false, true} {
		q, err := Open(dir, Options{Background: bg})
		if err != nil {
			t.Fatal(err)
		}
		<-q.Loaded()
		m, ok := q.Get(5)
		if !ok || m.Attempts != 2 || !m.NextTry.Equal(next) || m.Received != "" || m.RecvLen != 0 {
			t.Fatalf("background %v: %+v", bg, m)
		}
		if got, err := q.Received(5); err != nil || got != recv {
			t.Fatalf("background %v: Received %q %v", bg, got, err)
		}
		if b, err := q.Read(5); err != nil || string(b) != body {
			t.Fatalf("background %v: Read %q %v", bg, b, err)
		}
		q.Close()
	}
}
