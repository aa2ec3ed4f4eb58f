package mta

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
	"esash/mta/queue"
)

// envDeliverCrashChild tells a re-executed test binary to be
// deliverCrashChild, with the specification file it names.
const envDeliverCrashChild = "ESASH_MTA_DELIVER_CRASH_CHILD"

// crashSpec is what the parent of TestDeliverCrash hands its children.
type crashSpec struct {
	DataDir string         `json:"data_dir"`
	Config  *config.Config `json:"config"`
}

// crashChildOptions are the MTA options of the crash child: a fast scan,
// retries within the time of a run, and a short life in the queue, so
// that the deferred recipients expire (bounce, no DSN to the null sender)
// and the queue does not grow with every run.
func crashChildOptions(dir string) Options {
	return Options{DataDir: dir, Resolver: noDNS{}, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		SystemRoots: func() (*x509.CertPool, error) { return x509.NewCertPool(), nil },
		Delivery: DeliveryOptions{Enabled: true, Poll: 5 * time.Millisecond, RetryInitial: 300 * time.Millisecond,
			RetryMax: time.Second, MaxQueueTime: 4 * time.Second, Timeout: 5 * time.Second}}
}

// deliverCrashChild is the process TestDeliverCrash kills (TestMain runs
// it in a re-executed test binary): an MTA that receives and delivers
// until it is killed. It prints READY once it listens.
func deliverCrashChild(specPath string) error {
	raw, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec crashSpec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("crash child spec: %w", err)
	}
	s, err := New(crashChildOptions(spec.DataDir))
	if err != nil {
		return err
	}
	if err := s.Boot(context.Background(), spec.Config); err != nil {
		return fmt.Errorf("crash child boot: %w", err)
	}
	fmt.Println("READY")
	select {} // until killed
}

// crashChild is one run of the child process.
type crashChild struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

func startCrashChild(t *testing.T, specPath string) *crashChild {
	t.Helper()
	c := &crashChild{cmd: exec.Command(os.Args[0])}
	c.cmd.Env = append(os.Environ(), envDeliverCrashChild+"="+specPath)
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "READY" {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			c.cmd.Wait()
			ss, _ := exec.Command("ss", "-tanp").CombinedOutput()
			t.Fatalf("crash child ended before it was ready:\n%s\n%s", c.stderr.String(), ss)
		}
	case <-time.After(time.Minute):
		c.kill(t)
		t.Fatalf("crash child not ready after a minute:\n%s", c.stderr.String())
	}
	return c
}

// kill is kill -9, then the child's stderr is checked for races and panics.
func (c *crashChild) kill(t *testing.T) {
	t.Helper()
	c.cmd.Process.Kill()
	c.cmd.Wait()
	if e := c.stderr.String(); strings.Contains(e, "DATA RACE") || strings.Contains(e, "panic") {
		t.Fatalf("crash child failed:\n%s", e)
	}
}

// crashSenders send two-recipient messages to a until stop is closed, each
// over kept connections, numbering them from next; they return the numbers
// of the messages that got 250.
func crashSenders(a string, senders int, next *atomic.Int64, stop chan struct{}) func() []int64 {
	var mu sync.Mutex
	var acked []int64
	var wg sync.WaitGroup
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() {
				c, err := smtp.Dial(a)
				if err != nil {
					time.Sleep(5 * time.Millisecond) // the child is gone or not up yet
					continue
				}
				for err == nil && !stopped() {
					id := next.Add(1)
					body := fmt.Sprintf("Subject: test %d\r\nFrom: <crash@client.test>\r\n\r\nmessage %d\r\n", id, id)
					if err = c.SendMail("", []string{"bob@sink.test", "carol@dead.test"}, strings.NewReader(body)); err == nil {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}
				c.Close()
			}
		}()
	}
	return func() []int64 {
		wg.Wait()
		return acked
	}
}

