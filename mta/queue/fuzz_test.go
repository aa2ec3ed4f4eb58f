package queue

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// forgedRecord is a record whose CRC matches whatever it holds: the
// checksum only proves the bytes are those written, so replay must still
// survive a well-framed record with hostile contents (a bug of an older
// version, a file dropped into the directory).
func forgedRecord(kind byte, meta, body []byte) []byte {
	payload := []byte{kind, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(payload[1:5], uint32(len(meta)))
	payload = append(append(payload, meta...), body...)
	rec := make([]byte, headerLen, headerLen+len(payload))
	binary.BigEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Checksum(payload, castagnoli))
	return append(rec, payload...)
}

// goodSegment is a segment a queue wrote: two messages, the first removed.
func goodSegment(t testing.TB) []byte {
	dir := t.TempDir()
	q, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "Subject: one\r\n\r\nbody one\r\n")
	put(t, q, 2, "Subject: two\r\n\r\nbody two\r\n")
	if err := q.Remove(1); err != nil {
		t.Fatal(err)
	}
	q.Close()
	b, err := os.ReadFile(filepath.Join(dir, segName(1)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzReplay: a segment made of a queue's own records, one forged record
// (its CRC right, its type, metadata and message bytes anything) and any
// tail. As the newest segment and as a sealed one: Open does not panic;
// when it opens, every message it lists reads back whole or reports
// ErrCorrupt, and a reopen lists the same messages.
func FuzzReplay(f *testing.F) {
	good := goodSegment(f)
	f.Add(byte(recMessage), []byte(`{"mid":3,"to":["a@b.test"],"recv_len":4}`), []byte("Rec\r\nbody"), []byte{})
	f.Add(byte(recMessage), []byte(`{"mid":2,"recv_len":-1}`), []byte("x"), []byte{0, 0, 0, 9})
	f.Add(byte(recRemove), []byte(`{"mid":2}`), []byte{}, good[:20])
	f.Add(byte(recRcpts), []byte(`{"mid":2,"to":[],"rids":[7,-1]}`), []byte{}, []byte("garbage"))
	f.Add(byte(recRetry), []byte(`{"mid":2,"attempts":-5,"next_try":"0001-01-01T00:00:00Z"}`), []byte{}, []byte{})
	f.Add(byte('Z'), []byte(`{}`), []byte{}, []byte{})
	f.Add(byte(recMessage), []byte(`{"mid":4,"received":"`+strings.Repeat("r", 40)+`"}`), []byte("short"), []byte{})
	f.Fuzz(func(t *testing.T, kind byte, meta, body, tail []byte) {
		seg := slices.Concat(good, forgedRecord(kind, meta, body), tail)
		for _, sealed := range []bool{false, true} {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, segName(1)), seg, 0o600); err != nil {
				t.Fatal(err)
			}
			if sealed {
				if err := os.WriteFile(filepath.Join(dir, segName(2)), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			q, err := Open(dir, Options{})
			if err != nil {
				if sealed {
					t.Fatalf("a sealed segment's damage failed Open: %v", err)
				}
				continue // the newest segment's: refused with a reason
			}
			listed := readAll(t, q)
			q.Close()
			q, err = Open(dir, Options{})
			if err != nil {
				t.Fatalf("reopen after a successful open: %v", err)
			}
			if again := readAll(t, q); !slices.Equal(listed, again) {
				t.Errorf("sealed %v: listed %v, after a reopen %v", sealed, listed, again)
			}
			q.Close()
		}
	})
}

// readAll reads every listed message: whole (its stored size) or
// ErrCorrupt. It returns the listed IDs.
func readAll(t *testing.T, q *Queue) []int64 {
	t.Helper()
	var mids []int64
	for _, m := range q.List() {
		mids = append(mids, m.MID)
		b, err := q.Read(m.MID)
		switch {
		case errors.Is(err, ErrCorrupt):
		case err != nil:
			t.Errorf("read %d: %v", m.MID, err)
		case int64(len(b)) != m.Size:
			t.Errorf("read %d: %d bytes, want its size %d", m.MID, len(b), m.Size)
		}
		if _, err := q.Received(m.MID); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Errorf("received %d: %v", m.MID, err)
		}
	}
	return mids
}
