package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
)

// envCrashChild tells a re-executed test binary to be crashChild,
// committing to the database at the given path until it is killed.
const envCrashChild = "ESASH_STORE_CRASH_CHILD"

// crashEdit is the n-th commit of the crash child: related changes to
// several records at once (a setting, a list's order and a new item, a
// replaced item, a listener).
func crashEdit(c *config.Config, n int) {
	c.Hostname = fmt.Sprintf("h%d.example.com", n)
	c.Destinations.Entries = append(c.Destinations.Entries, entry(n))
	c.Alerts.Recipients = []config.AlertRecipient{{Address: fmt.Sprintf("a%d@example.com", n), Classes: []string{"all"}}}
	c.Listeners[0].MaxConnections = 1000 + n
}

// crashState checks that c is exactly the state after n crash commits,
// for n its number of destination entries, and returns n.
func crashState(c *config.Config) (int, error) {
	n := len(c.Destinations.Entries)
	if n == 0 {
		if c.Hostname != "esa.example.com" || len(c.Alerts.Recipients) != 0 || c.Listeners[0].MaxConnections != 50 {
			return 0, fmt.Errorf("no entries but hostname %q, recipients %v, max connections %d", c.Hostname, c.Alerts.Recipients, c.Listeners[0].MaxConnections)
		}
		return 0, nil
	}
	for i, e := range c.Destinations.Entries {
		if e != entry(i+1) {
			return n, fmt.Errorf("entry %d is %+v, want %s", i, e, entry(i+1).Domain)
		}
	}
	want := config.AlertRecipient{Address: fmt.Sprintf("a%d@example.com", n)}
	if c.Hostname != fmt.Sprintf("h%d.example.com", n) {
		return n, fmt.Errorf("%d entries but hostname %q", n, c.Hostname)
	}
	if r := c.Alerts.Recipients; len(r) != 1 || r[0].Address != want.Address || len(r[0].Classes) != 1 {
		return n, fmt.Errorf("%d entries but recipients %+v", n, r)
	}
	if m := c.Listeners[0].MaxConnections; m != 1000+n {
		return n, fmt.Errorf("%d entries but max connections %d", n, m)
	}
	return n, nil
}

