// Package golden compares what a test produced with its golden file (the
// transcripts the house rules keep in testdata/), or records it when
// ESASH_UPDATE is set. It imports nothing of esash, so any package's tests
// may use it; it is the one copy of what five test files each spelled out.
package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// Check compares got with the file at path; with ESASH_UPDATE=1 it writes
// got there instead (creating the directory).
func Check(t testing.TB, path, got string) {
	t.Helper()
	if os.Getenv("ESASH_UPDATE") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (record with ESASH_UPDATE=1)", err)
	}
	if got != string(want) {
		t.Errorf("transcript differs from %s (re-record with ESASH_UPDATE=1 if intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
