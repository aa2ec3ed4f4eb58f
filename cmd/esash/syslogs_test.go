package main

import (
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServiceLogs: the daemon writes its services' life to system_logs
// and each HTTPS request to gui_logs; tail and grep read both, attached to
// the daemon and, after it stopped, from a script.
func TestServiceLogs(t *testing.T) {
	dir := t.TempDir()
	ip := nextLoopback()
	cmd := exec.Command(esashBinary(t), "serve", "--data", dir)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, ip+":8443")
	waitPort(t, ip+":2222")
	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get("https://" + ip + ":8443/status?secret=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(esashBinary(t), append([]string{"--data", dir}, args...)...)
		c.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("esash %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("-c", "grep -e Req gui_logs")
	if !strings.Contains(out, "Req GET /status from 127.") || strings.Contains(out, "secret") {
		t.Errorf("gui_logs does not hold the request (path without its query):\n%s", out)
	}
	// The SSH server writes its line once it listens, maybe just after
	// the port answers.
	sys := filepath.Join(dir, "logs", "system_logs", "system.current")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if raw, _ := os.ReadFile(sys); strings.Contains(string(raw), "ssh listening") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	out = run("-c", "tail system_logs")
	for _, want := range []string{"Version: 0.0.0-000", "System startup: PID", "web listening on https://" + ip + ":8443", "ssh listening on " + ip + ":2222", "System shutdown: PID"} {
		if !strings.Contains(out, want) {
			t.Errorf("system_logs lacks %q:\n%s", want, out)
		}
	}
	// The script that read it wrote nothing to either log.
	before, _ := os.ReadFile(filepath.Join(dir, "logs", "system_logs", "system.current"))
	run("-c", "tail gui_logs")
	after, _ := os.ReadFile(filepath.Join(dir, "logs", "system_logs", "system.current"))
	if string(before) != string(after) {
		t.Errorf("a script wrote system_logs:\n%s", after[len(before):])
	}
}
