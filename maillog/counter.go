package maillog

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// DefaultBlock is the reservation size used when OpenCounter gets block 0.
const DefaultBlock int64 = 1000

// Counter hands out ICIDs, MIDs or DCIDs that never repeat, even across
// crashes, so log lines from different runs cannot be confused.
//
// The file holds a high-water mark H: no id >= H has ever been handed out.
// Ids are reserved a block at a time (H is advanced and made durable before
// any id of the block is used), so the fsync cost is paid once per block
// rather than once per id. A crash wastes at most the unused rest of a block.
//
// One process may own a counter file at a time; Counter is safe for
// concurrent use within that process.
type Counter struct {
	path  string
	block int64

	mu     sync.Mutex
	next   int64 // next id to hand out
	limit  int64 // ids < limit are covered by the durable mark
	closed bool
}

// OpenCounter loads (or creates on first Next) the counter at path. block 0
// means DefaultBlock. A file that exists but cannot be parsed is an error
// wrapping ErrCorruptCounter rather than a silent restart at 1.
func OpenCounter(path string, block int64) (*Counter, error) {
	if block < 0 {
		return nil, fmt.Errorf("maillog: counter block %d: %w", block, ErrInvalidOption)
	}
	if block == 0 {
		block = DefaultBlock
	}
	hwm, err := readMark(path)
	if err != nil {
		return nil, err
	}
	// A crash between CreateTemp and Rename leaves a temp file behind;
	// the real file is intact, so the leftovers are only litter.
	if stale, err := filepath.Glob(globEscape(path) + ".tmp*"); err == nil {
		for _, s := range stale {
			os.Remove(s)
		}
	}
	// Ids start at 1 so that 0 can mean "none" in callers' structs.
	start := max(hwm, 1)
	return &Counter{path: path, block: block, next: start, limit: start}, nil
}

func readMark(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("maillog: read counter %s: %w", path, err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("maillog: counter %s holds %q: %w", path, b, ErrCorruptCounter)
	}
	return v, nil
}

// Next returns the next id. It only touches the disk when a new block must
// be reserved; if that fails no id is handed out, since one beyond the
// durable mark could be reissued after a crash.
func (c *Counter) Next() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	if c.next >= c.limit {
		if c.next > math.MaxInt64-c.block {
			return 0, fmt.Errorf("maillog: counter %s at %d: %w", c.path, c.next, ErrExhausted)
		}
		limit := c.next + c.block
		if err := writeMark(c.path, limit); err != nil {
			return 0, err
		}
		c.limit = limit
	}
	id := c.next
	c.next++
	return id, nil
}

// Close records the exact next id so a clean restart does not skip the
// rest of the block. Next fails with ErrClosed afterwards.
func (c *Counter) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.closed = true
	if c.next == c.limit {
		return nil // the mark on disk is already exact (or nothing was issued)
	}
	return writeMark(c.path, c.next)
}

// writeMark replaces the file atomically and durably: temp file, fsync,
// rename, fsync of the directory so the rename itself survives a crash.
func writeMark(path string, v int64) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("maillog: counter %s: %w", path, err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.WriteString(strconv.FormatInt(v, 10) + "\n"); err != nil {
		return fmt.Errorf("maillog: counter %s: write: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("maillog: counter %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("maillog: counter %s: close: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("maillog: counter %s: rename: %w", path, err)
	}
	ok = true
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("maillog: sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("maillog: sync dir %s: %w", dir, err)
	}
	return nil
}

// globEscape quotes glob metacharacters so an odd path cannot widen the
// stale temp file cleanup.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
