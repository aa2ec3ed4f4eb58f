package store

import (
	"context"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"esash/config"
)

// Run with
//
//	go test ./store -run '^$' -bench . -benchtime 300x
//
// The commit benchmark reports the median and 99th percentile of one
// staged change plus its commit (fsync included) as p50-ms and p99-ms.

const benchEntries = 10000

// bigDB is a database whose head holds 10,000 destination entries.
func bigDB(b *testing.B) (*DB, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "config.db")
	db := openDB(b, path, Options{})
	d := NewDraft(db, "bench", "console")
	stage(b, d, func(c *config.Config) {
		for i := range benchEntries {
			c.Destinations.Entries = append(c.Destinations.Entries, entry(i))
		}
	})
	commit(b, d, "ten thousand entries")
	return db, path
}

// cpuTime is the CPU time this process has used. The benchmarks report
// it per operation as cpu-ms/op next to the wall-clock numbers, which a
// busy machine inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	if n > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(n), "cpu-ms/op")
	}
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
}

// BenchmarkCommit10kDestinations stages one change to one of 10,000
// destination entries through a draft and commits it.
func BenchmarkCommit10kDestinations(b *testing.B) {
	db, _ := bigDB(b)
	d := NewDraft(db, "bench", "console")
	var lat []time.Duration
	b.ReportAllocs()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		stage(b, d, func(c *config.Config) { c.Destinations.Entries[i%benchEntries].MaxConcurrency = i + 1 })
		commit(b, d, "")
		lat = append(lat, time.Since(start))
	}
	reportCPU(b, cpu, len(lat))
	reportPercentiles(b, lat)
}

// BenchmarkDraftUpdate stages one change in a draft of the same
// configuration, without committing.
func BenchmarkDraftUpdate(b *testing.B) {
	db, _ := bigDB(b)
	d := NewDraft(db, "bench", "console")
	b.ReportAllocs()
	cpu, n := cpuTime(), 0
	for i := 0; b.Loop(); i++ {
		stage(b, d, func(c *config.Config) { c.Destinations.Entries[i%benchEntries].MaxConcurrency = i + 1 })
		n++
	}
	reportCPU(b, cpu, n)
}

// BenchmarkOpen reopens a database whose head holds 10,000 destination
// entries.
func BenchmarkOpen(b *testing.B) {
	db, path := bigDB(b)
	db.Close()
	b.ReportAllocs()
	cpu, n := cpuTime(), 0
	for b.Loop() {
		n++
		db, err := Open(path, Options{Factory: noFactory(b)})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(db.Head().Config.Destinations.Entries); n != benchEntries {
			b.Fatalf("%d entries", n)
		}
		db.Close()
	}
	reportCPU(b, cpu, n)
}

// BenchmarkHeadDuringSlowCommit measures what a login or a prompt waits
// for while commits run: one goroutine commits over and over, each commit
// holding its prepare step for slowPrepare (a listener rebind, a
// certificate check), while the benchmark loop reads the head and, as
// every main prompt does, refreshes a draft. It reports the p50 and p99
// latency of one read (p50-ms, p99-ms) and the commits that ran meanwhile
// (commits); ns/op includes a pause between reads. Run it with
//
//	go test ./store -run '^$' -bench HeadDuringSlowCommit -benchtime 5000x
//
// With Head behind the commit lock the p99 was about slowPrepare.
func BenchmarkHeadDuringSlowCommit(b *testing.B) {
	const slowPrepare, readGap = 20 * time.Millisecond, 200 * time.Microsecond
	db, _ := bigDB(b)
	stop, stopped := make(chan struct{}), make(chan int)
	go func() {
		d := NewDraft(db, "writer", "console")
		n := 0
		slow := func(context.Context, *config.Config) (func(), func(), error) {
			time.Sleep(slowPrepare)
			return func() {}, func() {}, nil
		}
		for {
			select {
			case <-stop:
				stopped <- n
				return
			default:
			}
			stage(b, d, func(c *config.Config) { c.Destinations.Entries[n%benchEntries].MaxConcurrency = n + 1 })
			if _, err := d.Commit(context.Background(), "", false, slow); err != nil {
				b.Errorf("commit: %v", err)
			}
			n++
		}
	}()
	reader := NewDraft(db, "reader", "ssh:127.0.0.1")
	var lat []time.Duration
	for b.Loop() {
		// Prompts come apart, not back to back: spread the reads over
		// the commits so that most of them land inside a prepare.
		time.Sleep(readGap)
		start := time.Now()
		if db.Head().Config.Hostname == "" {
			b.Fatal("empty hostname")
		}
		reader.Refresh()
		lat = append(lat, time.Since(start))
	}
	close(stop)
	b.ReportMetric(float64(<-stopped), "commits")
	reportPercentiles(b, lat)
}
