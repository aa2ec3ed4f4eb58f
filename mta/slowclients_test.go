package mta

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"esash/config"
)

// openConns is how many connections s's listeners count now.
func openConns(s *Server) int {
	n := 0
	s.mu.Lock()
	for _, sk := range s.sockets {
		n += int(sk.counts.live.Load())
	}
	s.mu.Unlock()
	return n
}

// waitUntil polls cond for up to a generous limit (the machine is shared).
func waitUntil(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dialFrom opens an SMTP connection to a from the loopback address src.
func dialFrom(src, a string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return d.Dial("tcp", a)
}

// slowClient holds a connection from src open as the attacker
// does: EHLO, then a NOOP every interval, reconnecting at once whenever
// the server drops it, until ctx ends.
func slowClient(ctx context.Context, src, a string, interval time.Duration, held *atomic.Int32) {
	for ctx.Err() == nil {
		c, err := dialFrom(src, a)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		r := bufio.NewReader(c)
		c.SetDeadline(time.Now().Add(time.Minute))
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "220") {
			c.Close()
			time.Sleep(50 * time.Millisecond) // refused: try again
			continue
		}
		held.Add(1)
		fmt.Fprintf(c, "EHLO slow.test\r\n")
		for err == nil && ctx.Err() == nil {
			for line, err = r.ReadString('\n'); err == nil && len(line) > 3 && line[3] == '-'; line, err = r.ReadString('\n') {
			}
			if err != nil || !strings.HasPrefix(line, "250") {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
			_, err = fmt.Fprintf(c, "NOOP\r\n")
		}
		held.Add(-1)
		c.Close()
	}
}

// sendFrom delivers one message from the loopback address src.
func sendFrom(src, a string) error {
	nc, err := dialFrom(src, a)
	if err != nil {
		return err
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := smtp.NewClient(nc)
	defer c.Close()
	if err := c.Hello("sender.test"); err != nil {
		return err
	}
	if err := c.SendMail("a@x.test", []string{"b@y.test"}, strings.NewReader("Subject: through\r\n\r\nhi\r\n")); err != nil {
		return err
	}
	return c.Quit()
}

// Issue 12 #2, the proof: 50 slow connections, 10 from each of 5 loopback
// addresses, hold the whole listener (50) with a NOOP every 1.5 s (never
// silent for the 2 s stress timeout) and reconnect at once when dropped.
// A new sender is still served, at once: it takes the slot of the slow
// connection that has been silent longest.
func TestSlowClientsDoNotLockOutSenders(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	l := &cfg.Listeners[0]
	l.MaxConnections = 50
	l.DefaultPolicy.MaxConcurrency = 10
	l.AcceptDomains = []string{"y.test"}
	l.SlowClients = config.SlowClients{StressPercent: 80, StressTimeout: 2, IdlePercent: 90}
	cfg.ListenSetup.IdleTimeout, cfg.ListenSetup.MaxConnTime = 600, 900 // no help from these
	dir := t.TempDir()
	s := startMTA(t, dir, cfg, func(o *Options) { o.ReadTimeout = time.Minute })
	a := addr(cfg)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var held atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(src string) {
			defer wg.Done()
			slowClient(ctx, src, a, 1500*time.Millisecond, &held)
		}(fmt.Sprintf("127.0.0.%d", 2+i/10))
	}
	defer func() { cancel(); wg.Wait() }()
	waitUntil(t, "the slow clients to hold every slot", 60*time.Second, func() bool { return openConns(s) >= 50 && held.Load() >= 45 })

	var worst time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		var err error
		for try := 0; ; try++ {
			if err = sendFrom("127.0.0.7", a); err == nil || try >= 100 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("message %d: a new sender is still not served under the attack: %v", i, err)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(300 * time.Millisecond)
	}
	t.Logf("under 50 slow connections, a new sender was served within %v (worst of 5); slow clients holding slots: %d", worst, held.Load())
	if n, _ := s.Queue().Len(); n != 5 {
		t.Fatalf("queued %d messages, want 5", n)
	}
	waitLog(t, dir, "which has no message and has been silent longest")
}

// The per-command timeout is the stress timeout while the listener holds
// its stress share, also for a connection already waiting when the load
// began; below it, the normal one.
func TestStressTimeout(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	l := &cfg.Listeners[0]
	l.MaxConnections = 5
	l.SlowClients = config.SlowClients{StressPercent: 60, StressTimeout: 1, IdlePercent: 100}
	dir := t.TempDir()
	startMTA(t, dir, cfg, func(o *Options) { o.ReadTimeout = time.Minute })
	a := addr(cfg)
	c1, c2 := dialRaw(t, a), dialRaw(t, a)
	c1.reply()
	c2.reply()
	time.Sleep(2 * time.Second) // twice the stress timeout: not under load yet
	if r := c1.cmd("NOOP"); !strings.HasPrefix(r, "250") {
		t.Fatalf("below the stress share: %q", r)
	}
	c3 := dialRaw(t, a) // 3 of 5 = 60 %: under load
	c3.reply()
	if r := c1.cmd("NOOP"); !strings.HasPrefix(r, "250") {
		t.Fatalf("NOOP: %q", r)
	}
	if got := c1.closedAfter(); !strings.HasPrefix(got, "421 4.4.2") {
		t.Fatalf("silent under load: %q", got)
	}
	// c2 was already waiting (with the one-minute timeout) when the load
	// began: it gets the stress timeout too.
	if got := c2.closedAfter(); !strings.HasPrefix(got, "421 4.4.2") {
		t.Fatalf("waiting when the load began: %q", got)
	}
	waitLog(t, dir, "timeout: no input for 1 seconds while the listener was under load")
}

// message sends one message on r, tolerating the end of the connection:
// it returns the first reply that is not a success ("" for the end).
func (r *rawConn) message() string {
	for _, cmd := range []string{"MAIL FROM:<a@x.test>", "RCPT TO:<b@y.test>", "DATA", "hi\r\n."} {
		r.c.SetDeadline(time.Now().Add(20 * time.Second))
		r.c.Write([]byte(cmd + "\r\n"))
		if rep := r.reply(); rep == "" || rep[0] != '2' && rep[0] != '3' {
			return rep
		}
	}
	return "250"
}

// SETUP's maximum connection time ends any session; its timeout for
// unsuccessful connections ends one that gets no message accepted, however
// busy it keeps with NOOP, RSET and HELO, and not one that sends mail.
func TestSessionTimeLimits(t *testing.T) {
	p := newPKI(t)
	cfg := baseConfig(t, p, config.TLSInOff)
	cfg.Listeners[0].AcceptDomains = []string{"y.test"}
	cfg.Listeners[0].DefaultPolicy.MaxMsgsPerConn = 1000
	cfg.ListenSetup.IdleTimeout, cfg.ListenSetup.MaxConnTime = 3, 6
	dir := t.TempDir()
	startMTA(t, dir, cfg, func(o *Options) { o.ReadTimeout = time.Minute })
	a := addr(cfg)

	// A message that takes longer than the unsuccessful timeout to
	// arrive, a line every 400 ms, is not cut.
	slowData := make(chan string, 1)
	go func() {
		c, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			slowData <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		fmt.Fprintf(c, "HELO slow.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n")
		for i := 0; i < 4; i++ {
			r.ReadString('\n')
		}
		for i := 0; i < 10; i++ {
			fmt.Fprintf(c, "line %d\r\n", i)
			time.Sleep(400 * time.Millisecond)
		}
		fmt.Fprintf(c, ".\r\n")
		line, _ := r.ReadString('\n')
		slowData <- line
	}()
	busy := dialRaw(t, a)
	busy.reply()
	mailer := dialRaw(t, a)
	mailer.reply()
	mailer.cmd("EHLO mailer.test")
	var last string
	for i := 0; last == ""; i++ {
		for _, cmd := range []string{"NOOP", "RSET", "HELO busy.test"} {
			busy.c.SetDeadline(time.Now().Add(20 * time.Second))
			busy.c.Write([]byte(cmd + "\r\n"))
			if r := busy.reply(); !strings.HasPrefix(r, "250") {
				last = r
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if i%3 == 0 && last == "" { // a message about every 2 s keeps the mailer
			if r := mailer.message(); r != "250" {
				t.Fatalf("mailer: %q", r)
			}
		}
	}
	if !strings.HasPrefix(last, "421 4.4.2") {
		t.Fatalf("busy client without a message: %q, want 421 4.4.2", last)
	}
	waitLog(t, dir, "timeout: no message accepted in 3 seconds")
	if r := <-slowData; !strings.HasPrefix(r, "250 2.0.0 ok:") {
		t.Fatalf("slow transfer: %q", r)
	}
	// The mailer outlives the busy client, until the connection time.
	for {
		if r := mailer.message(); r != "250" {
			if !strings.HasPrefix(r, "421 4.4.2") {
				t.Fatalf("mailer at the end: %q, want 421 4.4.2", r)
			}
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	waitLog(t, dir, "timeout: maximum connection time of 6 seconds reached")
}
