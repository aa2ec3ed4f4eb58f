package maillog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Log is one named AsyncOS log (for example "mail_logs" with prefix "mail")
// living in <dir>/<name>/. It is safe for concurrent use.
//
// Writing never panics and never returns an error to the caller: a mail
// server must keep delivering when its disk is full. The most recent failure
// is kept for Err so a status command can surface it.
//
// Rotation assumes one process owns the log. Other processes may append
// (lines are single O_APPEND writes, so they never interleave mid-line),
// but only the owner rotates.
type Log struct {
	dir    string // <dir>/<name>
	prefix string
	opts   Options

	mu      sync.Mutex // guards what follows up to fileMu, and orders lines with subscribers
	pending []byte     // lines logged, not yet written (writebehind.go)
	spare   []byte     // the previous batch's buffer, reused
	err     error
	closed  bool
	// The formatted time of stampSec in stampLoc: lines carry seconds,
	// so the time is formatted once a second, not once a line.
	stampSec int64
	stampLoc *time.Location
	stamp    []byte
	subs     map[*subscriber]struct{}
	dropped  atomic.Uint64

	// fileMu is held by whoever writes a batch (Sync): it orders the
	// batches in the file as their lines were logged. Taken before mu.
	fileMu sync.Mutex
	f      *os.File // nil after a failed reopen; retried on the next batch
	size   int64

	kick    chan struct{} // WriteBehind: lines are pending (capacity 1)
	stop    chan struct{} // closed by Close: the flusher exits
	stopped chan struct{} // closed by the flusher as it exits
}

// Open creates <dir>/<name>/ if needed and opens <prefix>.current for append.
func Open(dir, name, prefix string, opts Options) (*Log, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := validName(prefix); err != nil {
		return nil, err
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir:    filepath.Join(dir, name),
		prefix: prefix,
		opts:   opts,
		subs:   make(map[*subscriber]struct{}),
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("maillog: open %s: %w", l.dir, err)
	}
	if err := l.openCurrent(); err != nil {
		return nil, err
	}
	if opts.WriteBehind > 0 {
		l.startFlusher()
	}
	register(l)
	return l, nil
}

// validName rejects anything that is not a single path element, so a log
// name from configuration cannot write outside the log root.
func validName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`+"\x00") {
		return fmt.Errorf("maillog: %q: %w", s, ErrInvalidName)
	}
	return nil
}

func (l *Log) currentPath() string {
	return filepath.Join(l.dir, l.prefix+currentSuffix)
}

// openCurrent (re)opens the current file; callers hold fileMu or own l exclusively.
func (l *Log) openCurrent() error {
	f, err := os.OpenFile(l.currentPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("maillog: open %s: %w", l.currentPath(), err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("maillog: stat %s: %w", l.currentPath(), err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Infof logs at Info.
func (l *Log) Infof(format string, args ...any) { l.Logf(Info, format, args...) }

// Warningf logs at Warning.
func (l *Log) Warningf(format string, args ...any) { l.Logf(Warning, format, args...) }

// Criticalf logs at Critical.
func (l *Log) Criticalf(format string, args ...any) { l.Logf(Critical, format, args...) }

// Debugf logs at Debug.
func (l *Log) Debugf(format string, args ...any) { l.Logf(Debug, format, args...) }

// Tracef logs at Trace.
func (l *Log) Tracef(format string, args ...any) { l.Logf(Trace, format, args...) }

// Logf formats and writes one line. Failures are recorded for Err.
func (l *Log) Logf(level Level, format string, args ...any) {
	// Formatting happens outside the lock so slow Stringers do not
	// serialise every writer. Most lines are Infof("%s", line) with a
	// line built by this package's helpers: they skip fmt.
	msg, ok := onlyString(format, args)
	if !ok {
		msg = fmt.Sprintf(format, args...)
	}
	l.write(level, capLine(msg, l.opts.MaxLine))
}

// onlyString is the message of Logf("%s", s) for a string s.
func onlyString(format string, args []any) (string, bool) {
	if format != "%s" || len(args) != 1 {
		return "", false
	}
	s, ok := args[0].(string)
	return s, ok
}

// capLine cuts msg to max bytes once escaped, at a character boundary, and
// says how long it was. Escaping first keeps a cut from splitting an
// escape sequence.
func capLine(msg string, max int) string {
	if max <= 0 || len(msg) <= max {
		return msg
	}
	esc := escaper.Replace(msg)
	if len(esc) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(esc[cut]) {
		cut--
	}
	if cut > 0 && esc[cut-1] == '\\' {
		cut--
	}
	return fmt.Sprintf("%s [cut: %d bytes]", esc[:cut], len(msg))
}

// write formats msgs as lines of one event and hands them to the file:
// written before it returns, or with WriteBehind by the flusher
// (writebehind.go). Subscribers see them at once, in file order.
func (l *Log) write(level Level, msgs ...string) {
	l.mu.Lock()
	if l.closed {
		l.err = ErrClosed
		l.mu.Unlock()
		return
	}
	// The clock is read under the lock so timestamps never go backwards
	// within the file.
	now := l.opts.Now()
	if sec := now.Unix(); sec != l.stampSec || now.Location() != l.stampLoc || l.stamp == nil {
		l.stampSec, l.stampLoc = sec, now.Location()
		l.stamp = now.AppendFormat(l.stamp[:0], TimeLayout)
	}
	start := len(l.pending)
	for _, msg := range msgs {
		l.pending = append(appendStamped(l.pending, l.stamp, level, msg), '\n')
	}
	if len(l.subs) > 0 {
		for rest := l.pending[start:]; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			l.publish(string(rest[:i]))
			rest = rest[i+1:]
		}
	}
	full := len(l.pending) >= maxPending
	l.mu.Unlock()
	switch {
	case l.kick == nil || full:
		l.Sync()
	case start == 0:
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// Infos writes lines at Info together, in one write(2): the lines one
// event makes (a message's sender line after its start, "queued" after
// "ready") are never apart in the file, nor split by a rotation. Each line is
// escaped and capped as Infof's.
func (l *Log) Infos(msgs ...string) {
	for i, m := range msgs {
		msgs[i] = capLine(m, l.opts.MaxLine)
	}
	l.write(Info, msgs...)
}

// maxKeptBuf bounds the batch buffer a Log keeps between batches.
const maxKeptBuf = 64 << 10

// maxPending is how much a write-behind Log holds before the logging
// goroutine writes itself: a disk that stalls the flusher slows the
// loggers rather than growing memory.
const maxPending = 256 << 10

// Err returns the most recent write, rotation or use-after-close failure, or
// nil if there has been none. It is not cleared by later successes, so a
// transient failure is still visible to whoever checks later.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Dir returns <dir>/<name>, the directory holding this log's files.
func (l *Log) Dir() string { return l.dir }

// Close writes what is pending, closes the current file and every
// subscriber channel. Later writes are dropped and record ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	for s := range l.subs {
		delete(l.subs, s)
		close(s.ch)
	}
	l.mu.Unlock()
	unregister(l)
	if l.stop != nil {
		close(l.stop)
		<-l.stopped
	}
	l.Sync()
	l.fileMu.Lock()
	defer l.fileMu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("maillog: close %s: %w", l.currentPath(), err)
	}
	return nil
}
