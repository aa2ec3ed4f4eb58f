package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func put(t testing.TB, q *Queue, mid int64, body string) {
	t.Helper()
	m := Meta{MID: mid, ICID: mid * 10, From: "a@x.test", To: []string{"b@y.test"}, Time: time.Unix(1, 0).UTC(),
		TLS: &TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256"}}
	if err := q.Put(m, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatalf("put %d: %v", mid, err)
	}
}

// reopen closes q and opens its directory again, closed when the test
// ends.
func reopen(t testing.TB, q *Queue, dir string) *Queue {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

func TestPutReadRemoveReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "Received: x\r\n\r\nhello\r\n")
	put(t, q, 2, strings.Repeat("y", 300<<10)) // streamed path
	put(t, q, 3, "three")
	if err := q.Remove(2); err != nil {
		t.Fatal(err)
	}
	if err := q.Remove(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if n, b := q.Len(); n != 2 || b != int64(len("Received: x\r\n\r\nhello\r\n")+5) {
		t.Fatalf("len %d %d", n, b)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Put(Meta{MID: 9}, strings.NewReader(""), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("put after close: %v", err)
	}
	q, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l := q.List()
	if len(l) != 2 || l[0].MID != 1 || l[1].MID != 3 || l[0].TLS.Cipher != "TLS_AES_128_GCM_SHA256" || l[0].ICID != 10 {
		t.Fatalf("list after reopen: %+v", l)
	}
	b, err := q.Read(1)
	if err != nil || string(b) != "Received: x\r\n\r\nhello\r\n" {
		t.Fatalf("read: %q %v", b, err)
	}
	put(t, q, 4, strings.Repeat("z", 300<<10))
	b, err = q.Read(4)
	if err != nil || len(b) != 300<<10 || b[0] != 'z' {
		t.Fatalf("read streamed: %d %v", len(b), err)
	}
}

// A torn tail (a crash in the middle of an append) is cut off; every
// complete record before it survives.
func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "one")
	put(t, q, 2, "two")
	q.Close()
	seg := filepath.Join(dir, segName(1))
	full, _ := os.ReadFile(seg)
	// Cut the last record at every possible byte: never half a message.
	q2size := len(full)
	for cut := 1; cut < 40; cut++ {
		if err := os.WriteFile(seg, full[:q2size-cut], 0o600); err != nil {
			t.Fatal(err)
		}
		q, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if l := q.List(); len(l) != 1 || l[0].MID != 1 {
			t.Fatalf("cut %d: %+v", cut, l)
		}
		put(t, q, 3, "three") // appends after the repaired tail
		q.Close()
		q, _ = Open(dir, Options{})
		if l := q.List(); len(l) != 2 || l[1].MID != 3 {
			t.Fatalf("cut %d after append: %+v", cut, l)
		}
		q.Close()
	}
	// A flipped byte inside the last record: its CRC fails.
	bad := append([]byte(nil), full...)
	bad[len(bad)-2] ^= 0xff
	os.WriteFile(seg, bad, 0o600)
	q, _ = Open(dir, Options{})
	if l := q.List(); len(l) != 1 {
		t.Fatalf("corrupt: %+v", l)
	}
	q.Close()
}

func TestStorageFailure(t *testing.T) {
	dir := t.TempDir()
	fail := false
	var mu sync.Mutex
	q, err := Open(dir, Options{BeforeSync: func() error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("injected EIO")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "one")
	mu.Lock()
	fail = true
	mu.Unlock()
	if err := q.Put(Meta{MID: 2}, strings.NewReader("two"), 3); err == nil || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("put with failing storage: %v", err)
	}
	if _, ok := q.Get(2); ok {
		t.Fatal("failed message is listed")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	put(t, q, 3, "three")
	q.Close()
	q, _ = Open(dir, Options{})
	defer q.Close()
	if l := q.List(); len(l) != 2 || l[0].MID != 1 || l[1].MID != 3 {
		t.Fatalf("after failure: %+v", l)
	}
}

func TestConcurrentAndRotation(t *testing.T) {
	for _, per := range []bool{false, true} {
		t.Run(fmt.Sprint("permessage=", per), func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, Options{PerMessageSync: per, SegmentSize: 64 << 10})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < 50; i++ {
						put(t, q, int64(w*1000+i), strings.Repeat("m", 4096))
					}
				}(w)
			}
			wg.Wait()
			if n, _ := q.Len(); n != 400 {
				t.Fatalf("len %d", n)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) < 10 {
				t.Fatalf("%d segments, want rotation", len(segs))
			}
			for _, m := range q.List() {
				if err := q.Remove(m.MID); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "one segment left after removing everything", func() bool {
				segs, _ = filepath.Glob(filepath.Join(dir, "*.seg"))
				return len(segs) == 1
			})
			q.Close()
			q, _ = Open(dir, Options{})
			if n, _ := q.Len(); n != 0 {
				t.Fatalf("resurrected %d", n)
			}
			q.Close()
		})
	}
}