// queuedAfterKill reads the queue a killed child left: the message
// numbers it holds and those still due to bob@sink.test.
func queuedAfterKill(t *testing.T, dir string) (queued, toSink map[string]bool) {
	t.Helper()
	q, err := queue.Open(filepath.Join(dir, "queue"), queue.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	queued, toSink = map[string]bool{}, map[string]bool{}
	for _, m := range q.List() {
		body, err := q.Read(m.MID)
		if err != nil {
			t.Fatalf("MID %d: %v", m.MID, err)
		}
		sm := subjectMID.FindSubmatch(body)
		if sm == nil {
			t.Fatalf("MID %d has no test subject:\n%s", m.MID, body)
		}
		queued[string(sm[1])] = true
		if slices.Contains(m.To, "bob@sink.test") {
			toSink[string(sm[1])] = true
		}
	}
	return queued, toSink
}

// envCrashKills sets how many times TestDeliverCrash kills its child: 5
// by default, which fits in a few tens of seconds under -race on a busy
// machine; `make crash` runs it with 20 (the figure issue 12 asks for),
// about 90 s under -race here.
const envCrashKills = "ESASH_CRASH_KILLS"

func crashKills(t *testing.T) int {
	v := os.Getenv(envCrashKills)
	if v == "" {
		return 5
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a number of kills, 1 or more", envCrashKills, v)
	}
	return n
}

// TestDeliverCrash is issue 12 item 5 with faults: a child MTA receives
// two-recipient messages (one recipient at a sink, one at a closed port)
// and delivers them, and is killed with SIGKILL under that load
// (envCrashKills times), then runs until every acknowledged message is at
// the sink. After each kill, every acknowledged message is at the sink or
// still queued for it; the recipients the sink has but the queue still
// lists are those in flight at the kill (delivered, not yet recorded:
// at most Workers messages). Only those may be delivered again: each
// duplicate copy at the end must be matched by a kill that found its
// recipient in flight. The figures (acknowledged / lost / duplicated, in
// flight at the kills) are logged; run with -v to see them.
func TestDeliverCrash(t *testing.T) {
	kills := crashKills(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := newPKI(t)
	// Every kill cuts the sink's sessions: their errors are expected.
	sink := startGoSink(t, nil, func(g *goSink) { g.errorLog = log.New(io.Discard, "", 0) })
	deadIP, deadPort := closedPort(t)
	cfg := outCfg(t, p, config.TLSOutNo, map[string]string{
		"sink.test": hp(sink.addr, sink.port), "dead.test": hp(deadIP, deadPort)})
	l := &cfg.Listeners[0]
	l.MaxConnections, l.DefaultPolicy.MaxConcurrency, l.DefaultPolicy.MaxMsgsPerConn = 1000, 1000, 1000000
	for i := range l.Policies {
		l.Policies[i].Params.MaxConcurrency, l.Policies[i].Params.MaxMsgsPerConn = 0, 0
	}
	dir := t.TempDir()
	raw, err := json.Marshal(crashSpec{DataDir: dir, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	workers := crashChildOptions(dir).Delivery.Workers
	if workers == 0 {
		workers = 32 // deliveryDefaults
	}

	var next atomic.Int64
	acked := map[string]bool{}
	inFlightAt := map[string]int{} // recipient key → kills that found it in flight
	var inFlight, maxInFlight int
	for k := range kills {
		child := startCrashChild(t, specPath)
		stop := make(chan struct{})
		wait := crashSenders(addr(cfg), 4, &next, stop)
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond) // load until a random moment
		child.kill(t)
		close(stop)
		for _, id := range wait() {
			acked[strconv.FormatInt(id, 10)] = true
		}
		// Deliveries the sink took in before the kill are counted
		// before the queue is read.
		waitLong(t, "the sink's sessions to end", time.Minute, func() bool { return sink.active.Load() == 0 })
		copies := copiesAt(t, sink.list())
		queued, toSink := queuedAfterKill(t, dir)
		for id := range acked {
			if !queued[id] && copies[id+" bob@sink.test"] == 0 {
				t.Fatalf("kill %d (seed %d): message %s was acknowledged but is neither queued nor at the sink", k, seed, id)
			}
		}
		n := 0
		for id := range toSink {
			if key := id + " bob@sink.test"; copies[key] > 0 {
				inFlightAt[key]++
				n++
			}
		}
		if n > workers {
			t.Errorf("kill %d: %d recipients delivered but not recorded, more than the %d deliveries at once", k, n, workers)
		}
		inFlight, maxInFlight = inFlight+n, max(maxInFlight, n)
	}

	// A last run without a kill delivers what is left.
	child := startCrashChild(t, specPath)
	deadline := time.Now().Add(3 * time.Minute)
	var lost []string
	for {
		copies := copiesAt(t, sink.list())
		lost = lost[:0]
		for id := range acked {
			if copies[id+" bob@sink.test"] == 0 {
				lost = append(lost, id)
			}
		}
		if len(lost) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	child.kill(t)
	copies := copiesAt(t, sink.list())
	dup, _ := duplicates(copies)
	t.Logf("seed %d: %d kills, %d messages acknowledged, %d lost, %d duplicated; in flight at the kills: %d in all, at most %d at one",
		seed, kills, len(acked), len(lost), dup, inFlight, maxInFlight)
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Errorf("%d acknowledged messages never reached the sink (e.g. %v)", len(lost), lost[:min(5, len(lost))])
	}
	for key, c := range copies {
		if c-1 > inFlightAt[key] {
			t.Errorf("%s delivered %d times, but in flight at only %d kills", key, c, inFlightAt[key])
		}
	}
	if len(acked) == 0 {
		t.Error("no message was acknowledged")
	}
}
