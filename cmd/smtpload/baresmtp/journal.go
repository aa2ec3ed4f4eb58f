package baresmtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Journal is the durable variant's queue: the least any server that says
// 250 only once the message is on disk must do. Each message is appended
// to a file (an 8-byte length, then its bytes, with no CRC and no index).
// The writer takes every message that arrived while the previous sync
// ran (group commit, as esash's queue does), writes them with one writev
// and calls fdatasync once; their 250s follow the sync. A file that
// reaches the segment size is
// closed and a new one started, its directory entry synced; a goroutine
// deletes the closed files (on this disk, with its discard mount option,
// the unlink is 30 ms per 64 MiB: no server can keep that on its writer's
// path, and none can skip it without the disk filling up).
//
// It is the ceiling for a durable server, as Server alone is for any: the
// bench reports esash against both, so what the durability itself costs
// on a machine is measured and not argued.
type Journal struct {
	dir         string
	segmentSize int64
	reqs        chan *journalReq
	unlinks     chan string
	writerDone  chan struct{}
	reaperDone  chan struct{}
	mu          sync.RWMutex // held to send on reqs; Close takes it to close reqs
	closed      bool

	// The writer's own state.
	f    *os.File
	size int64
	seq  int
}

type journalReq struct {
	rec  []byte // the 8-byte length and the message
	done chan error
}

// ErrJournalClosed answers an Append after Close.
var ErrJournalClosed = errors.New("baresmtp: journal closed")

// maxJournalBatch bounds the bytes of one group commit.
const maxJournalBatch = 4 << 20

// OpenJournal starts a journal in dir (created if missing; files of an
// earlier run are deleted first: nothing is ever read back).
func OpenJournal(dir string, segmentSize int64) (*Journal, error) {
	if segmentSize <= 0 {
		segmentSize = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	old, _ := filepath.Glob(filepath.Join(dir, "journal-*"))
	for _, name := range old {
		os.Remove(name)
	}
	j := &Journal{dir: dir, segmentSize: segmentSize, reqs: make(chan *journalReq, 1024),
		unlinks: make(chan string, 64), writerDone: make(chan struct{}), reaperDone: make(chan struct{})}
	if err := j.rotate(); err != nil {
		return nil, err
	}
	go j.writer()
	go j.reaper()
	return j, nil
}

// Record returns buf with room for the record's length in front: a
// session appends its message to it and hands it to Append.
func Record(buf []byte) []byte {
	return append(buf[:0], make([]byte, 8)...)
}

// Append makes rec (from Record, the message appended) durable: it
// returns once the file holding it has been synced.
func (j *Journal) Append(rec []byte) error {
	binary.BigEndian.PutUint64(rec[:8], uint64(len(rec)-8))
	req := &journalReq{rec: rec, done: make(chan error, 1)}
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return ErrJournalClosed
	}
	j.reqs <- req
	j.mu.RUnlock()
	return <-req.done
}

// Close stops the writer once the appends under way are answered, and
// waits for the deletions.
func (j *Journal) Close() error {
	j.mu.Lock()
	if !j.closed {
		j.closed = true
		close(j.reqs)
	}
	j.mu.Unlock()
	<-j.writerDone
	<-j.reaperDone
	return nil
}

func (j *Journal) writer() {
	defer close(j.writerDone)
	defer close(j.unlinks)
	defer func() { j.f.Close() }()
	batch := make([]*journalReq, 0, 64)
	iov := make([][]byte, 0, 64)
	for first := range j.reqs {
		batch = append(batch[:0], first)
		total := len(first.rec)
	more:
		for total < maxJournalBatch {
			select {
			case r, ok := <-j.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
				total += len(r.rec)
			default:
				break more
			}
		}
		err := j.writeBatch(batch, iov)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// writeBatch writes batch with one writev and syncs it, then starts the
// next file when this one is full.
func (j *Journal) writeBatch(batch []*journalReq, iov [][]byte) error {
	if j.f == nil { // the last rotation failed: try again
		if err := j.rotate(); err != nil {
			return err
		}
	}
	iov = iov[:0]
	for _, r := range batch {
		iov = append(iov, r.rec)
		j.size += int64(len(r.rec))
	}
	if err := writeAll(j.f, iov); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := syscall.Fdatasync(int(j.f.Fd())); err != nil {
		return fmt.Errorf("journal: fdatasync: %w", err)
	}
	if j.size >= j.segmentSize {
		// The batch is on disk: a rotation that fails is the next
		// batch's error (it tries again), not this one's.
		j.rotate()
	}
	return nil
}

// rotate closes the current file (handing it to the reaper) and creates
// the next one, its directory entry made durable. When it fails j.f is
// nil and the next batch tries again.
func (j *Journal) rotate() error {
	if j.f != nil {
		j.f.Close()
		j.unlinks <- j.f.Name()
		j.f = nil // until the next file exists: writeBatch rotates first
	}
	j.seq++
	f, err := os.OpenFile(filepath.Join(j.dir, fmt.Sprintf("journal-%08d", j.seq)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	d, err := os.Open(j.dir)
	if err == nil {
		err = d.Sync()
		d.Close()
	}
	if err != nil {
		f.Close()
		j.unlinks <- f.Name()
		return fmt.Errorf("journal: sync %s: %w", j.dir, err)
	}
	j.f, j.size = f, 0
	return nil
}

func (j *Journal) reaper() {
	defer close(j.reaperDone)
	for name := range j.unlinks {
		os.Remove(name)
	}
}

// writeAll writes iov with writev(2), as few calls as the kernel allows.
func writeAll(f *os.File, iov [][]byte) error {
	const iovMax = 1024
	fd := int(f.Fd())
	for len(iov) > 0 {
		n, err := unix.Writev(fd, iov[:min(len(iov), iovMax)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		for n > 0 && len(iov) > 0 { // drop what was written
			if n < len(iov[0]) {
				iov[0] = iov[0][n:]
				break
			}
			n -= len(iov[0])
			iov = iov[1:]
		}
	}
	return nil
}
