package maillog

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkLogParallel: 50 goroutines log a message's two lines at once
// (Infos), as 50 SMTP sessions do; one op is one Infos call. cpu-ns/op is
// the process's CPU time (user and system) per op, the figure that counts
// on a machine shared with other work, where ns/op is wall time.
//
//	go test -run '^$' -bench LogParallel -benchmem ./maillog/
func BenchmarkLogParallel(b *testing.B) {
	l, err := Open(b.TempDir(), "mail_logs", "mail", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	b.SetParallelism(25)
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Infos(MIDReady(123456, 4096, "load@bench.test"), MIDQueued(123456))
		}
	})
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
