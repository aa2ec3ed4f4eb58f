package mta

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"esash/config"
)

// scriptSink is a plain SMTP receiver that records every command line it
// reads, with whether more input was already waiting behind it (a
// pipelined group arrives in one write), and refuses the recipients whose
// local part starts with "no".
type scriptSink struct {
	addr     string
	port     int
	pipeline bool // advertise PIPELINING
	conns    atomic.Int32
	mu       sync.Mutex
	lines    []sinkLine
	msgs     int
}

type sinkLine struct {
	conn     int32
	cmd      string
	buffered bool // more input was waiting when this line was read
}

func startScriptSink(t *testing.T, pipeline bool) *scriptSink {
	t.Helper()
	ln, err := net.Listen("tcp4", sinkIP()+":0")
	if err != nil {
		t.Fatal(err)
	}
	k := &scriptSink{addr: ln.Addr().(*net.TCPAddr).IP.String(), port: ln.Addr().(*net.TCPAddr).Port, pipeline: pipeline}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go k.serve(c, k.conns.Add(1))
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return k
}

func (k *scriptSink) serve(c net.Conn, id int32) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	w := func(s string) { c.Write([]byte(s + "\r\n")) }
	w("220 script.sink ESMTP")
	rcpts := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		k.mu.Lock()
		k.lines = append(k.lines, sinkLine{conn: id, cmd: verb, buffered: br.Buffered() > 0})
		k.mu.Unlock()
		switch verb {
		case "EHLO":
			if k.pipeline {
				w("250-script.sink\r\n250 PIPELINING")
			} else {
				w("250 script.sink")
			}
		case "MAIL":
			rcpts = 0
			w("250 ok")
		case "RCPT":
			if strings.HasPrefix(strings.ToLower(line), "rcpt to:<no") {
				w("550 5.1.1 no such user")
				continue
			}
			rcpts++
			w("250 ok")
		case "DATA":
			if rcpts == 0 {
				w("554 5.5.1 no valid recipients")
				continue
			}
			w("354 go")
			for {
				l, err := br.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			k.mu.Lock()
			k.msgs++
			k.mu.Unlock()
			w("250 queued")
		case "QUIT":
			w("221 bye")
			return
		default:
			w("250 ok")
		}
	}
}

// commands returns the command verbs read after the first EHLO, in
// order, and the lines read with more input waiting behind them.
func (k *scriptSink) commands() (cmds []string, withMore []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.lines {
		if l.cmd == "EHLO" || l.cmd == "QUIT" {
			continue
		}
		cmds = append(cmds, l.cmd)
		if l.buffered {
			withMore = append(withMore, l.cmd)
		}
	}
	return cmds, withMore
}

// TestDeliverPipelining: to a server offering PIPELINING the envelope
// (MAIL, RCPTs, DATA) goes out in one write, and a kept connection takes
// the next message without an RSET after a completed transaction; an
// RSET still follows a transaction left open (every recipient refused).
// To a server without PIPELINING every command waits for the previous
// reply. One connection carries all the messages in both cases.
func TestDeliverPipelining(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name     string
		pipeline bool
		cmds     string // every command after EHLO, in order
		withMore string // commands read with more waiting behind them
	}{
		{"pipelining", true,
			"MAIL RCPT RCPT DATA MAIL RCPT DATA RSET MAIL RCPT RCPT DATA",
			"MAIL RCPT RCPT MAIL RCPT MAIL RCPT RCPT"},
		{"lockstep", false,
			"MAIL RCPT RCPT DATA MAIL RCPT RSET MAIL RCPT RCPT DATA",
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := startScriptSink(t, tc.pipeline)
			cfg := outCfg(t, p, config.TLSOutNo, map[string]string{"sink.test": hp(sink.addr, sink.port)})
			s, _ := startOut(t, cfg, func(o *Options) { o.Delivery.Workers = 1 })
			for _, to := range [][]string{{"a@sink.test", "b@sink.test"}, {"nobody@sink.test"}, {"c@sink.test", "d@sink.test"}} {
				mid := enqueue(t, s, "", to...) // the null sender: no bounce to deliver
				waitFor(t, "the delivery of "+strings.Join(to, ","), func() bool { return !inQueue(s, mid) })
			}
			cmds, withMore := sink.commands()
			if got := strings.Join(cmds, " "); got != tc.cmds {
				t.Errorf("commands\n got %s\nwant %s", got, tc.cmds)
			}
			if got := strings.Join(withMore, " "); got != tc.withMore {
				t.Errorf("read with more input waiting\n got %s\nwant %s", got, tc.withMore)
			}
			if n := sink.conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if sink.msgs != 2 {
				t.Errorf("%d messages at the sink, want 2", sink.msgs)
			}
		})
	}
}
