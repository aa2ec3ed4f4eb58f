package mta

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"esash/mta/queue"
)

// spillAt is how much of a message is kept in memory while it arrives;
// the rest goes to a file in the spool directory, so 200 clients sending
// 50 MB each cost disk, not 10 GB of RAM. Most mail is far smaller.
const spillAt = 256 << 10

// errSpool is a spool file that could not be written: the message is
// refused with 451, as for any storage failure.
var errSpool = errors.New("spool")

// spool holds one message while it is received, until the queue has it.
type spool struct {
	dir string
	mem *bytes.Buffer
	f   *os.File
	n   int64
}

var spoolBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func newSpool(dir string) *spool {
	b := spoolBufs.Get().(*bytes.Buffer)
	b.Reset()
	return &spool{dir: dir, mem: b}
}

// Write keeps p in memory while the message is under spillAt, and moves
// everything to a file the first time it would go over.
func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && s.mem.Len()+len(p) > spillAt {
		if err := s.spill(); err != nil {
			return 0, err
		}
	}
	if s.f == nil {
		n, _ := s.mem.Write(p)
		s.n += int64(n)
		return n, nil
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("%w: %w", errSpool, err)
	}
	return n, nil
}

// spill moves what is in memory to a new spool file.
func (s *spool) spill() error {
	f, err := os.CreateTemp(s.dir, "msg-*")
	if err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	s.f = f
	if _, err := f.Write(s.mem.Bytes()); err != nil {
		return fmt.Errorf("%w: %w", errSpool, err)
	}
	return nil
}

// ReadFrom reads r to its end. Up to spillAt the bytes are read straight
// into the memory buffer; past it, through a pooled chunk into the file.
func (s *spool) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	if s.f == nil {
		n, err := s.mem.ReadFrom(io.LimitReader(r, int64(spillAt-s.mem.Len()+1)))
		s.n += n
		total += n
		if err != nil || s.mem.Len() <= spillAt {
			return total, err
		}
		if err := s.spill(); err != nil {
			return total, err
		}
	}
	chunk := chunks.Get().(*[]byte)
	defer chunks.Put(chunk)
	n, err := io.CopyBuffer(spoolFile{s}, r, *chunk)
	return total + n, err
}

var chunks = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// spoolFile hides spool's ReadFrom from io.CopyBuffer, which would
// otherwise call it back.
type spoolFile struct{ s *spool }

func (w spoolFile) Write(p []byte) (int, error) { return w.s.Write(p) }

// Len is the number of bytes held.
func (s *spool) Len() int64 { return s.n }

// Reader reads the whole message from its start.
func (s *spool) Reader() (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.mem.Bytes()), nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%w: %w", errSpool, err)
	}
	return s.f, nil
}

// putSpooled queues the message s holds: from its memory buffer itself
// (queue.PutBytes: the queue writes it without copying it first) or, when
// it went to a file, read from there.
func putSpooled(q *queue.Queue, meta queue.Meta, s *spool) error {
	if s.f == nil {
		return q.PutBytes(meta, s.mem.Bytes())
	}
	body, err := s.Reader()
	if err != nil {
		return err
	}
	return q.Put(meta, body, s.Len())
}

// Spilled reports whether the message went to a file.
func (s *spool) Spilled() bool { return s.f != nil }

// Close frees the memory and removes the file.
func (s *spool) Close() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
	if s.mem != nil && s.mem.Cap() <= 2*spillAt {
		spoolBufs.Put(s.mem)
	}
	s.mem = nil
}

// clearSpool empties the spool directory at start: a file there belongs
// to a message that was never acknowledged, so the client sends it again.
func clearSpool(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o700)
}

// spoolDir is where messages over spillAt wait for the queue: beside it,
// on the same disk.
func spoolDir(dataDir string) string { return filepath.Join(dataDir, "spool") }
