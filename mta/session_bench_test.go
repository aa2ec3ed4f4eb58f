package mta

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"esash/config"
)

// BenchmarkInboundSession: 8 clients send 4 KiB or 100 KiB messages over STARTTLS
// (ECDSA P-256) into a listener with TLS Required, durable queue and
// mail_logs, no delivery. One op is one message; per=1 is a session per
// message (accept, HAT and PTR, handshake, EHLO to 250, queue, logs),
// per=10 ten messages a session. Allocations are per message, client
// included (the client is the same before and after a change); with
// -cpuprofile the server's functions give the per-phase proportions:
//
//	go test -run '^$' -bench InboundSession -benchmem -count 6 ./mta/
func BenchmarkInboundSession(b *testing.B) {
	for _, size := range []int{4 << 10, 100 << 10} {
		for _, per := range []int{1, 10} {
			b.Run(fmt.Sprintf("size=%dK/per=%d", size>>10, per), func(b *testing.B) { benchInbound(b, size, per) })
		}
	}
}

func benchInbound(b *testing.B, size, per int) {
	p := newPKI(b)
	cfg := baseConfig(b, p, config.TLSInRequired)
	for i := range cfg.Listeners[0].Policies {
		cfg.Listeners[0].Policies[i].Params.MaxConcurrency = 0
		cfg.Listeners[0].Policies[i].Params.MaxMsgsPerConn = 0
	}
	cfg.Listeners[0].DefaultPolicy.MaxConcurrency = 1000
	cfg.Listeners[0].DefaultPolicy.MaxMsgsPerConn = 1000
	cfg.Listeners[0].MaxConnections = 1000
	startMTA(b, b.TempDir(), cfg)
	body := "From: a@x.test\r\nTo: b@y.test\r\nSubject: bench\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", size/80) + ".\r\n"
	tcfg := clientTLS(p, "mx.test.local")
	const clients = 8
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Load() < int64(b.N) {
				if err := benchSession(addr(cfg), tcfg, body, per, &next, int64(b.N)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// benchSession sends up to per messages (while next stays under n).
func benchSession(a string, tcfg *tls.Config, body string, per int, next *atomic.Int64, n int64) error {
	nc, err := net.Dial("tcp", a)
	if err != nil {
		return err
	}
	defer nc.Close()
	r, w := bufio.NewReader(nc), bufio.NewWriter(nc)
	expect := func(code string) error {
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, code) {
				return fmt.Errorf("want %s, got %q", code, line)
			}
			if len(line) < 4 || line[3] != '-' {
				return nil
			}
		}
	}
	cmd := func(line, code string) error {
		w.WriteString(line + "\r\n")
		if err := w.Flush(); err != nil {
			return err
		}
		return expect(code)
	}
	if err := expect("220"); err != nil {
		return err
	}
	if err := cmd("EHLO client.test", "250"); err != nil {
		return err
	}
	if err := cmd("STARTTLS", "220"); err != nil {
		return err
	}
	tc := tls.Client(nc, tcfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
	if err := cmd("EHLO client.test", "250"); err != nil {
		return err
	}
	for i := 0; i < per && next.Add(1) <= n; i++ {
		if err := cmd("MAIL FROM:<a@x.test>", "250"); err != nil {
			return err
		}
		if err := cmd("RCPT TO:<b@y.test>", "250"); err != nil {
			return err
		}
		if err := cmd("DATA", "354"); err != nil {
			return err
		}
		w.WriteString(body)
		if err := w.Flush(); err != nil {
			return err
		}
		if err := expect("250"); err != nil {
			return err
		}
	}
	return cmd("QUIT", "221")
}
