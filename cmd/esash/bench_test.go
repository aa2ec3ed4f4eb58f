package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"
)

// BenchmarkShellStart measures `esash` from exec to its first prompt on an
// existing data directory (target: under 50 ms).
func BenchmarkShellStart(b *testing.B) {
	bin := esashBinary(b)
	dir, ip := b.TempDir(), nextLoopback()
	first := exec.Command(bin, "--data", dir, "-c", "commitdetail")
	first.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
	if out, err := first.CombinedOutput(); err != nil {
		b.Fatalf("first start: %v %s", err, out)
	}
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "--data", dir)
		cmd.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		if _, err := r.ReadString('>'); err != nil {
			b.Fatalf("no prompt: %v", err)
		}
		samples = append(samples, time.Since(start))
		stdin.Close()
		io.Copy(io.Discard, r)
		cmd.Wait()
	}
	b.StopTimer()
	reportPercentiles(b, samples)
}

// BenchmarkScript10k runs a 10,000-line script: 5,000 staged changes,
// 4,900 showchanges and a commit every 100 lines (target: under 2 s).
func BenchmarkScript10k(b *testing.B) {
	bin := esashBinary(b)
	var sb strings.Builder
	n := 0
	for block := 0; block < 100; block++ {
		for i := 0; i < 99; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&sb, "sethostname h%d.example.com\n", n)
				n++
			} else {
				sb.WriteString("showchanges\n")
			}
		}
		fmt.Fprintf(&sb, "commit \"block %d\"\n", block)
	}
	script := sb.String()
	if lines := strings.Count(script, "\n"); lines != 10000 || n != 5000 {
		b.Fatalf("script has %d lines, %d changes", lines, n)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		ip := nextLoopback()
		setup := exec.Command(bin, "--data", dir, "-c", "commitdetail") // factory setup outside the timing
		setup.Env = append(os.Environ(), "ESASH_FACTORY_IP="+ip)
		setup.Run()
		b.StartTimer()
		cmd := exec.Command(bin, "--data", dir)
		cmd.Env = setup.Env
		cmd.Stdin = strings.NewReader(script)
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("script: %v", err)
		}
		if c := strings.Count(string(out), "Changes committed:"); c != 100 {
			b.Fatalf("%d commits, want 100", c)
		}
	}
}

func reportPercentiles(b *testing.B, s []time.Duration) {
	if len(s) == 0 {
		return
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds())/1000, "p99-ms")
}
