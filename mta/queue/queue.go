// Package queue is the MTA's durable message queue: every accepted message
// is appended to a segment file and made durable (fdatasync) before the
// SMTP server answers 250.
//
// Layout: <dir>/q-<16 digits>.seg, append-only. Each record is
//
//	u32 length | u32 CRC-32C of payload | payload
//	payload = type byte | u32 meta length | meta (JSON) | message bytes
//
// A record is valid only when its whole payload is present and its CRC
// matches, so a crash in the middle of an append leaves at most a torn tail
// on the newest segment, which Open truncates. A message that was
// acknowledged is complete on disk; one that was not may be absent but is
// never seen half-written.
//
// Durability is bought once per batch: a single writer goroutine takes
// every append waiting for it, writes them all and syncs once (group
// commit). With PerMessageSync it syncs after each append instead, which is
// what the benchmarks compare it with.
//
// A deferred delivery appends a retry record (attempts, next try) for its
// message. Recipients delivered while others are still due are recorded
// with a recipients record (the recipients still due and their IDs), a
// few bytes where rewriting the message would copy all of it; like the
// retry record it updates the message's entry at replay. Removing a
// message appends a tombstone: Remove waits for its sync; Done, after a
// delivery, does not (it rides on the next batch's sync, or a timer's
// within a second: a crash before that delivers the message again). A
// segment whose messages are all removed is deleted once every older
// segment is gone, so a tombstone never outlives what it buries; a
// goroutine of its own deletes the files (reap.go), in that order.
//
// Locking: mu guards the index and the segment table and is held only to
// look things up or apply a written batch, never across disk reads of
// message bytes (see pin). The queue is last in the appliance's lock
// order (store commit lock, mta runtime, sshd, queue): it calls out to
// nothing while holding mu.
package queue

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors of the queue.
var (
	ErrClosed   = errors.New("queue: closed")
	ErrNotFound = errors.New("queue: no such message")
	// ErrBroken is a queue whose segment could not be repaired after a
	// failed write; it refuses appends until it is reopened.
	ErrBroken = errors.New("queue: storage failed; restart needed")
	// ErrCorrupt is a message whose bytes no longer match their checksum.
	ErrCorrupt = errors.New("queue: message damaged on disk (checksum mismatch)")
)

// TLSInfo is what the receiving session knew about its TLS.
type TLSInfo struct {
	Version    string `json:"version"`           // TLSv1.3
	Cipher     string `json:"cipher"`            // TLS_AES_128_GCM_SHA256
	ServerName string `json:"sni,omitempty"`     // what the client asked for
	PeerCert   string `json:"peer_cn,omitempty"` // verified client certificate subject
}

// Meta is a message's envelope and reception facts.
type Meta struct {
	MID        int64     `json:"mid"`
	ICID       int64     `json:"icid"`
	Listener   string    `json:"listener"`
	Interface  string    `json:"interface"`
	RemoteIP   string    `json:"remote_ip"`
	RemoteHost string    `json:"remote_host,omitempty"` // verified reverse DNS
	HELO       string    `json:"helo"`
	From       string    `json:"from"`
	To         []string  `json:"to"`
	TLS        *TLSInfo  `json:"tls,omitempty"`
	Relay      bool      `json:"relay,omitempty"`
	Time       time.Time `json:"time"`
	Received   string    `json:"received,omitempty"` // the Received: header added, without CRLF
	// RecvLen is the length of Received in a stored record: the message
	// bytes begin with the header, so records written since issue 17 carry
	// its length instead of a JSON-escaped copy (a third of the meta, to
	// encode per message and to decode at every restart). Older records
	// carry Received.
	RecvLen int   `json:"recv_len,omitempty"`
	Size    int64 `json:"size"` // bytes stored: Received header + message
	// RIDs are the recipient IDs of To when some recipients were already
	// delivered (To shrank); nil means To's positions.
	RIDs []int `json:"rids,omitempty"`
	// Attempts is the number of delivery attempts that deferred; NextTry
	// is when the next may start (zero: at once). Kept in the queue so
	// that a restart does not retry everything at once.
	Attempts int       `json:"attempts,omitempty"`
	NextTry  time.Time `json:"next_try,omitzero"`
}

// Options tune a Queue.
type Options struct {
	// PerMessageSync syncs after every append instead of once per batch.
	PerMessageSync bool
	// SegmentSize starts a new segment once the current one is larger.
	SegmentSize int64
	// BeforeSync, when set, runs before each sync; an error fails the
	// batch as a storage failure would (tests inject faults with it).
	BeforeSync func() error
	// LazySync bounds how long Done's tombstones wait for a sync
	// (default 1 s).
	LazySync time.Duration
	// CommitDelay and Siblings: when a message is the first of a batch
	// and Siblings reports other messages on their way (the MTA counts
	// its open mail transactions), the writer waits up to CommitDelay
	// for them, so that one sync covers them all. Each arrival asks
	// Siblings again: none left ends the wait (a sibling that gives up,
	// by RSET or a refused message, is waited for until the delay
	// ends; so is a client idle after MAIL). This is PostgreSQL's
	// commit_delay with commit_siblings (MySQL's
	// binlog_group_commit_sync_delay): under concurrency, fewer syncs
	// and bigger batches for the same durability; a lone sender never
	// waits. Zero or nil: no wait.
	CommitDelay time.Duration
	Siblings    func() int
	// Background makes Open return once appends work, replaying the
	// existing segments in a goroutine (load.go).
	Background bool
	// Log receives what the queue survives but must not keep quiet: a
	// segment it cannot start, the messages lost in a damaged segment
	// (damage.go). nil drops them.
	Log func(format string, args ...any)
}