// crashChild is the process TestCrash kills (TestMain runs it in a
// re-executed test binary): it commits in a tight loop and prints each
// revision once Commit has returned. It returns only on failure.
func crashChild(path string) error {
	db, err := Open(path, Options{Factory: refuseFactory, LockTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	d := NewDraft(db, "crash", "test")
	for {
		n := len(d.Config().Destinations.Entries) + 1
		if err := d.Update(func(c *config.Config) error { crashEdit(c, n); return nil }); err != nil {
			return fmt.Errorf("update %d: %w", n, err)
		}
		res, err := d.Commit(context.Background(), "", false, nil)
		if err != nil {
			return fmt.Errorf("commit %d: %w", n, err)
		}
		fmt.Fprintf(os.Stdout, "REV %d\n", res.Rev)
	}
}

// TestCrash is DB-1: a child process commits in a loop and is killed
// (SIGKILL) at random moments, at least 200 times (20 with -short). After
// each kill the database must open, hold a head that is a whole revision
// (every change of a commit or none), and have kept every revision the
// child saw committed. The count, not a time budget, bounds the test: a
// loaded machine makes it slower, never failing (it once did, at 196 kills
// in two minutes under a load of 17).
func TestCrash(t *testing.T) {
	iterations := 200
	if testing.Short() {
		iterations = 20
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	path := filepath.Join(t.TempDir(), "config.db")
	db, err := Open(path, Options{Factory: factoryFunc(t)})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	var reported uint64 // the newest revision any child printed
	var afterCommit, commits int
	var running, reaping, checking time.Duration // where the time goes
	gap := 5 * time.Millisecond                  // how long the child's last commit took
	start := time.Now()
	i := 0
	for ; i < iterations; i++ {
		var stderr bytes.Buffer
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envCrashChild+"="+path)
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var newest atomic.Uint64
		var other strings.Builder // the child's other output, read after done
		lines := make(chan uint64, 1024)
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				rest, ok := strings.CutPrefix(sc.Text(), "REV ")
				if !ok {
					other.WriteString(sc.Text() + "\n")
					continue
				}
				rev, err := strconv.ParseUint(rest, 10, 64)
				if err != nil {
					continue
				}
				newest.Store(rev)
				select {
				case lines <- rev:
				default:
				}
			}
		}()

		if rng.IntN(2) == 0 {
			// At a random moment: starting, opening, or committing.
			time.Sleep(time.Duration(rng.IntN(31)) * time.Millisecond)
		} else {
			// After the k-th commit, somewhere in the next one: at a
			// random point of the time one commit takes.
			afterCommit++
			k := 1 + rng.IntN(2)
			timeout := time.After(20 * time.Second)
			var last time.Time
			for got := 0; got < k; {
				select {
				case <-lines:
					if got++; got > 1 {
						gap = time.Since(last)
					}
					last = time.Now()
				case <-done:
					got = k
				case <-timeout:
					cmd.Process.Kill()
					t.Fatalf("iteration %d: no commit from the child in 20s\n%s", i, stderr.String())
				}
			}
			time.Sleep(time.Duration(rng.Int64N(int64(gap) + 1)))
		}
		t1 := time.Now()
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		<-done
		werr := cmd.Wait()
		t2 := time.Now()
		if msg := other.String() + stderr.String(); strings.Contains(msg, "FAIL") || strings.Contains(msg, "panic") {
			t.Fatalf("iteration %d: child failed (%v):\n%s", i, werr, msg)
		}
		if n := newest.Load(); n > reported {
			commits += int(n - reported)
			reported = n
		}

		if err := checkAfterCrash(t, path, reported); err != nil {
			t.Fatalf("iteration %d (seed %d): %v", i, seed, err)
		}
		running, reaping, checking = running+t1.Sub(t0), reaping+t2.Sub(t1), checking+time.Since(t2)
	}
	t.Logf("%d kills (%d right after a commit) in %v (children running %v, reaping %v, checks %v); %d commits survived",
		i, afterCommit, time.Since(start).Round(time.Millisecond), running.Round(time.Millisecond),
		reaping.Round(time.Millisecond), checking.Round(time.Millisecond), commits)
}

// checkAfterCrash reopens the database and checks its head.
func checkAfterCrash(t *testing.T, path string, reported uint64) error {
	db, err := Open(path, Options{Factory: noFactory(t), LockTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer db.Close()
	checkConsistent(t, db)
	h := db.Head()
	if h.Rev < reported {
		return fmt.Errorf("head %d, but the child had committed revision %d", h.Rev, reported)
	}
	n, err := crashState(h.Config)
	if err != nil {
		return fmt.Errorf("head %d: %w", h.Rev, err)
	}
	if h.Rev != uint64(n)+1 {
		return fmt.Errorf("head %d holds the state of %d commits", h.Rev, n)
	}
	revs, err := db.Revisions(1)
	if err != nil || len(revs) != 1 || revs[0].Rev != h.Rev {
		return fmt.Errorf("newest revision %+v (%v), head %d", revs, err, h.Rev)
	}
	if h.Rev > 1 {
		// The head's revision record is whole: undoing it gives the
		// previous commit's state exactly.
		prev, err := db.ConfigAt(h.Rev - 1)
		if err != nil {
			return fmt.Errorf("ConfigAt(%d): %w", h.Rev-1, err)
		}
		if m, err := crashState(prev); err != nil || m != n-1 {
			return fmt.Errorf("ConfigAt(%d) = state of %d commits (%v), want %d", h.Rev-1, m, err, n-1)
		}
	}
	return nil
}
