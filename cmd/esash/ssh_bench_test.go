package main

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// SSH benchmarks against `esash serve`, with the real OpenSSH client:
//
//	go test -run '^$' -bench SSH -benchtime 1x ./cmd/esash/

const benchSessions = 50

// freshKey is a new public key in authorized_keys form.
func freshKey(comment string) string {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	pk, _ := gossh.NewPublicKey(pub)
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pk))) + " " + comment
}

// lastRev is the head revision, as commitdetail shows it.
func lastRev(b testing.TB, a *sshAppliance) int {
	b.Helper()
	m := regexp.MustCompile(`(?m)^Revision: (\d+)$`).FindStringSubmatch(a.commitDetail())
	if m == nil {
		b.Fatal("no revision")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// BenchmarkSSHConcurrentScripts: 50 SSH sessions at once (OpenSSH `ssh
// esa < script`, from 50 addresses), each a 100-line script that stages 28 keys for its own
// account and commits. Every commit must land: the revision count and each
// account's keys are checked afterwards.
func BenchmarkSSHConcurrentScripts(b *testing.B) {
	a := newSSHAppliance(b, sshOpts{adminKey: true})
	var setup strings.Builder
	setup.WriteString("userconfig\n")
	for i := 1; i <= benchSessions; i++ {
		fmt.Fprintf(&setup, "new\nbench%02d\nBench %d\n2\nbench-pass-%02d\nbench-pass-%02d\n", i, i, i, i)
	}
	setup.WriteString("\ncommit\nbench accounts\n\n")
	if r := a.withKey("admin", "admin", setup.String()); r.code != 0 {
		b.Fatalf("setup: %s", r.out)
	}
	keysPer := 28
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		scripts := make([]string, benchSessions)
		for i := range scripts {
			var s strings.Builder
			fmt.Fprintf(&s, "sshconfig\nuserkeys\nuser\nbench%02d\n", i+1)
			for k := 0; k < keysPer; k++ {
				fmt.Fprintf(&s, "new\n%s\n\n", freshKey(fmt.Sprintf("it%d-s%d-k%d", it, i, k)))
			}
			s.WriteString("\n\n")
			for k := 0; k < 7; k++ {
				s.WriteString("whoami\n")
			}
			fmt.Fprintf(&s, "commit\nsession %d\n\n", i+1)
			scripts[i] = s.String()
			if n := strings.Count(scripts[i], "\n"); n != 100 {
				b.Fatalf("script has %d lines", n)
			}
		}
		before := lastRev(b, a)
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		results := make([]sshResult, benchSessions)
		for i := range scripts {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// Fifty administrators at fifty addresses: from one
				// address at most ten logins may be under way at once.
				src := fmt.Sprintf("127.0.0.%d", 10+i)
				results[i] = a.run(nil, scripts[i], append([]string{"ssh", "-b", src}, a.keyArgs("admin", "admin")...)...)
			}(i)
		}
		wg.Wait()
		total := time.Since(start)
		b.StopTimer()
		merged := 0
		for i, r := range results {
			if r.code != 0 || !strings.Contains(r.out, "Changes committed:") {
				b.Fatalf("session %d: status %d\n%s", i+1, r.code, r.out)
			}
			if strings.Contains(r.out, "Your changes were merged over revision") {
				merged++
			}
		}
		if got := lastRev(b, a); got != before+benchSessions {
			b.Fatalf("head moved from revision %d to %d, want %d commits", before, got, benchSessions)
		}
		// Every key of every session is there.
		out, _ := a.console("sshconfig\nuserkeys\n" + userList() + "\n\n")
		for i := 1; i <= benchSessions; i++ {
			for k := 0; k < keysPer; k++ {
				if !strings.Contains(out, fmt.Sprintf(" it%d-s%d-k%d\n", it, i-1, k)) {
					b.Fatalf("key %d of session %d is missing", k, i)
				}
			}
		}
		b.ReportMetric(total.Seconds(), "s/50-sessions")
		b.ReportMetric(float64(benchSessions)/total.Seconds(), "commits/s")
		b.ReportMetric(float64(merged), "merged-commits")
		b.Logf("50 sessions × 100 lines: %v, %.1f commits/s, %d commits merged over others", total, float64(benchSessions)/total.Seconds(), merged)
	}
}

// userList walks USERKEYS through every bench account.
func userList() string {
	var s strings.Builder
	for i := 1; i <= benchSessions; i++ {
		fmt.Fprintf(&s, "user\nbench%02d\n", i)
	}
	return s.String()
}

// BenchmarkSSHFirstPrompt: from connect to the first prompt of an
// interactive session. "openssh" starts `ssh -tt` (process start, key
// exchange, public key login, pty, shell); "x-crypto" is the same over an
// in-process client, the server's share.
func BenchmarkSSHFirstPrompt(b *testing.B) {
	a := newSSHAppliance(b, sshOpts{adminKey: true})
	prompt := "esa.example.com> "
	b.Run("openssh", func(b *testing.B) {
		var samples []time.Duration
		for i := 0; i < b.N; i++ {
			cmd := exec.Command("ssh", append([]string{"-tt", "-o", "LogLevel=ERROR"}, a.keyArgs("admin", "admin")...)...)
			cmd.Env = termEnv()
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			if err := waitPrompt(stdout, prompt); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
			stdin.Write([]byte("exit\r"))
			stdin.Close()
			io.Copy(io.Discard, stdout)
			cmd.Wait()
		}
		reportPercentiles(b, samples)
	})
	key, err := os.ReadFile(a.key("admin"))
	if err != nil {
		b.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(key)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("x-crypto", func(b *testing.B) {
		var samples []time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			conn, err := net.Dial("tcp", a.addr())
			if err != nil {
				b.Fatal(err)
			}
			cc, chans, reqs, err := gossh.NewClientConn(conn, a.addr(), &gossh.ClientConfig{User: "admin",
				Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
			if err != nil {
				b.Fatal(err)
			}
			c := gossh.NewClient(cc, chans, reqs)
			s, err := c.NewSession()
			if err != nil {
				b.Fatal(err)
			}
			stdin, _ := s.StdinPipe()
			stdout, _ := s.StdoutPipe()
			if err := s.RequestPty("xterm", 24, 80, gossh.TerminalModes{}); err != nil {
				b.Fatal(err)
			}
			if err := s.Shell(); err != nil {
				b.Fatal(err)
			}
			if err := waitPrompt(stdout, prompt); err != nil {
				b.Fatal(err)
			}
			samples = append(samples, time.Since(start))
			stdin.Write([]byte("exit\r"))
			s.Wait()
			c.Close()
		}
		reportPercentiles(b, samples)
	})
}

func waitPrompt(r io.Reader, prompt string) error {
	br := bufio.NewReader(r)
	var seen strings.Builder
	for !strings.Contains(seen.String(), prompt) {
		c, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("no prompt (%v) in %q", err, seen.String())
		}
		seen.WriteByte(c)
	}
	return nil
}
