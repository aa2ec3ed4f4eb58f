package queue

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestFailedLoadStillDeliversNewMail: when the background replay fails
// (here the newest old segment holds a CRC-valid record of a type this
// version does not know), the queue goes on taking mail, and the messages
// appended since Open can be removed, deferred and trimmed as ever: their
// records all follow Open. Were those changes refused, the MTA would
// deliver each new message again at every scan (its Remove and SetRetry
// failing), forever.
func TestFailedLoadStillDeliversNewMail(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "old")
	q.Close()
	pay := []byte{'Z', 0, 0, 0, 2, '{', '}'}
	var hdr [headerLen]byte
	binary.BigEndian.PutUint32(hdr[0:4], uint32(len(pay)))
	binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(pay, castagnoli))
	f, err := os.OpenFile(filepath.Join(dir, segName(1)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(append(hdr[:], pay...))
	f.Close()

	q, err = Open(dir, Options{Background: true})
	if err != nil {
		t.Fatal(err)
	}
	<-q.Loaded()
	if q.LoadErr() == nil {
		t.Fatal("the replay of a record of unknown type did not fail")
	}
	put(t, q, 2, "new")
	put(t, q, 3, "new")
	put(t, q, 4, "new")
	if err := q.Remove(2); err != nil {
		t.Errorf("Remove of a message appended since Open: %v", err)
	}
	next := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := q.SetRetry(3, 1, next); err != nil {
		t.Errorf("SetRetry of a message appended since Open: %v", err)
	}
	if err := q.SetRecipients(4, []string{"c@y.test"}, []int{1}); err != nil {
		t.Errorf("SetRecipients of a message appended since Open: %v", err)
	}
	if got := q.Due(time.Now()); !slices.Equal(got, []int64{4}) {
		t.Errorf("Due %v, want [4] (2 removed, 3 deferred)", got)
	}
	q.Close()
	// The unreadable segment is still there, untouched, for the
	// administrator; the new segment's records replay after it.
	if _, err := os.Stat(filepath.Join(dir, segName(1))); err != nil {
		t.Fatalf("the old segment: %v", err)
	}
}