const (
	recMessage = 'M'
	recRemove  = 'R'
	recRetry   = 'T' // a message's Attempts and NextTry changed
	recRcpts   = 'D' // a message's recipients still due (To, RIDs) changed

	headerLen          = 8
	defaultSegmentSize = 64 << 20
	maxBatchBytes      = 8 << 20
	// defaultLazySync is how long a tombstone written by Done may wait
	// for a batch that syncs before the writer syncs it by itself.
	defaultLazySync = time.Second
	// maxRecord bounds a length field read back from disk, so a corrupt
	// one cannot make Open allocate gigabytes.
	maxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type entry struct {
	meta    Meta
	seg     uint64
	dataOff int64 // offset of the message bytes in the segment file
	// Where the record's payload is and its CRC, for the check Read does
	// on records Open did not verify (see replay).
	payOff   int64
	payLen   int64
	sum      uint32
	verified atomic.Bool
	// recvLen is the length of meta.Received, which the index does not
	// keep: the stored bytes begin with it (see Received).
	recvLen int
}

// newEntry makes the index entry of a message record. The index is what
// a queue costs in memory per message, so it shares the strings most
// messages have in common and leaves out the Received header, which the
// message bytes on disk begin with: about 470 bytes a message instead of
// 890 (BenchmarkIndexMemory).
func (q *Queue) newEntry(m Meta, seg uint64, dataOff int64) *entry {
	e := &entry{seg: seg, dataOff: dataOff, recvLen: max(len(m.Received), m.RecvLen)}
	m.Received, m.RecvLen = "", 0
	m.Listener, m.Interface, m.RemoteIP = q.intern(m.Listener), q.intern(m.Interface), q.intern(m.RemoteIP)
	m.RemoteHost, m.HELO = q.intern(m.RemoteHost), q.intern(m.HELO)
	if m.TLS != nil {
		t, ok := q.tls[*m.TLS]
		if !ok {
			t = m.TLS
			q.tls[*t] = t
		}
		m.TLS = t
	}
	e.meta = m
	return e
}

// intern returns the queue's copy of s. Guarded by mu (or Open's single
// goroutine); the table only grows, by distinct clients and listeners.
func (q *Queue) intern(s string) string {
	if s == "" {
		return s
	}
	if c, ok := q.strs[s]; ok {
		return c
	}
	q.strs[s] = s
	return s
}

type segment struct {
	seq  uint64
	f    *os.File // read handle (and write handle for the newest)
	live int      // messages in it not yet removed
	size int64

	// Readers read message bytes without q.mu (see pin), so a segment
	// collected while one reads keeps its file open until the last
	// reader is done: readers counts them, dropped says collect has
	// unlinked the file, closeOnce closes it once.
	readers   atomic.Int32
	dropped   atomic.Bool
	closeOnce sync.Once
}

// unpin ends a read of the segment begun by pin; the last reader of a
// collected segment closes its file.
func (sg *segment) unpin() {
	if sg.readers.Add(-1) == 0 && sg.dropped.Load() {
		sg.close()
	}
}

func (sg *segment) close() { sg.closeOnce.Do(func() { sg.f.Close() }) }

// Queue is the durable queue. It is safe for concurrent use.
type Queue struct {
	dir  string
	opts Options

	reqs    chan *request
	done    chan struct{} // closed by Close: the writer finishes and stops
	stopped chan struct{} // closed by the writer when it has stopped

	sendMu sync.RWMutex // held while sending to reqs; Close takes it to stop sends
	shut   bool         // guarded by sendMu

	mu     sync.RWMutex // guards everything below
	index  map[int64]*entry
	strs   map[string]string    // interned strings of the index (newEntry)
	tls    map[TLSInfo]*TLSInfo // shared TLS facts of the index
	segs   map[uint64]*segment
	cur    *segment
	closed bool
	broken error
	bytes  int64
	rotErr error                 // the last rotation's failure, reported once (noteRotation)
	lost   map[int64]lostMessage // during Open: messages in damaged tails (damage.go)
	// due orders the messages by next try (due.go), so the delivery
	// scan costs the messages due, not the queue's length.
	due dueHeap
	// stats is the summary showqueue reads (stats.go).
	stats queueStats
	// reap deletes the files of collected segments (reap.go); set when
	// the writer starts.
	reap *reaper

	// beforeRead, set by tests, runs in Read once the message's location
	// is known and before its bytes are read from disk.
	beforeRead func(mid int64)

	// Background loading (load.go): loaded is closed once every segment
	// that existed at Open is in the index (at once without Background),
	// with loadErr set before; abort stops a replay in progress.
	loaded  chan struct{}
	loadErr error
	abort   <-chan struct{}
	replays atomic.Int64 // records replayed, for the abort check
}

type request struct {
	kind byte
	meta Meta
	head []byte // record header + type + meta
	body io.Reader
	data []byte // the message bytes when the caller holds them in memory (PutBytes), else body
	size int64  // len(body)
	err  chan error
	// lazy is a record whose writer does not wait for it (Done): it
	// is synced with the next batch that is, or within lazySync.
	lazy bool
}

// Open opens (or creates) the queue in dir, replaying every segment. With
// Options.Background it returns as soon as appends work (see load.go).
func Open(dir string, opts Options) (*Queue, error) {
	if opts.LazySync <= 0 {
		opts.LazySync = defaultLazySync
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = defaultSegmentSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := newQueue(dir, opts)
	seqs, err := q.listSegments()
	if err != nil {
		return nil, err
	}
	if opts.Background {
		return q.openBackground(seqs)
	}
	if err := q.replayAll(seqs); err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		if err := q.newSegment(1); err != nil {
			return nil, err
		}
	}
	q.reportLost()
	// Through the reaper like every collection: a file it cannot
	// delete keeps every newer one behind it.
	q.reap = newReaper(q.dir, q.logf)
	q.reap.add(q.collect())
	q.due.rebuild(q.index)
	close(q.loaded)
	go q.writer()
	return q, nil
}

func newQueue(dir string, opts Options) *Queue {
	return &Queue{dir: dir, opts: opts, index: map[int64]*entry{}, strs: map[string]string{}, tls: map[TLSInfo]*TLSInfo{}, segs: map[uint64]*segment{},
		reqs: make(chan *request, 1024), done: make(chan struct{}), stopped: make(chan struct{}), loaded: make(chan struct{})}
}

// replayAll replays the segments seqs, oldest first, the last as the
// newest (CRC-checked, torn tail cut).
func (q *Queue) replayAll(seqs []uint64) error {
	for i, seq := range seqs {
		if err := q.replay(seq, i == len(seqs)-1); err != nil {
			q.closeFiles()
			return err
		}
	}
	return nil
}

func segName(seq uint64) string { return fmt.Sprintf("q-%016d.seg", seq) }

func (q *Queue) listSegments() ([]uint64, error) {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "q-") || !strings.HasSuffix(n, ".seg") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, "q-"), ".seg"), 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// replay reads one segment into the index. The newest segment is opened
// for appending, with a torn tail cut off: its records are checked against
// their CRC here, since only it can end in a half-written append. Older
// segments were complete and synced when the next one began, so for them
// only headers and metadata are read; each message's CRC is checked when
// it is first read. A queue of many gigabytes thus opens in the time of
// its metadata, not of its bytes, and one damaged message no longer
// hides the messages after it.
func (q *Queue) replay(seq uint64, newest bool) error {
	path := filepath.Join(q.dir, segName(seq))
	flag := os.O_RDONLY
	if newest {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	sg := &segment{seq: seq, f: f}
	q.segs[seq] = sg
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	end := st.Size()
	off, err := q.replayRecords(f, sg, path, end, newest)
	if err != nil {
		return err
	}
	sg.size = off
	if off != end {
		if !newest {
			// Only the newest segment is ever appended to; damage
			// elsewhere is the disk's, and what follows it is lost.
			q.lostTail(f, path, off, end)
			return nil
		}
		if err := f.Truncate(off); err != nil {
			return fmt.Errorf("queue: repair %s: %w", path, err)
		}
		if err := fdatasync(f); err != nil {
			return fmt.Errorf("queue: repair %s: %w", path, err)
		}
	}
	if newest {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
		q.cur = sg
	}
	return nil
}

// replayRecords applies the records of segment sg (file f at path, end
// bytes long) to the index and returns where the valid records end: at
// end, or at the first record that is torn, fails its CRC (checked in
// the newest segment only) or does not parse.
func (q *Queue) replayRecords(f *os.File, sg *segment, path string, end int64, newest bool) (int64, error) {
	var off int64
	// One read per record in the common case: its header, type, meta
	// length and meta (and, in the newest segment, a small message
	// whole), into buffers reused for every record: the replay of a
	// million messages costs their metadata, not a read(2) per field and
	// a 32 KiB copy buffer per check (BenchmarkBigQueue).
	pre := make([]byte, replayRead)
	scratch := make([]byte, 64<<10)
	for off+headerLen <= end {
		if q.abort != nil && q.replays.Add(1)%4096 == 0 {
			select {
			case <-q.abort:
				return off, ErrClosed
			default:
			}
		}
		b := pre[:min(int64(len(pre)), end-off)]
		if _, err := f.ReadAt(b, off); err != nil {
			return off, fmt.Errorf("queue: read %s: %w", path, err)
		}
		n := int64(binary.BigEndian.Uint32(b[0:4]))
		sum := binary.BigEndian.Uint32(b[4:8])
		if n < 5 || n > maxRecord || off+headerLen+n > end {
			break
		}
		if newest {
			ok, err := checkRecord(f, off+headerLen, n, sum, b[headerLen:], scratch)
			if err != nil {
				return off, fmt.Errorf("queue: read %s: %w", path, err)
			}
			if !ok {
				break
			}
		}
		if err := q.apply(f, sg, off+headerLen, n, sum, newest, b[headerLen:], &scratch); err != nil {
			if !newest {
				// An unchecked record that does not parse is damage,
				// handled as a CRC mismatch would be.
				break
			}
			return off, fmt.Errorf("queue: %s at %d: %w", path, off, err)
		}
		off += headerLen + n
	}
	return off, nil
}

// replayRead is what replay reads at once at each record: enough for the
// header and metadata of a message.
const replayRead = 2048

// checkRecord verifies the CRC of the n-byte payload at off; pre holds its
// first bytes (read already), scratch is a buffer for the rest.
func checkRecord(f *os.File, off, n int64, sum uint32, pre, scratch []byte) (bool, error) {
	if n <= int64(len(pre)) {
		return crc32.Checksum(pre[:n], castagnoli) == sum, nil
	}
	c := crc32.Update(0, castagnoli, pre)
	for done := int64(len(pre)); done < n; {
		k := min(int64(len(scratch)), n-done)
		if _, err := f.ReadAt(scratch[:k], off+done); err != nil {
			return false, err
		}
		c = crc32.Update(c, castagnoli, scratch[:k])
		done += k
	}
	return c == sum, nil
}

// apply adds one valid record to the index. pre holds the payload's first
// bytes (replay read them); scratch is a buffer it may grow for a longer
// meta.
func (q *Queue) apply(f *os.File, sg *segment, off, n int64, sum uint32, verified bool, pre []byte, scratch *[]byte) error {
	if len(pre) < 5 {
		return fmt.Errorf("record at %d: short read", off)
	}
	kind := pre[0]
	mlen := int64(binary.BigEndian.Uint32(pre[1:5]))
	if 5+mlen > n {
		return fmt.Errorf("meta length %d beyond record", mlen)
	}
	var raw []byte
	if 5+mlen <= int64(len(pre)) {
		raw = pre[5 : 5+mlen]
	} else {
		if int64(cap(*scratch)) < mlen {
			*scratch = make([]byte, mlen)
		}
		raw = (*scratch)[:mlen]
		if _, err := f.ReadAt(raw, off+5); err != nil {
			return err
		}
	}
	var m Meta
	if err := json.Unmarshal(raw, &m); err != nil { // copies what it keeps
		return fmt.Errorf("meta: %w", err)
	}
	switch kind {
	case recMessage:
		m.Size = n - 5 - mlen
		if m.RecvLen < 0 || int64(m.RecvLen) > m.Size || int64(len(m.Received)) > m.Size {
			// Received would read past the message, or allocate what
			// a damaged length says.
			return fmt.Errorf("meta: recv_len %d outside the message's %d bytes", m.RecvLen, m.Size)
		}
		if old, dup := q.index[m.MID]; dup {
			q.forget(old)
		}
		delete(q.lost, m.MID)
		e := q.newEntry(m, sg.seq, off+5+mlen)
		e.payOff, e.payLen, e.sum = off, n, sum
		e.verified.Store(verified)
		q.index[m.MID] = e
		q.count(e, 1)
		q.indexed(m.MID)
		sg.live++
		q.bytes += m.Size
	case recRemove:
		if e, ok := q.index[m.MID]; ok {
			q.forget(e)
		}
		delete(q.lost, m.MID) // delivered: not lost after all
	case recRetry:
		if e, ok := q.index[m.MID]; ok {
			e.meta.Attempts, e.meta.NextTry = m.Attempts, m.NextTry
		}
	case recRcpts:
		if e, ok := q.index[m.MID]; ok {
			q.count(e, -1)
			e.meta.To, e.meta.RIDs = m.To, m.RIDs
			q.count(e, 1)
		}
	default:
		return fmt.Errorf("unknown record type %q", kind)
	}
	return nil
}

func (q *Queue) forget(e *entry) {
	q.due.stale++ // its item in due, if Open has built it
	delete(q.index, e.meta.MID)
	q.count(e, -1)
	q.unindexed(e.meta.MID)
	q.bytes -= e.meta.Size
	if sg := q.segs[e.seg]; sg != nil {
		sg.live--
	}
}

func (q *Queue) newSegment(seq uint64) error {
	sg, err := q.createSegment(seq)
	if err != nil {
		return err
	}
	q.install(sg)
	return nil
}

// createSegment makes the file of segment seq, durably named. It takes no
// lock: the writer creates the next segment before it takes mu to switch
// to it (install), since the directory's sync costs a journal commit.
func (q *Queue) createSegment(seq uint64) (*segment, error) {
	path := filepath.Join(q.dir, segName(seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	if err := syncDir(q.dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return &segment{seq: seq, f: f}, nil
}

// install makes sg the segment appends go to. mu held (or q owned).
func (q *Queue) install(sg *segment) {
	q.segs[sg.seq] = sg
	q.cur = sg
}

// collect drops the oldest segments while they hold no live message and
// returns them, oldest first, for their files to be deleted in that order
// (the reaper's deleteSegments). Callers hold mu (or own q exclusively).
func (q *Queue) collect() []uint64 {
	var dropped []uint64
	for {
		var oldest *segment
		for _, sg := range q.segs {
			if oldest == nil || sg.seq < oldest.seq {
				oldest = sg
			}
		}
		if oldest == nil || oldest == q.cur || oldest.live > 0 {
			return dropped
		}
		// dropped first, then the count: a reader that unpins after
		// the count was read sees dropped and closes the file itself.
		oldest.dropped.Store(true)
		if oldest.readers.Load() == 0 {
			oldest.close()
		}
		delete(q.segs, oldest.seq)
		dropped = append(dropped, oldest.seq)
	}
}

// Put stores a message durably: when it returns nil the message survives
// a crash. meta.Size is computed; the message bytes are read from body,
// which holds size bytes.
func (q *Queue) Put(meta Meta, body io.Reader, size int64) error {
	meta.Size = size
	return q.submit(recMessage, meta, body, nil, size)
}

// PutBytes is Put for a message held in memory: its bytes go to the
// segment file from data itself, not through a copy (batchwrite.go).
// data must not change until PutBytes returns.
func (q *Queue) PutBytes(meta Meta, data []byte) error {
	meta.Size = int64(len(data))
	return q.submit(recMessage, meta, nil, data, meta.Size)
}

// Remove deletes a message durably (after delivery).
func (q *Queue) Remove(mid int64) error {
	if err := q.waitLoaded(); err != nil {
		return err
	}
	q.mu.RLock()
	_, ok := q.index[mid]
	q.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	return q.submit(recRemove, Meta{MID: mid}, nil, nil, 0)
}

// Done removes a message whose every recipient was delivered or bounced:
// it is gone from the queue when Done returns, and its tombstone is
// written with the next batch, without waiting for a sync of its own.
// The tombstone is durable with the next message accepted, or within
// Options.LazySync when none comes; a crash before that delivers the message
// again after the restart, as a queue file whose unlink had not reached
// the disk does in Postfix. What a delivery costs is thus one record in
// somebody else's group commit, not a group commit (issue 17).
func (q *Queue) Done(mid int64) error {
	if err := q.waitLoaded(); err != nil {
		return err
	}
	q.mu.Lock()
	e, ok := q.index[mid]
	if ok {
		q.forget(e)
	}
	q.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	r := &request{kind: recRemove, meta: Meta{MID: mid}, head: q.recordHead(recRemove, Meta{MID: mid}, 0), err: make(chan error, 1), lazy: true}
	return q.send(r, false)
}

// SetRetry records durably that a delivery attempt of mid deferred: the
// attempts so far and when the next may start.
func (q *Queue) SetRetry(mid int64, attempts int, next time.Time) error {
	if err := q.waitLoaded(); err != nil {
		return err
	}
	q.mu.RLock()
	_, ok := q.index[mid]
	q.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	return q.submit(recRetry, Meta{MID: mid, Attempts: attempts, NextTry: next}, nil, nil, 0)
}

// SetRecipients records durably that some recipients of mid were
// delivered (or bounced): to are those still due, rids their recipient
// IDs (one each). When it returns nil, a restart delivers to those only.
func (q *Queue) SetRecipients(mid int64, to []string, rids []int) error {
	if len(to) == 0 || len(rids) != len(to) {
		return fmt.Errorf("queue: MID %d: %d recipients with %d recipient IDs (none left is a Remove)", mid, len(to), len(rids))
	}
	if err := q.waitLoaded(); err != nil {
		return err
	}
	q.mu.RLock()
	_, ok := q.index[mid]
	q.mu.RUnlock()
	if !ok {
		return ErrNotFound
	}
	return q.submit(recRcpts, Meta{MID: mid, To: slices.Clone(to), RIDs: slices.Clone(rids)}, nil, nil, 0)
}

// recordMeta is the meta of a record that changes a message: its MID and
// the fields that change, where Meta's JSON would carry every field empty
// (replay reads both into a Meta; a million retry records are a million
// of these at restart).
type recordMeta struct {
	MID      int64     `json:"mid"`
	To       []string  `json:"to,omitempty"`
	RIDs     []int     `json:"rids,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	NextTry  time.Time `json:"next_try,omitzero"`
}

func (q *Queue) submit(kind byte, meta Meta, body io.Reader, data []byte, size int64) error {
	head, err := q.recordHeadChecked(kind, meta, size)
	if err != nil {
		return err
	}
	r := &request{kind: kind, meta: meta, head: head, body: body, data: data, size: size, err: make(chan error, 1)}
	return q.send(r, true)
}

// recordHeadChecked is a record's header, type and meta in one buffer:
// the meta is encoded in place (metajson.go) for the records every
// message makes, its own and its removal's.
func (q *Queue) recordHeadChecked(kind byte, meta Meta, size int64) ([]byte, error) {
	head := make([]byte, headerLen+5, headerLen+5+320)
	var err error
	switch kind {
	case recMessage:
		stored := meta
		stored.Received, stored.RecvLen = "", len(meta.Received)
		head, err = appendMeta(head, &stored)
	case recRemove:
		head = appendRemoveMeta(head, meta.MID)
	default:
		var raw []byte
		raw, err = json.Marshal(recordMeta{MID: meta.MID, To: meta.To, RIDs: meta.RIDs, Attempts: meta.Attempts, NextTry: meta.NextTry})
		head = append(head, raw...)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	mlen := len(head) - headerLen - 5
	binary.BigEndian.PutUint32(head[0:4], uint32(5+int64(mlen)+size))
	head[8] = kind
	binary.BigEndian.PutUint32(head[9:13], uint32(mlen))
	if size+int64(len(head)) > maxRecord {
		return nil, fmt.Errorf("queue: message of %d bytes is too large", size)
	}
	return head, nil
}

// recordHead is recordHeadChecked for a record that cannot fail (a
// tombstone).
func (q *Queue) recordHead(kind byte, meta Meta, size int64) []byte {
	head, _ := q.recordHeadChecked(kind, meta, size)
	return head
}

// send hands r to the writer and, with wait, returns the batch's outcome.
func (q *Queue) send(r *request, wait bool) error {
	q.mu.RLock()
	broken := q.broken
	q.mu.RUnlock()
	if broken != nil {
		return broken
	}
	q.sendMu.RLock()
	if q.shut {
		q.sendMu.RUnlock()
		return ErrClosed
	}
	q.reqs <- r // the writer drains reqs until Close has stopped senders
	q.sendMu.RUnlock()
	if !wait {
		return nil
	}
	return <-r.err
}

// writer is the single goroutine that appends and syncs. unsynced
// tells that lazy records (Done) were written since the last sync: the
// next batch's sync covers them, or the lazy timer's.
func (q *Queue) writer() {
	w := &batchWriter{buf: make([]byte, 0, 1<<20)}
	var batch []*request
	unsynced := false
	lazy := time.NewTimer(time.Hour)
	lazy.Stop()
	defer close(q.stopped)
	for {
		var first *request
		select {
		case first = <-q.reqs:
		case <-lazy.C:
			q.syncLazy()
			unsynced = false
			continue
		case <-q.done:
			// No sender is left (Close took sendMu): what is
			// queued is written before stopping.
			select {
			case first = <-q.reqs:
			default:
				if unsynced {
					q.syncLazy()
				}
				return
			}
		}
		batch = append(batch[:0], first)
		if !q.opts.PerMessageSync {
			batch = q.gather(batch)
		}
		was := unsynced
		unsynced = q.writeBatch(batch, w, unsynced)
		switch {
		case unsynced && !was:
			lazy.Reset(q.opts.LazySync)
		case !unsynced && was:
			lazy.Stop()
		}
	}
}

// gather adds to batch the requests queued behind its first one, up to
// maxBatchBytes, waiting for siblings (Options.CommitDelay) when the first
// is a message.
func (q *Queue) gather(batch []*request) []*request {
	total := batch[0].size
	var delay <-chan time.Time
	if q.opts.CommitDelay > 0 && q.opts.Siblings != nil && batch[0].kind == recMessage && q.opts.Siblings() > 0 {
		t := time.NewTimer(q.opts.CommitDelay)
		defer t.Stop()
		delay = t.C
	}
	for total < maxBatchBytes {
		select {
		case r := <-q.reqs:
			batch = append(batch, r)
			total += r.size
			if delay != nil && q.opts.Siblings() == 0 {
				delay = nil // everything on its way is here
			}
			continue
		default:
		}
		if delay == nil {
			break
		}
		select {
		case r := <-q.reqs:
			batch = append(batch, r)
			total += r.size
			if q.opts.Siblings() == 0 {
				delay = nil
			}
		case <-delay:
			delay = nil
		case <-q.done:
			delay = nil
		}
	}
	return batch
}

// syncLazy makes the lazy records written since the last sync durable.
// A failure loses at most tombstones (their messages are delivered again
// after a restart): it is logged, the queue goes on.
func (q *Queue) syncLazy() {
	q.mu.RLock()
	cur := q.cur
	q.mu.RUnlock()
	err := error(nil)
	if q.opts.BeforeSync != nil {
		err = q.opts.BeforeSync()
	}
	if err == nil {
		err = fdatasync(cur.f)
	}
	if err != nil {
		q.logf("queue: removals not made durable (%v): their messages may be delivered again after a restart", err)
	}
}

// writeBatch writes batch and syncs it, unless it holds lazy records
// only (Done's): those wait for the next sync. It reports whether lazy
// records are left unsynced, given unsynced before it.
func (q *Queue) writeBatch(batch []*request, w *batchWriter, unsynced bool) bool {
	q.mu.RLock()
	cur, broken := q.cur, q.broken
	q.mu.RUnlock()
	fail := func(err error) bool {
		for _, r := range batch {
			r.err <- err
			if r.lazy {
				q.logf("queue: removal of MID %d not written (%v): it is delivered again after a restart", r.meta.MID, err)
			}
		}
		return unsynced
	}
	if broken != nil {
		return fail(broken)
	}
	start := cur.size
	offs, off, werr := writeRecords(batch, w, cur)
	// A segment about to be sealed is synced whatever its batch holds:
	// the syncs that follow are the next segment's.
	skipSync := off < q.opts.SegmentSize && !slices.ContainsFunc(batch, func(r *request) bool { return !r.lazy })
	if werr == nil && !skipSync && q.opts.BeforeSync != nil {
		werr = q.opts.BeforeSync()
	}
	if werr == nil && !skipSync {
		werr = fdatasync(cur.f)
	}
	if werr != nil {
		q.cutBatch(cur, start)
		return fail(fmt.Errorf("queue: %w", werr))
	}
	q.publishBatch(batch, cur, offs, off)
	for _, r := range batch {
		r.err <- nil
	}
	return skipSync
}

// writeRecords writes batch to the end of segment cur (not synced): it
// returns where each record starts and where the last ends.
func writeRecords(batch []*request, w *batchWriter, cur *segment) ([]int64, int64, error) {
	offs := make([]int64, len(batch))
	off := cur.size
	w.f, w.err = cur.f, nil
	for i, r := range batch {
		offs[i] = off
		if r.body != nil && r.data == nil && (r.size > 256<<10 || int(r.size)+len(r.head) > cap(w.buf)) {
			streamRecord(w, r, off)
		} else {
			appendRecord(w, r)
		}
		off += int64(len(r.head)) + r.size
		if w.n >= 512<<10 {
			w.flush()
		}
	}
	w.flush()
	return offs, off, w.err
}

// cutBatch cuts what a failed batch wrote from segment cur, so the next
// one follows valid records; if even that fails the segment is unusable.
func (q *Queue) cutBatch(cur *segment, start int64) {
	err := cur.f.Truncate(start)
	if err == nil {
		_, err = cur.f.Seek(start, io.SeekStart)
	}
	if err != nil {
		q.setBroken(err)
	}
}

// publishBatch makes a batch written and synced up to end of segment cur
// visible: the index, the due heap, the rotation to a new segment when cur
// is full (its file made before mu is taken) and the collection of the
// segments it emptied (their files deleted by the reaper, after mu).
func (q *Queue) publishBatch(batch []*request, cur *segment, offs []int64, end int64) {
	var next *segment
	var nextErr error
	if end >= q.opts.SegmentSize {
		next, nextErr = q.createSegment(cur.seq + 1)
	}
	q.mu.Lock()
	cur.size = end
	q.applyBatch(batch, cur, offs)
	q.trimDue()
	if q.due.stale > 1024 && q.due.stale > len(q.due.items)/2 {
		q.due.rebuild(q.index)
	}
	var rotation string
	if end >= q.opts.SegmentSize {
		if next != nil {
			q.install(next)
		}
		rotation = q.noteRotation(cur.seq, nextErr)
	}
	dropped := q.collect()
	q.mu.Unlock()
	q.reap.add(dropped)
	if rotation != "" {
		q.logf("%s", rotation)
	}
}

// applyBatch brings the index up to a batch written at offs of segment cur.
// q.mu held.
func (q *Queue) applyBatch(batch []*request, cur *segment, offs []int64) {
	for i, r := range batch {
		switch r.kind {
		case recMessage:
			m := r.meta
			if old, dup := q.index[m.MID]; dup {
				q.forget(old)
			}
			e := q.newEntry(m, cur.seq, offs[i]+int64(len(r.head)))
			e.verified.Store(true) // written by this process
			q.index[m.MID] = e
			q.count(e, 1)
			q.indexed(m.MID)
			cur.live++
			q.bytes += m.Size
			q.due.push(m.NextTry, m.MID)
		case recRemove:
			if e, ok := q.index[r.meta.MID]; ok {
				q.forget(e)
			}
		case recRetry:
			if e, ok := q.index[r.meta.MID]; ok {
				if !e.meta.NextTry.Equal(r.meta.NextTry) {
					q.due.push(r.meta.NextTry, r.meta.MID)
					q.due.stale++ // the item of the old time
				}
				e.meta.Attempts, e.meta.NextTry = r.meta.Attempts, r.meta.NextTry
			}
		case recRcpts:
			if e, ok := q.index[r.meta.MID]; ok {
				q.count(e, -1)
				e.meta.To, e.meta.RIDs = r.meta.To, r.meta.RIDs
				q.count(e, 1)
			}
		}
	}
}

// appendRecord adds a record to the batch: its header and meta copied,
// its message bytes referenced (PutBytes) or read into the batch's buffer
// (Put of a small message), its CRC (over type, meta and message bytes)
// set in the copied header.
func appendRecord(w *batchWriter, r *request) {
	sum := crc32.Update(0, castagnoli, r.head[8:])
	body := r.data
	k := len(r.head)
	if body == nil && r.body != nil {
		k += int(r.size)
	}
	w.room(k)
	hdrAt := w.copyIn(r.head)
	if body == nil && r.body != nil {
		n0 := len(w.buf)
		w.buf = w.buf[:n0+int(r.size)]
		w.n += int(r.size)
		body = w.buf[n0:]
		if _, err := io.ReadFull(r.body, body); err != nil && w.err == nil {
			w.err = fmt.Errorf("read message: %w", err)
		}
	}
	sum = crc32.Update(sum, castagnoli, body)
	binary.BigEndian.PutUint32(w.buf[hdrAt+4:hdrAt+8], sum)
	if r.data != nil {
		w.ref(r.data)
	}
}

// streamRecord writes a large message read from its reader (a spooled
// file) straight to the segment after what the batch holds so far; the
// header's CRC is known only once the body was read, so it is written in
// place afterwards. off is where the record starts.
func streamRecord(w *batchWriter, r *request, off int64) {
	w.room(len(r.head))
	w.copyIn(r.head)
	w.flush()
	if w.err != nil {
		return
	}
	h := crc32.New(castagnoli)
	h.Write(r.head[8:])
	n, err := io.Copy(io.MultiWriter(w.f, h), io.LimitReader(r.body, r.size))
	if err != nil {
		w.err = err
		return
	}
	if n != r.size {
		w.err = fmt.Errorf("read message: %d of %d bytes", n, r.size)
		return
	}
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], h.Sum32())
	if _, err := w.f.WriteAt(sum[:], off+4); err != nil {
		w.err = err
	}
}

func (q *Queue) setBroken(err error) {
	q.mu.Lock()
	q.broken = fmt.Errorf("%w: %v", ErrBroken, err)
	q.mu.Unlock()
}

// Len is the number of queued messages and their size in bytes.
func (q *Queue) Len() (int, int64) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return len(q.index), q.bytes
}

// List returns the queued messages' metadata, oldest MID first. The
// entries are sorted outside the lock, by pointer (an entry's MID never
// changes), and their metadata copied in that order under it: a million
// messages stall neither appends nor deliveries for the sort, and no
// 200-byte Meta is moved by it.
func (q *Queue) List() []Meta {
	q.mu.RLock()
	es := make([]*entry, 0, len(q.index))
	for _, e := range q.index {
		es = append(es, e)
	}
	q.mu.RUnlock()
	slices.SortFunc(es, func(a, b *entry) int { return cmp.Compare(a.meta.MID, b.meta.MID) })
	out := make([]Meta, 0, len(es))
	q.mu.RLock()
	for _, e := range es {
		if q.index[e.meta.MID] == e { // else removed (or replaced) meanwhile
			out = append(out, e.meta)
		}
	}
	q.mu.RUnlock()
	return out
}

// Get returns one message's metadata.
func (q *Queue) Get(mid int64) (Meta, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	e, ok := q.index[mid]
	if !ok {
		return Meta{}, false
	}
	return e.meta, true
}

// Received returns the Received header the appliance added to a message
// (List and Get leave Meta.Received empty: the index does not keep it).
func (q *Queue) Received(mid int64) (string, error) {
	loc, sg, err := q.pin(mid)
	if err != nil {
		return "", err
	}
	defer sg.unpin()
	e := loc.e
	b := make([]byte, e.recvLen)
	if _, err := sg.f.ReadAt(b, e.dataOff); err != nil {
		return "", fmt.Errorf("queue: read MID %d: %w", mid, err)
	}
	return string(b), nil
}

// pin finds a message and keeps its segment's file open until unpin.
// Only the lookup holds q.mu: the bytes are read without it, so a reader
// of a large message stalls neither the writer's index update (appends,
// removals, rotation) nor other readers waiting behind it. A message
// removed meanwhile is still read whole: its segment is unlinked but
// stays open until its last reader is done.
func (q *Queue) pin(mid int64) (location, *segment, error) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return location{}, nil, ErrClosed
	}
	e, ok := q.index[mid]
	if !ok {
		return location{}, nil, ErrNotFound
	}
	sg := q.segs[e.seg]
	if sg == nil {
		return location{}, nil, ErrNotFound
	}
	sg.readers.Add(1)
	return location{e: e, size: e.meta.Size}, sg, nil
}

// location is what a reader copies from the index under q.mu: the entry
// (whose offsets and checksum never change once indexed, and whose
// verified flag is atomic) and the stored size (meta itself changes with
// retry and recipients records).
type location struct {
	e    *entry
	size int64
}

// Read returns the stored bytes of a message: its Received header and
// the message as received.
func (q *Queue) Read(mid int64) ([]byte, error) {
	loc, sg, err := q.pin(mid)
	if err != nil {
		return nil, err
	}
	defer sg.unpin()
	if q.beforeRead != nil {
		q.beforeRead(mid)
	}
	e := loc.e
	if e.verified.Load() {
		b := make([]byte, loc.size)
		if _, err := sg.f.ReadAt(b, e.dataOff); err != nil {
			return nil, fmt.Errorf("queue: read MID %d: %w", mid, err)
		}
		return b, nil
	}
	pay := make([]byte, e.payLen)
	if _, err := sg.f.ReadAt(pay, e.payOff); err != nil {
		return nil, fmt.Errorf("queue: read MID %d: %w", mid, err)
	}
	if crc32.Checksum(pay, castagnoli) != e.sum {
		return nil, fmt.Errorf("MID %d: %w", mid, ErrCorrupt)
	}
	e.verified.Store(true)
	return pay[e.dataOff-e.payOff:], nil
}

// Close writes what is already submitted, then stops: later appends fail
// with ErrClosed.
func (q *Queue) Close() error {
	q.sendMu.Lock()
	if q.shut {
		q.sendMu.Unlock()
		return ErrClosed
	}
	q.shut = true
	q.sendMu.Unlock()
	close(q.done)
	<-q.stopped
	<-q.loaded    // a background replay stops at q.done
	q.reap.stop() // after the writer and the load: nothing is dropped any more
	q.mu.Lock()
	q.closed = true
	defer q.mu.Unlock()
	return q.closeFiles()
}

// closeFiles closes the segment files; one a reader is still reading (see
// pin) is closed by that reader when it is done, so a read that began
// before Close completes.
func (q *Queue) closeFiles() error {
	var errs []error
	for _, sg := range q.segs {
		sg.dropped.Store(true)
		if sg.readers.Load() > 0 {
			continue
		}
		var err error
		sg.closeOnce.Do(func() { err = sg.f.Close() })
		if err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
			}
			return nil
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("queue: sync dir: %w", err)
	}
	return nil
}
