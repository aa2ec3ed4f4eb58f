package maillog

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

func TestCounterRestart(t *testing.T) {
	tests := []struct {
		name   string
		block  int64
		perRun int
		crash  bool // skip Close, as if the process died mid-block
	}{
		{"clean restarts", 10, 25, false},
		{"crash mid block", 10, 25, true},
		{"crash right after reserve", 100, 1, true},
		{"crash on block boundary", 5, 10, true},
		{"default block", 0, 3, true},
		{"block of one", 1, 7, true},
		{"nothing issued", 10, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "mid.counter")
			var maxSeen int64
			for run := range 4 {
				c, err := OpenCounter(path, tt.block)
				if err != nil {
					t.Fatal(err)
				}
				for range tt.perRun {
					id, err := c.Next()
					if err != nil {
						t.Fatal(err)
					}
					if id <= maxSeen {
						t.Fatalf("run %d: id %d not greater than earlier %d", run, id, maxSeen)
					}
					maxSeen = id
				}
				if !tt.crash {
					if err := c.Close(); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestCounterCleanCloseIsDense: a clean shutdown does not waste the rest
// of the reserved block.
func TestCounterCleanCloseIsDense(t *testing.T) {
	path := filepath.Join(t.TempDir(), "icid")
	var want int64 = 1
	for range 3 {
		c, err := OpenCounter(path, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			id, err := c.Next()
			if err != nil {
				t.Fatal(err)
			}
			if id != want {
				t.Fatalf("id %d want %d", id, want)
			}
			want++
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(); !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close = %v", err)
		}
	}
}

// TestCounterReservesAhead: the mark on disk is ahead of every id handed
// out before the id is returned, and is rewritten once per block only.
func TestCounterReservesAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dcid")
	c, err := OpenCounter(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	var lastMark int64
	writes := 0
	for range 35 {
		id, err := c.Next()
		if err != nil {
			t.Fatal(err)
		}
		mark, err := readMark(path)
		if err != nil {
			t.Fatal(err)
		}
		if mark <= id {
			t.Fatalf("mark %d not past id %d", mark, id)
		}
		if mark != lastMark {
			writes++
			lastMark = mark
		}
	}
	if writes != 4 {
		t.Fatalf("mark rewritten %d times for 35 ids in blocks of 10, want 4", writes)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("temp files left behind: %v", ents)
	}
}

func TestCounterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mid")
	c, err := OpenCounter(path, 7)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 250
	var mu sync.Mutex
	seen := make(map[int64]bool)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				id, err := c.Next()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %d", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("got %d ids", len(seen))
	}
}

func TestCounterErrors(t *testing.T) {
	tests := []struct {
		name     string
		contents string // "" = no file
		block    int64
		want     error
	}{
		{"negative block", "", -1, ErrInvalidOption},
		{"garbage", "abc\n", 10, ErrCorruptCounter},
		{"empty file", " ", 10, ErrCorruptCounter},
		{"negative mark", "-5\n", 10, ErrCorruptCounter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c")
			if tt.contents != "" {
				if err := os.WriteFile(path, []byte(tt.contents), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := OpenCounter(path, tt.block); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}

	t.Run("exhausted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "c")
		if err := os.WriteFile(path, []byte(strconv.FormatInt(math.MaxInt64-5, 10)), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := OpenCounter(path, 10)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(); !errors.Is(err, ErrExhausted) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("unwritable dir hands out nothing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing", "c")
		c, err := OpenCounter(path, 10)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := c.Next(); err == nil {
			t.Fatalf("got id %d without a durable mark", id)
		}
	})
}

func TestCounterRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mid[1]")
	stale := path + ".tmp123"
	other := filepath.Join(dir, "mid1.tmp5") // would match an unescaped glob
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("9\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenCounter(path, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("unrelated file removed: %v", err)
	}
}
