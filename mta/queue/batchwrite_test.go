package queue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPutBytesMixedBatches: messages queued from memory (PutBytes, written
// from the caller's bytes by writev) and from readers (Put: small ones
// copied into the batch, large ones streamed) by concurrent writers, so
// that batches mix all three, read back byte for byte, before and after a
// reopen (which checks every record's CRC in the newest segment and reads
// the older ones' when first read).
func TestPutBytesMixedBatches(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	body := func(mid int64) []byte {
		sizes := []int{0, 1, 4096, 100 << 10, 300 << 10, 1100 << 10} // 1100 KiB: more than the batch buffer
		n := sizes[mid%int64(len(sizes))]
		return bytes.Repeat([]byte(fmt.Sprintf("%d.", mid)), n/2+1)[:n]
	}
	const writers, each = 8, 12
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				mid := int64(w*each + i + 1)
				m := Meta{MID: mid, From: "a@x.test", To: []string{"b@y.test"}, Time: time.Unix(1, 0).UTC()}
				b := body(mid)
				if mid%2 == 0 {
					errs <- q.PutBytes(m, b)
				} else {
					errs <- q.Put(m, bytes.NewReader(b), int64(len(b)))
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(q *Queue, when string) {
		t.Helper()
		for mid := int64(1); mid <= writers*each; mid++ {
			got, err := q.Read(mid)
			if err != nil || !bytes.Equal(got, body(mid)) {
				t.Fatalf("%s: MID %d: %d bytes, %v; want %d bytes", when, mid, len(got), err, len(body(mid)))
			}
		}
	}
	check(q, "before reopen")
	q = reopen(t, q, dir)
	if n, _ := q.Len(); n != writers*each {
		t.Fatalf("%d messages after reopen, want %d", n, writers*each)
	}
	check(q, "after reopen")
}

// TestPutBytesFailedSync: a batch of PutBytes messages whose sync fails is
// refused and cut from the segment; the next message follows it and the
// queue reopens with that one only.
func TestPutBytesFailedSync(t *testing.T) {
	dir := t.TempDir()
	fail := true
	q, err := Open(dir, Options{BeforeSync: func() error {
		if fail {
			return errors.New("injected")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.PutBytes(Meta{MID: 1, To: []string{"b@y.test"}}, []byte(strings.Repeat("a", 100<<10))); err == nil {
		t.Fatal("PutBytes succeeded although the sync failed")
	}
	fail = false
	if err := q.PutBytes(Meta{MID: 2, To: []string{"b@y.test"}}, []byte("second")); err != nil {
		t.Fatal(err)
	}
	q = reopen(t, q, dir)
	if l := q.List(); len(l) != 1 || l[0].MID != 2 {
		t.Fatalf("after reopen: %+v", l)
	}
	if b, err := q.Read(2); err != nil || string(b) != "second" {
		t.Fatalf("read: %q %v", b, err)
	}
}

// TestWritev: more slices than one writev(2) takes (IOV_MAX), empty ones
// among them, all written in order.
func TestWritev(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var iov [][]byte
	var want []byte
	for i := 0; i < 2500; i++ {
		p := []byte(fmt.Sprintf("<%d>", i))
		if i%7 == 0 {
			p = nil
		}
		iov = append(iov, p)
		want = append(want, p...)
	}
	if err := writev(f, iov); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes (%v), want %d", len(got), err, len(want))
	}
}

// BenchmarkPut100KCPU: 16 writers queue 100 KiB messages with Put (copied
// into the batch's buffer) and PutBytes (written from the caller's
// bytes); cpu-ns/op is the process's CPU per message, what counts on a
// shared machine (ns/op is mostly the disk's sync).
//
//	go test -run '^$' -bench Put100KCPU -benchmem ./mta/queue/
func BenchmarkPut100KCPU(b *testing.B) {
	for _, mode := range []string{"Put", "PutBytes"} {
		b.Run(mode, func(b *testing.B) {
			q, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer q.Close()
			body := bytes.Repeat([]byte("x"), 100<<10)
			var mu sync.Mutex
			var n int64
			b.SetParallelism(16 / max(1, runtimeProcs()))
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					n++
					m := Meta{MID: n, From: "a@x.test", To: []string{"b@y.test"}}
					mu.Unlock()
					var err error
					if mode == "Put" {
						err = q.Put(m, bytes.NewReader(body), int64(len(body)))
					} else {
						err = q.PutBytes(m, body)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
