package baresmtp

import (
	"os"
	"testing"
)

// A journal whose next file could not be created (here: its directory
// gone; on a real disk: ENOSPC, EMFILE) appends again once the cause is
// gone. The writer kept the full file, closed, as its current one, so
// every later append failed with EBADF until a restart: a benchmark
// that hit a full disk once measured nothing but 451s after it.
func TestJournalRotationFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		appends int // appends after the directory is back
	}{
		{"one append after", 1},
		{"several appends after", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := OpenJournal(dir, 1) // every batch fills its file
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			// Written and synced (to the file whose entry is gone), then
			// the rotation fails: what this append is answered is not the
			// point here.
			j.Append(append(Record(nil), "lost"...))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for i := range tc.appends {
				if err := j.Append(append(Record(nil), "kept"...)); err != nil {
					t.Fatalf("append %d once the directory is back: %v", i+1, err)
				}
			}
		})
	}
}
