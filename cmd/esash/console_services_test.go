package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleServesSSHAndHTTPS: the interactive console of an appliance
// run in-process (`make run`) serves SSH and HTTPS while it is open, as
// `esash serve` does, and closes them when it exits; a script run (-c)
// does not open them.
func TestConsoleServesSSHAndHTTPS(t *testing.T) {
	srv := startTmux(t)
	bin := buildEsash(t)
	a := newTermAppliance(t, srv, bin, false)
	var ip string
	for _, kv := range a.env {
		if v, ok := strings.CutPrefix(kv, "ESASH_FACTORY_IP="); ok {
			ip = v
		}
	}
	sshAddr, webAddr := net.JoinHostPort(ip, "2222"), net.JoinHostPort(ip, "8443")

	p := a.shell()
	p.expect("Welcome to the esash Email Security Appliance")
	p.expect(factoryPrompt)
	// The services' lines go to system_logs, not to the first screen.
	sysLog := filepath.Join(a.data, "logs", "system_logs", "system.current")
	for _, want := range []string{"ssh listening on " + sshAddr, "web listening on https://" + webAddr} {
		for deadline := time.Now().Add(termDeadline); ; time.Sleep(termPoll) {
			if raw, _ := os.ReadFile(sysLog); strings.Contains(string(raw), want) {
				break
			}
			if time.Now().After(deadline) {
				raw, _ := os.ReadFile(sysLog)
				t.Fatalf("system_logs lacks %q:\n%s", want, raw)
			}
		}
		if strings.Contains(p.screen(), want) {
			t.Errorf("the first screen shows the service line %q", want)
		}
	}

	c, err := net.DialTimeout("tcp", sshAddr, 5*time.Second)
	if err != nil {
		t.Fatalf("SSH with the console open: %v", err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	banner, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("SSH banner %q %v", banner, err)
	}
	tc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", webAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("HTTPS with the console open: %v", err)
	}
	tc.Close()

	p.line("exit")
	p.exited("0")
	for _, addr := range []string{sshAddr, webAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening after the console exited", addr)
		}
	}

	cmd := exec.Command(bin, "--data", a.data, "-c", "who")
	cmd.Env = append(termEnv(), a.env...)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "listening") {
		t.Fatalf("esash -c: %v\n%s", err, out)
	}
}
