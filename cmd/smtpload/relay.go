package main

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"esash/cmd/smtpload/baresmtp"
)

// The relay cells: smtpload sends to the server under test, which relays
// to a sink that runs in smtpload's own process. One process holds both
// ends, so the latency from the sender's 250 to the sink's 250 is read on
// one clock and matched by the message's ID header; the sink's CPU counts
// as the load tool's, never as the server's.

// sent is a message the server under test accepted, with its 250's time.
type sent struct {
	id string
	at time.Time
}

type sink struct {
	srv  *baresmtp.Server
	ln   net.Listener
	mu   sync.Mutex
	got  []sent // messages at the sink, with the time of the sink's 250
	more chan struct{}
}

// startSink listens on o.sink with STARTTLS (o.sinkCert, o.sinkKey).
func startSink(o options) (*sink, error) {
	cert, err := tls.LoadX509KeyPair(o.sinkCert, o.sinkKey)
	if err != nil {
		return nil, fmt.Errorf("-sinkcert/-sinkkey: %w", err)
	}
	ln, err := net.Listen("tcp", o.sink)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	sk := &sink{ln: ln, more: make(chan struct{}, 1)}
	sk.srv = &baresmtp.Server{
		TLS:      &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true},
		Hostname: "sink.bench.test",
		OnMessage: func(id string) {
			now := time.Now()
			sk.mu.Lock()
			sk.got = append(sk.got, sent{id, now})
			sk.mu.Unlock()
			select {
			case sk.more <- struct{}{}:
			default:
			}
		},
	}
	go sk.srv.Serve(ln)
	return sk, nil
}

func (sk *sink) close() { sk.ln.Close() }

// relayResult waits up to drain for the accepted messages to reach the
// sink, then fills r's relay fields.
func (sk *sink) relayResult(r *result, tag string, accepted []sent, start time.Time, drain time.Duration) {
	want := make(map[string]time.Time, len(accepted))
	for _, a := range accepted {
		want[a.id] = a.at
	}
	ours := func() (n int, last time.Time) {
		sk.mu.Lock()
		defer sk.mu.Unlock()
		for _, g := range sk.got {
			if _, ok := want[g.id]; ok {
				n++
				if g.at.After(last) {
					last = g.at
				}
			}
		}
		return n, last
	}
	end := time.After(drain)
	for n, _ := ours(); n < len(want); n, _ = ours() {
		select {
		case <-sk.more:
		case <-time.After(50 * time.Millisecond):
		case <-end:
			goto done
		}
	}
done:
	n, last := ours()
	r.Relay = true
	r.Delivered, r.Undelivered = int64(n), int64(len(want)-n)
	if n > 0 {
		r.E2ESeconds = last.Sub(start).Seconds()
		r.E2EPerSec = float64(n) / r.E2ESeconds
	}
	var lat []time.Duration
	sk.mu.Lock()
	for _, g := range sk.got {
		if at, ok := want[g.id]; ok {
			// The server may answer its sender a hair after it has
			// relayed: such a message counts as 0.
			lat = append(lat, max(0, g.at.Sub(at)))
		}
	}
	sk.mu.Unlock()
	r.RelayP50, r.RelayP99 = pct(lat, 50), pct(lat, 99)
	r.OutHandshake = sk.srv.Handshakes.Load()
	if n > 0 {
		r.HSPerMsg = float64(r.OutHandshake) / float64(n)
	}
}

// runTag is this run's part of every message ID.
func runTag() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// bare runs the reference server (package baresmtp) until SIGTERM or
// SIGINT, then prints its counters as JSON. With -durable it is the
// durable ceiling (baresmtp.Journal).
func bare(args []string) int {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:2527", "listen address (loopback only)")
	certFile := fs.String("cert", "", "certificate PEM (STARTTLS; none: plain only)")
	keyFile := fs.String("key", "", "private key PEM")
	durable := fs.String("durable", "", "DIR: the durable ceiling: each message appended to a journal in DIR, 250 after fdatasync")
	fs.Parse(args)
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "smtpload bare:", err); return 1 }
	if err := checkLoopback(*addr); err != nil {
		return fail(err)
	}
	srv := &baresmtp.Server{Hostname: "bare.bench.test"}
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return fail(err)
		}
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true}
	}
	if *durable != "" {
		// As esash does (cmd/esash): pinned to one core, Go would run one
		// P, and a session's P would wait out the writer's fdatasync.
		if runtime.GOMAXPROCS(0) < 2 {
			runtime.GOMAXPROCS(2)
		}
		j, err := baresmtp.OpenJournal(*durable, 0)
		if err != nil {
			return fail(err)
		}
		defer j.Close()
		srv.Journal = j
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; ln.Close() }()
	if err := srv.Serve(ln); err != nil {
		return fail(err)
	}
	json.NewEncoder(os.Stdout).Encode(map[string]int64{"sessions": srv.Sessions.Load(),
		"handshakes": srv.Handshakes.Load(), "messages": srv.Messages.Load()})
	return 0
}
