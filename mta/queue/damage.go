package queue

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// Damage the queue survives is reported through Options.Log, one line per
// message lost (as chasquid logs each queue item it cannot load), so that
// an administrator can tell senders which messages to send again.

// lostMessage is a message whose record lies in the unreadable tail of a
// sealed segment. It stays reported unless a later record removes (it
// was delivered) or rewrites it.
type lostMessage struct {
	seg string
	off int64
}

// logf reports what the queue survived; Options.Log nil drops it.
func (q *Queue) logf(format string, args ...any) {
	if q.opts.Log != nil {
		q.opts.Log(format, args...)
	}
}

// lostTail notes the messages in [off, end) of a sealed segment, the part
// replay could not frame: it reads the tail and takes every message
// record's metadata it can still recognise ({"mid":N right after the
// record's type byte 'M' and metadata length).
func (q *Queue) lostTail(f *os.File, path string, off, end int64) {
	q.logf("queue: %s damaged at offset %d: the %d bytes after it are unreadable", path, off, end-off)
	tail, err := io.ReadAll(io.NewSectionReader(f, off, end-off))
	if err != nil {
		q.logf("queue: %s: reading the damaged tail: %v; the IDs of the messages lost in it are unknown", path, err)
		return
	}
	marker := []byte(`{"mid":`)
	for i := 0; ; {
		j := bytes.Index(tail[i:], marker)
		if j < 0 {
			return
		}
		at := i + j
		i = at + len(marker)
		if at < 5 || tail[at-5] != recMessage {
			continue // a removal or retry record, or the type byte is damaged too
		}
		k := i
		for k < len(tail) && tail[k] >= '0' && tail[k] <= '9' {
			k++
		}
		mid, err := strconv.ParseInt(string(tail[i:k]), 10, 64)
		if err != nil {
			continue
		}
		if q.lost == nil {
			q.lost = map[int64]lostMessage{}
		}
		q.lost[mid] = lostMessage{seg: path, off: off + int64(at)}
	}
}

// reportLost logs, once Open has replayed every segment, each message
// lost to damage and not removed since.
func (q *Queue) reportLost() {
	mids := make([]int64, 0, len(q.lost))
	for mid := range q.lost {
		mids = append(mids, mid)
	}
	slices.Sort(mids)
	for _, mid := range mids {
		l := q.lost[mid]
		q.logf("queue: MID %d lost: its record at offset %d of %s is in a damaged part of the segment", mid, l.off, l.seg)
	}
	q.lost = nil
}

// noteRotation reports a failure to start a new segment once, and the
// recovery, rather than on every batch: the full segment keeps taking
// appends meanwhile. Called with mu held; returns the line to log.
func (q *Queue) noteRotation(cur uint64, err error) string {
	switch {
	case err != nil && q.rotErr == nil:
		q.rotErr = err
		return fmt.Sprintf("queue: cannot start segment %d: %v; segment %d keeps growing until one can be made", cur+1, err, cur)
	case err == nil && q.rotErr != nil:
		q.rotErr = nil
		return fmt.Sprintf("queue: segment %d started; rotation works again", cur+1)
	}
	return ""
}
