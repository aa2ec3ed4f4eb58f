package queue

import (
	"errors"
	"time"
)

// Background loading (Options.Background): a queue of a million messages
// takes seconds to replay (their metadata is JSON), and a restarted
// appliance must accept mail long before that (issue 17). So Open starts
// a new segment for appends and returns; a goroutine replays the segments
// that existed, as the synchronous Open would (the last one CRC-checked
// and cut at a torn tail; nothing appends to it any more), into an index
// of its own, which it merges into the queue's at the end.
//
// Until then (Loaded is open):
//   - Put works: a new message goes to the new segment and the index.
//   - Get, List, Len, Read and Due see only the messages appended since
//     Open, so the delivery scan dispatches no message whose later records
//     (a tombstone, a retry) may not be replayed yet.
//   - Remove, SetRetry and SetRecipients wait for the replay: none may
//     write a record for a message before the records replay still has to
//     apply to it. After a failed replay they work on the messages
//     appended since Open (the only ones indexed).
//   - Segments are not collected: their live counts are not known yet.
//
// Close stops a replay in progress; a replay that fails (an unreadable
// segment, as Open would report) leaves the queue appending and
// delivering what was appended since, and reports the error through
// LoadErr and Options.Log.

// loadHook, set by tests, runs before a background replay starts.
var loadHook func()

// openBackground starts the new segment and the writer, then the replay
// of seqs.
func (q *Queue) openBackground(seqs []uint64) (*Queue, error) {
	seq := uint64(1)
	if len(seqs) > 0 {
		seq = seqs[len(seqs)-1] + 1
	}
	if err := q.newSegment(seq); err != nil {
		return nil, err
	}
	q.due.rebuild(q.index) // empty: pushes from now on are kept
	q.reap = newReaper(q.dir, q.logf)
	go q.writer()
	go q.load(seqs)
	return q, nil
}

// load replays seqs into a queue of its own and merges it into q.
func (q *Queue) load(seqs []uint64) {
	if loadHook != nil {
		loadHook()
	}
	old := newQueue(q.dir, q.opts)
	old.abort = q.done
	err := old.replayAll(seqs)
	if err == nil {
		old.reportLost()
		// Through q's reaper: a file it cannot delete keeps every one
		// collected after it. (q's own segments collected before the
		// merge may go first: until the merge no tombstone of q's can
		// bury a message of these, since removals wait for it.)
		q.reap.add(old.collect())
		q.mu.Lock()
		for mid, e := range old.index {
			if _, dup := q.index[mid]; dup {
				// A MID used again since Open (a counter that lost
				// its last steps in a crash): the later record wins,
				// as in a replay.
				old.forget(e)
				continue
			}
			q.index[mid] = e
		}
		for seq, sg := range old.segs {
			q.segs[seq] = sg
		}
		q.bytes += old.bytes
		q.mergeStats(&old.stats)
		q.due.rebuild(q.index)
		q.mu.Unlock()
	} else if q.opts.Log != nil && err != ErrClosed {
		q.opts.Log("queue: the messages queued before the restart are not loaded: %v", err)
	}
	q.loadErr = err
	close(q.loaded)
}

// Loaded is closed once the queue holds every message it had at Open.
func (q *Queue) Loaded() <-chan struct{} { return q.loaded }

// LoadErr is why the background replay failed (nil: it did not, or is
// not done: see Loaded).
func (q *Queue) LoadErr() error {
	select {
	case <-q.loaded:
		return q.loadErr
	default:
		return nil
	}
}

// WaitLoaded waits up to d for Loaded; it reports whether the queue is
// loaded.
func (q *Queue) WaitLoaded(d time.Duration) bool {
	select {
	case <-q.loaded:
		return true
	case <-time.After(d):
		return false
	}
}

// waitLoaded blocks a change to an existing message until the replay is
// done. A replay that failed does not refuse the change: the index then
// holds only the messages appended since Open, whose records all follow
// the old segments' (refusing would have the MTA deliver each of them
// again at every scan, its Remove failing).
func (q *Queue) waitLoaded() error {
	<-q.loaded
	if errors.Is(q.loadErr, ErrClosed) {
		return ErrClosed
	}
	return nil
}
