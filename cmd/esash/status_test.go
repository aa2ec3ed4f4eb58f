package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestStatusAndHoststatus: on a running daemon, a message for a domain
// routed to a closed port stays queued; hoststatus shows the domain down
// with the connection's error, its queued recipient and its route, and
// status shows the running MTA and the queued recipient.
func TestStatusAndHoststatus(t *testing.T) {
	dir := t.TempDir()
	ip := nextLoopback()
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
	if out := run("-c", "hoststatus example.net"); !strings.Contains(out, "No record of host: example.net") {
		t.Errorf("hoststatus of an unknown domain:\n%s", out)
	}
	cmd := exec.Command(esashBinary(t), "serve", "--data", dir)
	cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, ip+":2525")
	run("-c", `smtproutes new example.net 127.0.0.1:1; commit "route"`)
	run("-c", "mailconfig admin@example.net 1")

	var out string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// The attempt is logged, then recorded in the queue: wait for both.
		out = run("-c", "hoststatus example.net")
		if strings.Contains(out, "Host up/down:        down") && regexp.MustCompile(`Attempted Recipients\s+1\n`).MatchString(out) {
			break
		}
	}
	for _, want := range []string{`Host mail status for: 'example.net'`, `Host up/down:\s+down\n`, `\n  Active Recipients\s+1\n`,
		`Attempted Recipients\s+1\n`, `Last Error\s+connection refused`, `example.net: 127.0.0.1:1`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("hoststatus lacks /%s/:\n%s", want, out)
		}
	}
	out = run("-c", "status detail")
	for _, want := range []string{`System status:\s+Online\n`, `Up since:`, `Messages In Work Queue\s+1\n`, `Rates \(Events Per Hour`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("status lacks /%s/:\n%s", want, out)
		}
	}
}
