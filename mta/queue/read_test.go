package queue

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitLimit bounds the wait for an append or removal that must not wait
// for a reader at all: no latency assertion, a generous bound for a busy
// machine on an operation that, when it does wait, never finishes while
// the reader is held.
const waitLimit = 30 * time.Second

// TestReadHoldsNoLock is issue 18's queue item: Read used to hold the
// queue's read lock while it read a whole message from disk, so a large
// read stalled every append (the writer's index update takes the lock)
// and every removal behind it. With a reader held between finding the
// message and reading its bytes, appends, removals, a segment rotation and
// the deletion of the reader's own segment must all complete, and the
// reader must still get the message's bytes.
func TestReadHoldsNoLock(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{SegmentSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	big := strings.Repeat("b", 1<<20)
	put(t, q, 1, big)
	held, release := make(chan struct{}), make(chan struct{})
	q.beforeRead = func(mid int64) {
		if mid == 1 {
			close(held)
			<-release
		}
	}
	type result struct {
		b   []byte
		err error
	}
	read := make(chan result, 1)
	go func() {
		b, err := q.Read(1)
		read <- result{b, err}
	}()
	<-held

	steps := []struct {
		name string
		run  func() error
	}{
		{"append", func() error { put(t, q, 2, "two"); return nil }},
		{"append rotating the segment", func() error { put(t, q, 3, strings.Repeat("r", 70<<10)); return nil }},
		{"remove another message", func() error { return q.Remove(2) }},
		// The last live message of the reader's segment: the segment is
		// deleted while the reader has still to read it.
		{"remove the message being read", func() error { return q.Remove(1) }},
		{"list", func() error { q.List(); return nil }},
	}
	for _, st := range steps {
		done := make(chan error, 1)
		go func() { done <- st.run() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s during a held read: %v", st.name, err)
			}
		case <-time.After(waitLimit):
			t.Errorf("%s waited for a reader", st.name)
			close(release)
			<-read
			return
		}
	}
	eventually(t, "segment 1 deleted after its messages were removed", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, segName(1)))
		return len(segs) == 0
	})
	close(release)
	res := <-read
	if res.err != nil || !bytes.Equal(res.b, []byte(big)) {
		t.Errorf("held read = %d bytes, %v; want the message's %d bytes", len(res.b), res.err, len(big))
	}
	if _, err := q.Read(1); err == nil {
		t.Error("a removed message can still be read")
	}
}

// TestReadDuringClose: a read that began before Close still gets the
// message (Close used to wait for it on the lock; now the reader keeps the
// segment's file open), and a read after Close fails with ErrClosed.
func TestReadDuringClose(t *testing.T) {
	q, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("c", 300<<10)
	put(t, q, 1, body)
	held, release := make(chan struct{}), make(chan struct{})
	q.beforeRead = func(int64) {
		close(held)
		<-release
	}
	read := make(chan []byte, 1)
	go func() {
		b, err := q.Read(1)
		if err != nil {
			t.Errorf("read begun before Close: %v", err)
		}
		read <- b
	}()
	<-held
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	close(release)
	if b := <-read; string(b) != body {
		t.Errorf("read begun before Close = %d bytes, want %d", len(b), len(body))
	}
	q.beforeRead = nil
	if _, err := q.Read(1); !errors.Is(err, ErrClosed) {
		t.Errorf("read after Close = %v, want ErrClosed", err)
	}
}