// Benchmarks: the cost of making one 4 KiB message durable, with 16
// concurrent writers as an SMTP server has, for the queue's group commit,
// its per-message sync, and the classic file per message (temp file,
// fsync, rename, directory fsync).
func benchQueue(b *testing.B, per bool, size int) {
	q, err := Open(b.TempDir(), Options{PerMessageSync: per})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	body := bytes.Repeat([]byte("x"), size)
	var n int64
	var mu sync.Mutex
	b.SetParallelism(16 / max(1, runtimeProcs()))
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			mid := n
			mu.Unlock()
			if err := q.Put(Meta{MID: mid, From: "a@x.test", To: []string{"b@y.test"}}, bytes.NewReader(body), int64(len(body))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkGroupCommit4K(b *testing.B)      { benchQueue(b, false, 4096) }
func BenchmarkPerMessageSync4K(b *testing.B)   { benchQueue(b, true, 4096) }
func BenchmarkGroupCommit100K(b *testing.B)    { benchQueue(b, false, 100<<10) }
func BenchmarkPerMessageSync100K(b *testing.B) { benchQueue(b, true, 100<<10) }

func benchFilePerMessage(b *testing.B, size int) {
	dir := b.TempDir()
	body := bytes.Repeat([]byte("x"), size)
	var n int64
	var mu sync.Mutex
	b.SetParallelism(16 / max(1, runtimeProcs()))
	b.SetBytes(int64(size))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			id := n
			mu.Unlock()
			tmp := filepath.Join(dir, fmt.Sprintf("tmp-%d", id))
			f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			f.Write(body)
			if err := fdatasync(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if err := os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("msg-%d", id))); err != nil {
				b.Fatal(err)
			}
			if err := syncDir(dir); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFilePerMessage4K(b *testing.B)   { benchFilePerMessage(b, 4096) }
func BenchmarkFilePerMessage100K(b *testing.B) { benchFilePerMessage(b, 100<<10) }

// A damaged message in a sealed (not newest) segment is found when it is
// read, not at Open: the messages after it in the segment stay queued.
func TestDamageInSealedSegment(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	// SegmentSize 1: every append seals its segment.
	put(t, q, 1, "first message")
	put(t, q, 2, "second message")
	put(t, q, 3, "third message")
	q.Close()
	seg := filepath.Join(dir, segName(1))
	raw, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("first"))
	raw[i] = 'F'
	if err := os.WriteFile(seg, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	q, err = Open(dir, Options{SegmentSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n, _ := q.Len(); n != 3 {
		t.Fatalf("%d messages after reopen, want 3", n)
	}
	if _, err := q.Read(1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged message read: %v, want ErrCorrupt", err)
	}
	for mid, want := range map[int64]string{2: "second message", 3: "third message"} {
		b, err := q.Read(mid)
		if err != nil || string(b) != want {
			t.Fatalf("MID %d: %q %v", mid, b, err)
		}
		// A second read takes the verified path and gives the same bytes.
		if b, err := q.Read(mid); err != nil || string(b) != want {
			t.Fatalf("MID %d again: %q %v", mid, b, err)
		}
	}
}

// A sealed segment whose record header was damaged keeps the records
// before it, as a CRC failure at Open did.
func TestDamagedHeaderInSealedSegment(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "a")
	put(t, q, 2, "b") // still in segment 1 (under 400 bytes after the first)
	put(t, q, 3, strings.Repeat("c", 300))
	put(t, q, 4, "d")
	q.Close()
	seg := filepath.Join(dir, segName(1))
	raw, _ := os.ReadFile(seg)
	second := headerLen + int(binary.BigEndian.Uint32(raw[0:4]))
	raw[second+headerLen+2] ^= 0xff // inside the second record's meta length
	os.WriteFile(seg, raw, 0o600)
	q, err = Open(dir, Options{SegmentSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, ok := q.Get(1); !ok {
		t.Fatal("record before the damage lost")
	}
	if _, ok := q.Get(2); ok {
		t.Fatal("record with a damaged header taken")
	}
	if _, ok := q.Get(4); !ok {
		t.Fatal("later segment lost")
	}
}

// BenchmarkOpen200MB: opening a queue of 2,000 100 KiB messages in sealed
// segments (page cache warm; cold, the saving is the disk reads).
func BenchmarkOpen200MB(b *testing.B) {
	dir := b.TempDir()
	q, err := Open(dir, Options{SegmentSize: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	body := strings.Repeat("x", 100<<10)
	for i := 1; i <= 2000; i++ {
		put(b, q, int64(i), body)
	}
	q.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q, err := Open(dir, Options{SegmentSize: 16 << 20})
		if err != nil {
			b.Fatal(err)
		}
		q.Close()
	}
}

// BenchmarkIndexMemory reports the heap the in-memory index holds per
// queued message after Open, for messages with a realistic envelope.
func BenchmarkIndexMemory(b *testing.B) {
	const n = 20000
	dir := b.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		m := Meta{MID: int64(i), ICID: int64(i), Listener: "IncomingMail", Interface: "Management",
			RemoteIP: "192.0.2.17", RemoteHost: "mail.sender.example", HELO: "mail.sender.example",
			From: fmt.Sprintf("user%d@sender.example", i%500), To: []string{fmt.Sprintf("rcpt%d@example.com", i)},
			TLS:  &TLSInfo{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", ServerName: "mx.example.com"},
			Time: at,
			Received: fmt.Sprintf("Received: from mail.sender.example (mail.sender.example [192.0.2.17])\r\n\tby mx.example.com with ESMTPS (TLSv1.3:TLS_AES_128_GCM_SHA256) id %d for <rcpt%d@example.com>;\r\n\t%s",
				i, i, at.Format(time.RFC1123Z))}
		if err := q.Put(m, strings.NewReader("x"), 1); err != nil {
			b.Fatal(err)
		}
	}
	q.Close()
	b.ResetTimer()
	var perMsg float64
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		q, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perMsg = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(q)
		q.Close()
	}
	b.ReportMetric(perMsg, "heapB/msg")
}

// The index leaves the Received header out; Received reads it from the
// stored bytes, before and after a reopen.
func TestReceivedFromDisk(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recv := "Received: from a.test (a.test [127.0.0.1])\r\n\tby mx.test with ESMTP id 5"
	body := recv + "\r\nSubject: x\r\n\r\nbody\r\n"
	if err := q.Put(Meta{MID: 5, Received: recv}, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		if m, _ := q.Get(5); m.Received != "" {
			t.Fatalf("round %d: index keeps Received", round)
		}
		if got, err := q.Received(5); err != nil || got != recv {
			t.Fatalf("round %d: Received = %q, %v", round, got, err)
		}
		q.Close()
		if q, err = Open(dir, Options{}); err != nil {
			t.Fatal(err)
		}
	}
	defer q.Close()
	if _, err := q.Received(6); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown MID: %v", err)
	}
}

// A recipients record shrinks a message's recipients durably, keeps their
// IDs, and leaves its bytes and retry schedule alone.
func TestSetRecipients(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := "Received: x\r\n\r\nhello\r\n"
	m := Meta{MID: 1, From: "a@x.test", To: []string{"b@y.test", "c@z.test", "d@z.test"}, Time: time.Unix(1, 0).UTC()}
	if err := q.Put(m, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	put(t, q, 2, "two")
	next := time.Unix(100, 0).UTC()
	if err := q.SetRetry(1, 2, next); err != nil {
		t.Fatal(err)
	}
	if err := q.SetRecipients(1, []string{"d@z.test"}, []int{2}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		mid  int64
		to   []string
		rids []int
		want error
	}{
		"unknown message": {9, []string{"x@y.test"}, []int{0}, ErrNotFound},
		"no recipient":    {1, nil, nil, nil},
		"IDs missing":     {1, []string{"x@y.test"}, nil, nil},
	} {
		err := q.SetRecipients(c.mid, c.to, c.rids)
		if err == nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	if err := q.Remove(2); err != nil {
		t.Fatal(err)
	}
	check := func(when string, q *Queue) {
		t.Helper()
		got, ok := q.Get(1)
		if !ok || fmt.Sprint(got.To, got.RIDs) != "[d@z.test] [2]" || got.Attempts != 2 || !got.NextTry.Equal(next) {
			t.Fatalf("%s: MID 1 = %+v (found %v)", when, got, ok)
		}
		if b, err := q.Read(1); err != nil || string(b) != body {
			t.Fatalf("%s: read %q %v", when, b, err)
		}
		if _, ok := q.Get(2); ok {
			t.Fatalf("%s: MID 2 still queued", when)
		}
	}
	check("before reopen", q)
	q.Close()
	q, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	check("after reopen", q)
}
