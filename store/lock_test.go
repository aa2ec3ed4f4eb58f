package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"esash/config"
)

// envLockChild tells a re-executed test binary to be lockChild, trying
// to open the database at the given path.
const envLockChild = "ESASH_STORE_LOCK_CHILD"

// TestLocked is DB-2: a second Open of a database that is open fails
// quickly with ErrLocked, in this process or another, and harms nothing.
func TestLocked(t *testing.T) {
	db, path := newDB(t)
	tests := []struct {
		name    string
		timeout time.Duration // Options.LockTimeout; 0 is the default
	}{
		{"short timeout", 50 * time.Millisecond},
		{"default timeout", 0},
	}
	for _, tc := range tests {
		t.Run("same process, "+tc.name, func(t *testing.T) {
			start := time.Now()
			db2, err := Open(path, Options{Factory: noFactory(t), LockTimeout: tc.timeout})
			if err == nil {
				db2.Close()
				t.Fatal("a second Open succeeded")
			}
			if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
				t.Errorf("second Open = %v, want ErrLocked naming the file", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("second Open took %v", d)
			}
		})
	}
	t.Run("other process", func(t *testing.T) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envLockChild+"="+path)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "LOCKED") {
			t.Fatalf("child did not report the lock:\n%s", out)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("child took %v", d)
		}
	})
	// The holder goes on as before.
	d := NewDraft(db, "alice", "console")
	stage(t, d, func(c *config.Config) { c.Hostname = "still.example.com" })
	commit(t, d, "")
}

// lockChild is the other process of TestLocked (TestMain runs it in a
// re-executed test binary): its Open must fail quickly with ErrLocked.
func lockChild(path string) error {
	start := time.Now()
	db, err := Open(path, Options{Factory: refuseFactory, LockTimeout: 300 * time.Millisecond})
	if err == nil {
		db.Close()
		return errors.New("opened a database another process holds")
	}
	if !errors.Is(err, ErrLocked) {
		return fmt.Errorf("Open = %v, want ErrLocked", err)
	}
	fmt.Printf("LOCKED after %v: %v\n", time.Since(start).Round(time.Millisecond), err)
	return nil
}
