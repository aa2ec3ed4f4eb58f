package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listeningSockets lists the TCP sockets in LISTEN state that process pid
// holds, as local addresses in /proc's hex form.
func listeningSockets(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] {
				out = append(out, f[1])
			}
		}
	}
	return out
}

// TestScriptModeStartsNothing: a script on a data directory with no daemon
// opens the store, runs and leaves. While it waits for its next line it
// holds no listening socket, and mail_logs stays as it was; a command that
// needs the MTA (delivernow) then brings it up with its listener, which
// the same check sees (so the check can fail).
func TestScriptModeStartsNothing(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "logs", "mail_logs", "mail.current")
	if err := os.MkdirAll(filepath.Dir(logFile), 0o755); err != nil {
		t.Fatal(err)
	}
	const before = "Thu Nov 26 21:00:00 2026 Info: an earlier line\n"
	if err := os.WriteFile(logFile, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(esashBinary(t), "--data", dir)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+nextLoopback(), "ESASH_NOW=2026-11-26T21:00:00Z")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewReader(stdout)
	// upTo reads output until want has been seen.
	upTo := func(want string) {
		t.Helper()
		done := make(chan string, 1)
		go func() {
			var b strings.Builder
			for !strings.Contains(b.String(), want) {
				r, _, err := out.ReadRune()
				if err != nil {
					break
				}
				b.WriteRune(r)
			}
			done <- b.String()
		}()
		select {
		case got := <-done:
			if !strings.Contains(got, want) {
				t.Fatalf("output ended before %q:\n%s\nstderr: %s", want, got, stderr.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("no %q in the output; stderr: %s", want, stderr.String())
		}
	}
	io.WriteString(stdin, "showconfig\n1\n")
	upTo("</config>")
	upTo("esa.example.com> ")
	if l := listeningSockets(t, cmd.Process.Pid); len(l) != 0 {
		t.Errorf("a showconfig script listens on %v", l)
	}
	if got, _ := os.ReadFile(logFile); string(got) != before {
		t.Errorf("a showconfig script wrote mail_logs:\n%s", got)
	}

	io.WriteString(stdin, "delivernow ALL\n")
	upTo("Rescheduling all messages for immediate delivery.")
	upTo("esa.example.com> ")
	if l := listeningSockets(t, cmd.Process.Pid); len(l) == 0 {
		t.Errorf("delivernow did not bring the MTA's listener up: the socket check sees nothing")
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("script: %v; stderr: %s", err, stderr.String())
	}
	got, _ := os.ReadFile(logFile)
	if !strings.Contains(string(got), "Queue opened") {
		t.Errorf("the MTA delivernow opened logged nothing:\n%s", got)
	}
}

// TestScriptCommitAppliesAtBoot: a script with no daemon commits to the
// store alone, starting no service; the daemon started after it boots
// from the store and runs the committed configuration.
func TestScriptCommitAppliesAtBoot(t *testing.T) {
	dir := t.TempDir()
	ip := nextLoopback()
	run := func(stdin string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(esashBinary(t), append([]string{"--data", dir}, args...)...)
		cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
		cmd.Stdin = strings.NewReader(stdin)
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return b.String(), code
	}
	if out, code := run("", "-c", `sethostname mail1.example.com; commit "rename"`); code != 0 {
		t.Fatalf("script commit: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "logs", "mail_logs", "mail.current")); err == nil {
		t.Errorf("a committing script wrote mail_logs")
	}
	cmd := exec.Command(esashBinary(t), "serve", "--data", dir)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, ip+":2525")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("unix", filepath.Join(dir, socketFile)); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not open its console socket")
		}
	}
	out, code := run("")
	if code != 0 || !strings.Contains(out, "mail1.example.com> ") {
		t.Errorf("the daemon does not run the committed hostname: exit %d\n%s", code, out)
	}
}
