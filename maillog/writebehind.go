package maillog

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// Write-behind. A message costs mail_logs four to six lines in three or
// more events (MAIL, RCPT, the end of DATA, the delivery); one write(2) on
// an ext4 file each, with its inode time update, was a fifth of the
// server's CPU per message at 5,000 messages/s (issue 17). With
// Options.WriteBehind a Log's lines are appended to a buffer and written by
// one goroutine of the Log, at most WriteBehind after the first of them,
// many lines in one write(2): the daemon's own readers (Tail, Grep, Files:
// the CLI's tail and grep, the web UI) write what is pending first, so
// what they show is everything logged; another process reading the file
// sees a line at most WriteBehind late; a crash of the daemon loses at
// most the last WriteBehind of lines (the kernel kept each write(2)
// already, fsync was never asked for). Rotation happens between lines as
// before: a batch is split where the file would pass MaxSize.

// Sync writes every line logged before it was called.
func (l *Log) Sync() {
	l.fileMu.Lock()
	defer l.fileMu.Unlock()
	l.mu.Lock()
	batch := l.pending
	if len(batch) == 0 {
		l.mu.Unlock()
		return
	}
	l.pending, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	err := l.writeBatch(batch)
	l.mu.Lock()
	if err != nil {
		l.err = err
	}
	if cap(batch) <= maxKeptBuf {
		l.spare = batch[:0]
	}
	l.mu.Unlock()
}

// writeBatch writes whole lines, rotating first when they would push the
// current file past MaxSize; it returns the last failure (the lines of a
// failed write are lost, as a single line's were). Callers hold fileMu.
func (l *Log) writeBatch(batch []byte) error {
	var last error
	for len(batch) > 0 {
		part := batch
		if l.f != nil && l.size+int64(len(part)) > l.opts.MaxSize {
			part = linesFitting(batch, l.opts.MaxSize-l.size)
			if len(part) == 0 { // not even the first line: a fresh file takes it
				if l.size > 0 {
					if err := l.rotate(l.opts.Now()); err != nil {
						last = err
					}
				}
				part = linesFitting(batch, l.opts.MaxSize)
				if len(part) == 0 {
					part = batch[:bytes.IndexByte(batch, '\n')+1] // one line larger than MaxSize, whole
				}
			}
		}
		batch = batch[len(part):]
		if l.f == nil {
			if err := l.openCurrent(); err != nil {
				last = err
				continue
			}
		}
		// One Write on an O_APPEND file is one write(2) for regular
		// files, so concurrent appenders cannot interleave inside a line.
		n, err := l.f.Write(part)
		l.size += int64(n)
		if err != nil {
			last = fmt.Errorf("maillog: write %s: %w", l.currentPath(), err)
		}
	}
	return last
}

// linesFitting is the longest prefix of batch made of whole lines and at
// most room bytes long.
func linesFitting(batch []byte, room int64) []byte {
	if room <= 0 {
		return nil
	}
	if int64(len(batch)) <= room {
		return batch
	}
	cut := bytes.LastIndexByte(batch[:room], '\n')
	return batch[:cut+1]
}

// startFlusher starts the goroutine that writes pending lines, which
// Close stops.
func (l *Log) startFlusher() {
	l.kick = make(chan struct{}, 1)
	l.stop = make(chan struct{})
	l.stopped = make(chan struct{})
	go l.flush()
}

// flush writes the pending lines WriteBehind after the first of a batch
// was logged: the wait is what gathers the lines of many messages into
// one write(2).
func (l *Log) flush() {
	defer close(l.stopped)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case <-l.kick:
		case <-l.stop:
			return
		}
		linger.Reset(l.opts.WriteBehind)
		select {
		case <-linger.C:
		case <-l.stop:
			return // Close writes what is left
		}
		l.Sync()
	}
}

// open is every Log of this process by directory, so that a reader of
// the files (Files) writes their pending lines first.
var open struct {
	sync.Mutex
	logs map[string]map[*Log]struct{}
}

// key is the absolute form of a log directory.
func key(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return filepath.Clean(dir)
}

func register(l *Log) {
	k := key(l.dir)
	open.Lock()
	defer open.Unlock()
	if open.logs == nil {
		open.logs = map[string]map[*Log]struct{}{}
	}
	if open.logs[k] == nil {
		open.logs[k] = map[*Log]struct{}{}
	}
	open.logs[k][l] = struct{}{}
}

func unregister(l *Log) {
	k := key(l.dir)
	open.Lock()
	defer open.Unlock()
	delete(open.logs[k], l)
	if len(open.logs[k]) == 0 {
		delete(open.logs, k)
	}
}

// syncOpen writes the pending lines of this process's Logs in dir.
func syncOpen(dir string) {
	open.Lock()
	var logs []*Log
	for l := range open.logs[key(dir)] {
		if l.kick != nil {
			logs = append(logs, l)
		}
	}
	open.Unlock()
	for _, l := range logs {
		l.Sync()
	}
}
