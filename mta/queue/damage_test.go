package queue

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logRecorder collects what the queue reports through Options.Log.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) log(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) matching(sub string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// The messages in the unreadable tail of a sealed segment are logged one
// line per message ID, except those a later record removed (delivered).
func TestDamagedSealedTailLogsEachLostMessage(t *testing.T) {
	cases := []struct {
		name   string
		remove []int64
		lost   []int64
	}{
		{"all after the damage lost", nil, []int64{2, 3, 4}},
		{"one delivered since", []int64{3}, []int64{2, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, Options{SegmentSize: 1000})
			if err != nil {
				t.Fatal(err)
			}
			put(t, q, 1, "a")
			put(t, q, 2, "b")
			put(t, q, 3, "c")
			put(t, q, 4, strings.Repeat("d", 300)) // seals segment 1
			put(t, q, 5, "e")
			for _, mid := range tc.remove {
				if err := q.Remove(mid); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			seg := filepath.Join(dir, segName(1))
			raw, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			second := headerLen + int(binary.BigEndian.Uint32(raw[0:4]))
			raw[second] ^= 0x7f // the second record's length: framing is lost from here
			if err := os.WriteFile(seg, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			var rec logRecorder
			q, err = Open(dir, Options{SegmentSize: 1000, Log: rec.log})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if got := rec.matching("damaged at offset"); len(got) != 1 || !strings.Contains(got[0], fmt.Sprintf("%s damaged at offset %d: the %d bytes after it are unreadable", seg, second, len(raw)-second)) {
				t.Fatalf("damage lines: %q", got)
			}
			got := rec.matching(" lost: ")
			if len(got) != len(tc.lost) {
				t.Fatalf("lost lines %q, want MIDs %v", got, tc.lost)
			}
			for i, mid := range tc.lost {
				if !strings.HasPrefix(got[i], fmt.Sprintf("queue: MID %d lost: its record at offset ", mid)) || !strings.HasSuffix(got[i], seg+" is in a damaged part of the segment") {
					t.Fatalf("line %d: %q, want MID %d", i, got[i], mid)
				}
			}
			if _, ok := q.Get(1); !ok {
				t.Fatal("record before the damage lost")
			}
		})
	}
}

// A segment that cannot be started is reported once, appends go on in
// the full segment, and the recovery is reported when rotation works.
func TestRotationFailureReported(t *testing.T) {
	dir := t.TempDir()
	var rec logRecorder
	q, err := Open(dir, Options{SegmentSize: 1, Log: rec.log})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	stray := filepath.Join(dir, segName(2)) // O_EXCL: segment 2 cannot be created
	if err := os.WriteFile(stray, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	put(t, q, 1, "first")
	put(t, q, 2, "second")
	if got := rec.matching("cannot start segment"); len(got) != 1 || !strings.HasPrefix(got[0], "queue: cannot start segment 2: ") || !strings.HasSuffix(got[0], "; segment 1 keeps growing until one can be made") {
		t.Fatalf("rotation failure lines: %q", got)
	}
	if err := os.Remove(stray); err != nil {
		t.Fatal(err)
	}
	put(t, q, 3, "third")
	if got := rec.matching("rotation works again"); len(got) != 1 || got[0] != "queue: segment 2 started; rotation works again" {
		t.Fatalf("recovery lines: %q (all: %q)", got, rec.lines)
	}
	for mid, want := range map[int64]string{1: "first", 2: "second", 3: "third"} {
		if b, err := q.Read(mid); err != nil || string(b) != want {
			t.Fatalf("MID %d: %q %v", mid, b, err)
		}
	}
}
