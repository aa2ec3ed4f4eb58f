package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"esash/console"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// esashBinary builds the real binary once per test run.
func esashBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "esash-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "esash")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("go build: %s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("build esash: %v", binErr)
	}
	return binPath
}

// startServe runs `esash serve` on dir until the test ends.
func startServe(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(esashBinary(t), "serve", "--data", dir)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+nextLoopback())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sock := filepath.Join(dir, socketFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not open %s; stderr:\n%s", sock, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// esash runs the binary with stdin and returns stdout, stderr, status.
func esash(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, esashBinary(t), args...)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+nextLoopback())
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("esash %q did not finish: %s %s", args, out.String(), errb.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestDaemonAttach(t *testing.T) {
	dir := t.TempDir()
	d := startServe(t, dir)

	out, errOut, code := esash(t, "", "--data", dir, "-c", `sethostname attached.example.com; commit "over the socket"`)
	if code != 0 || !strings.Contains(out, "Changes committed:") {
		t.Fatalf("batch over the socket: status %d\n%s%s", code, out, errOut)
	}
	out, _, code = esash(t, "commitdetail\n", "--data", dir)
	if code != 0 || !strings.Contains(out, "attached.example.com> commitdetail") || !strings.Contains(out, "Comment: over the socket") {
		t.Fatalf("script over the socket: status %d\n%s", code, out)
	}
	// Exit statuses travel back: a failing script, staged changes at EOF.
	if _, _, code = esash(t, "frobnicate\n", "--data", dir); code != 1 {
		t.Errorf("unknown command over the socket: status %d, want 1", code)
	}
	if _, errOut, code = esash(t, "sethostname\nz.example.com\n", "--data", dir); code != 2 || !strings.Contains(errOut, "discarded") {
		t.Errorf("staged at EOF over the socket: status %d, stderr %q", code, errOut)
	}

	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := d.Wait(); err != nil {
		t.Fatalf("daemon after SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, socketFile)); !os.IsNotExist(err) {
		t.Errorf("socket left behind after SIGTERM: %v", err)
	}
	// The data survives the daemon; the shell now runs in-process.
	out, _, _ = esash(t, "", "--data", dir, "-c", "commitdetail")
	if !strings.Contains(out, "Comment: over the socket") {
		t.Errorf("after restart: %s", out)
	}
}

func TestSecondProcessNamesHolder(t *testing.T) {
	dir := t.TempDir()
	d := startServe(t, dir)
	// A daemon whose socket is gone cannot be attached to: the shell must
	// name the holder and give up, not wait for the lock.
	os.Remove(filepath.Join(dir, socketFile))
	_, errOut, code := esash(t, "", "--data", dir, "-c", "commitdetail")
	if code != 1 {
		t.Fatalf("status %d, want 1; stderr %q", code, errOut)
	}
	want := "is held by process " + strconv.Itoa(d.Process.Pid)
	if !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not contain %q", errOut, want)
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, dbFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("config.db mode %v, want 0600", fi.Mode().Perm())
	}
}

// consoleClient is a script session over the console socket that the test
// feeds line by line, waiting for each answer.
type consoleClient struct {
	t    *testing.T
	conn net.Conn
	fw   *console.Writer
	mu   sync.Mutex
	out  bytes.Buffer
	done chan int
}

func dialConsole(t *testing.T, dir string) *consoleClient {
	t.Helper()
	conn, err := net.Dial("unix", filepath.Join(dir, socketFile))
	if err != nil {
		t.Fatal(err)
	}
	c := &consoleClient{t: t, conn: conn, fw: console.NewWriter(conn), done: make(chan int, 1)}
	if err := console.SendHello(c.fw, console.Hello{User: "admin"}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			typ, data, err := console.ReadFrame(conn)
			if err != nil {
				c.done <- -1
				return
			}
			switch typ {
			case console.FrameStdout, console.FrameStderr:
				c.mu.Lock()
				c.out.Write(data)
				c.mu.Unlock()
			case console.FrameExit:
				c.done <- int(data[3])
				return
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return c
}

// send writes lines and waits until the output holds want.
func (c *consoleClient) send(lines, want string) string {
	c.t.Helper()
	c.mu.Lock()
	start := c.out.Len()
	c.mu.Unlock()
	if err := c.fw.Frame(console.FrameStdin, []byte(lines)); err != nil {
		c.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := c.out.String()[start:]
		c.mu.Unlock()
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waiting for %q after %q; got:\n%s", want, lines, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConcurrentCommitConflict: two administrators attached to the same
// daemon change the same setting; the second commit is refused with base,
// theirs (and who) and ours, and the first one's value stays.
func TestConcurrentCommitConflict(t *testing.T) {
	dir := t.TempDir()
	startServe(t, dir)
	a, b := dialConsole(t, dir), dialConsole(t, dir)
	a.send("sethostname\nalice.example.com\n", "esa.example.com> ")
	b.send("sethostname\nbob.example.com\n", "esa.example.com> ")
	b.send("commit\nbob's rename\n\n", "bob.example.com> ")
	got := a.send("commit\nalice's rename\n\n", "to start again from the running configuration")
	for _, want := range []string{
		"Commit refused: 1 of your changes conflict",
		"  hostname\n",
		`base:   "esa.example.com"`,
		`theirs: "bob.example.com" (committed by admin)`,
		`ours:   "alice.example.com"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("conflict report lacks %q:\n%s", want, got)
		}
	}
	// The script session ends on the refused commit, with status 1.
	select {
	case code := <-a.done:
		if code != 1 {
			t.Errorf("refused commit in a script: status %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end after the refused commit")
	}
	out, _, _ := esash(t, "", "--data", dir, "-c", "commitdetail")
	if !strings.Contains(out, "Comment: bob's rename") {
		t.Errorf("head after the conflict: %s", out)
	}
}
