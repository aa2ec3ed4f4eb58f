// Command smtpload is the project's SMTP load generator: C clients each
// open sessions (optionally STARTTLS), send PER messages of SIZE bytes per
// session with DATA or BDAT, and quit, for a duration. It reports messages
// and sessions per second, per-message latency (end of data to the reply)
// and per-session latency percentiles, its own CPU use and, with -srvpid,
// the server's. Loopback only.
//
// With -sink it also runs the receiving end of a relay (relay.go): the
// server under test relays to that in-process sink, and smtpload reports
// messages per second end to end, the latency from the sender's 250 to the
// sink's 250, and the server's TLS handshakes and CPU per message.
//
//	smtpload -addr 127.0.0.1:2525 -starttls -c 50 -per 10 -size 4096 -duration 5s
//	smtpload -addr 127.9.0.1:2525 -starttls -c 50 -sink 127.9.0.2:2526 -sinkcert c.pem -sinkkey k.pem
//	smtpload setup -data DIR -ip 127.1.9.9 -cert c.pem -key k.pem -tls required [-relay 127.9.0.2:2526]
//	smtpload bare -addr 127.0.0.1:2527 -cert c.pem -key k.pem     (the reference server, baresmtp)
//	smtpload summarize results.jsonl                                (the ratios, as a table)
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"esash/cmd/smtpload/baresmtp"
)

type options struct {
	addr     string
	starttls bool
	clients  int
	per      int
	size     int
	duration time.Duration
	bdat     bool
	tlsMax   string
	caFile   string
	srvPID   int
	jsonOut  bool
	label    string
	idle     int
	hold     time.Duration
	// The relay cells (relay.go).
	sink     string
	sinkCert string
	sinkKey  string
	drain    time.Duration
	out      string
}

type result struct {
	Label       string  `json:"label"`
	Clients     int     `json:"clients"`
	Per         int     `json:"per"`
	Size        int     `json:"size"`
	BDAT        bool    `json:"bdat"`
	Seconds     float64 `json:"seconds"`
	Msgs        int64   `json:"msgs"`
	Sessions    int64   `json:"sessions"`
	Errors      int64   `json:"errors"`
	MsgsPerSec  float64 `json:"msgs_per_sec"`
	SessPerSec  float64 `json:"sessions_per_sec"`
	MsgP50      float64 `json:"msg_p50_ms"`
	MsgP99      float64 `json:"msg_p99_ms"`
	SessP50     float64 `json:"session_p50_ms"`
	SessP99     float64 `json:"session_p99_ms"`
	ClientCPU   float64 `json:"client_cpu_pct"`
	ServerCPU   float64 `json:"server_cpu_pct"`
	OtherCPU    float64 `json:"other_cpu_pct"` // the rest of the machine: a shared machine skews results
	FirstError  string  `json:"first_error,omitempty"`
	TLS         string  `json:"tls,omitempty"`
	ServerRSSMB float64 `json:"server_rss_mb,omitempty"`
	// CPUPerMsg is the server's CPU per message (accepted, or delivered
	// to the sink in a relay cell), in ms.
	CPUPerMsg float64 `json:"server_cpu_ms_per_msg,omitempty"`
	// The relay cells: what reached the sink, end to end.
	Relay        bool    `json:"relay,omitempty"`
	Delivered    int64   `json:"delivered,omitempty"`
	Undelivered  int64   `json:"undelivered,omitempty"` // accepted, not at the sink when -drain ran out
	E2ESeconds   float64 `json:"e2e_seconds,omitempty"` // first message sent to last message at the sink
	E2EPerSec    float64 `json:"e2e_msgs_per_sec,omitempty"`
	RelayP50     float64 `json:"relay_p50_ms,omitempty"` // sender's 250 to the sink's 250
	RelayP99     float64 `json:"relay_p99_ms,omitempty"`
	OutHandshake int64   `json:"out_handshakes,omitempty"` // TLS handshakes the sink served
	HSPerMsg     float64 `json:"handshakes_per_msg,omitempty"`
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "setup":
			os.Exit(setup(os.Args[2:]))
		case "bare":
			os.Exit(bare(os.Args[2:]))
		case "summarize":
			os.Exit(summarize(os.Args[2:]))
		}
	}
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:2525", "server address (loopback only)")
	flag.BoolVar(&o.starttls, "starttls", false, "STARTTLS every session")
	flag.IntVar(&o.clients, "c", 1, "concurrent clients")
	flag.IntVar(&o.per, "per", 1, "messages per session")
	flag.IntVar(&o.size, "size", 4096, "message size in bytes")
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "how long to send")
	flag.BoolVar(&o.bdat, "bdat", false, "send with BDAT (CHUNKING) instead of DATA")
	flag.StringVar(&o.tlsMax, "tlsmax", "", "highest TLS version: 1.2 or 1.3")
	flag.StringVar(&o.caFile, "ca", "", "verify the server against this CA file (default: no verification)")
	flag.IntVar(&o.srvPID, "srvpid", 0, "server process whose CPU to measure (its children included)")
	flag.BoolVar(&o.jsonOut, "json", false, "print the result as JSON")
	flag.StringVar(&o.label, "label", "", "label of the result")
	flag.IntVar(&o.idle, "idle", 0, "instead of load: open N STARTTLS sessions, hold them idle for -hold, report the server's RSS")
	flag.DurationVar(&o.hold, "hold", 3*time.Second, "how long -idle sessions are held")
	flag.StringVar(&o.sink, "sink", "", "relay cell: run the receiving sink on this address (loopback only)")
	flag.StringVar(&o.sinkCert, "sinkcert", "", "the sink's certificate PEM (STARTTLS)")
	flag.StringVar(&o.sinkKey, "sinkkey", "", "the sink's private key PEM")
	flag.StringVar(&o.out, "out", "", "also append the result as one JSON line to this file (for summarize)")
	flag.DurationVar(&o.drain, "drain", 60*time.Second, "relay cell: how long to wait for accepted messages to reach the sink")
	flag.Parse()
	if err := checkLoopback(o.addr); err != nil {
		fmt.Fprintln(os.Stderr, "smtpload:", err)
		os.Exit(2)
	}
	if o.sink != "" {
		if err := checkLoopback(o.sink); err != nil {
			fmt.Fprintln(os.Stderr, "smtpload: -sink:", err)
			os.Exit(2)
		}
	}
	var r result
	var err error
	if o.idle > 0 {
		r, err = idle(o)
	} else {
		r, err = load(o)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "smtpload:", err)
		os.Exit(1)
	}
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			err = json.NewEncoder(f).Encode(r)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "smtpload: -out:", err)
			os.Exit(1)
		}
	}
	if o.jsonOut {
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	fmt.Printf("%s c=%d per=%d size=%d bdat=%v: %.0f msgs/s, %.0f sessions/s, msg p50/p99 %.2f/%.2f ms, session p50/p99 %.2f/%.2f ms, errors %d, CPU client %.0f%% server %.0f%% other %.0f%%, server %.3f ms/msg %s\n",
		r.Label, r.Clients, r.Per, r.Size, r.BDAT, r.MsgsPerSec, r.SessPerSec, r.MsgP50, r.MsgP99, r.SessP50, r.SessP99, r.Errors, r.ClientCPU, r.ServerCPU, r.OtherCPU, r.CPUPerMsg, r.TLS)
	if r.Relay {
		fmt.Printf("%s relay: %.0f msgs/s end to end, %d delivered, %d undelivered, sender 250 to sink 250 p50/p99 %.2f/%.2f ms, %d outbound handshakes (%.3f per message)\n",
			r.Label, r.E2EPerSec, r.Delivered, r.Undelivered, r.RelayP50, r.RelayP99, r.OutHandshake, r.HSPerMsg)
	}
	if r.FirstError != "" {
		fmt.Println("first error:", r.FirstError)
	}
}

func checkLoopback(a string) error {
	h, _, err := net.SplitHostPort(a)
	if err != nil {
		return err
	}
	ip := net.ParseIP(h)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s is not a loopback address: smtpload only loads this machine", a)
	}
	return nil
}

func (o options) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "mx.bench.test"}
	if o.caFile != "" {
		raw, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(raw)
		cfg.InsecureSkipVerify, cfg.RootCAs = false, pool
	}
	switch o.tlsMax {
	case "1.2":
		cfg.MaxVersion = tls.VersionTLS12
	case "1.3", "":
	default:
		return nil, fmt.Errorf("-tlsmax %q", o.tlsMax)
	}
	return cfg, nil
}

// idLen is the width of a message's ID: the run's tag (8 hex digits, so
// a sink never counts a message of an earlier run) and a 16-digit number.
const idLen = 8 + 16

// message builds a dot-safe message of about size bytes; its first line is
// the ID header, whose value stampID overwrites per message.
func message(size int) []byte {
	var b strings.Builder
	b.WriteString(baresmtp.IDHeader + strings.Repeat("0", idLen) + "\r\n")
	b.WriteString("From: load@bench.test\r\nTo: sink@bench.test\r\nSubject: smtpload\r\n\r\n")
	line := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 2)[:70] + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// stampID writes the ID tag+n into body (made by message) and returns it.
func stampID(body []byte, tag string, n int64) string {
	id := fmt.Sprintf("%s%016d", tag, n)
	copy(body[len(baresmtp.IDHeader):], id)
	return id
}

type conn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (c *conn) reply() (int, string, error) {
	var last string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, line, err
		}
		last = line
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	code, err := strconv.Atoi(last[:3])
	if err != nil {
		return 0, last, fmt.Errorf("bad reply %q", last)
	}
	return code, last, nil
}

func (c *conn) cmd(want int, format string, args ...any) (string, error) {
	fmt.Fprintf(c.w, format+"\r\n", args...)
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	code, line, err := c.reply()
	if err != nil {
		return line, err
	}
	if code != want {
		return line, fmt.Errorf("%s: %s", strings.SplitN(format, " ", 2)[0], strings.TrimSpace(line))
	}
	return line, nil
}

// session runs one SMTP session; next stamps the body with a new message
// ID, done reports each accepted message with its latency (end of data to
// the reply) and the time of its 250.
func session(o options, tcfg *tls.Config, body []byte, next func() string, done func(id string, lat time.Duration, at time.Time)) (string, error) {
	nc, err := net.DialTimeout("tcp", o.addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	c := &conn{c: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 64<<10)}
	if code, line, err := c.reply(); err != nil || code != 220 {
		return "", fmt.Errorf("greeting %q: %v", line, err)
	}
	if _, err := c.cmd(250, "EHLO load.bench.test"); err != nil {
		return "", err
	}
	tlsInfo := ""
	if o.starttls {
		if _, err := c.cmd(220, "STARTTLS"); err != nil {
			return "", err
		}
		tc := tls.Client(nc, tcfg)
		if err := tc.Handshake(); err != nil {
			return "", err
		}
		st := tc.ConnectionState()
		tlsInfo = fmt.Sprintf("%s %s %s", tlsVersion(st.Version), tls.CipherSuiteName(st.CipherSuite), st.CurveID)
		c = &conn{c: tc, r: bufio.NewReaderSize(tc, 16<<10), w: bufio.NewWriterSize(tc, 64<<10)}
		if _, err := c.cmd(250, "EHLO load.bench.test"); err != nil {
			return "", err
		}
	}
	for i := 0; i < o.per; i++ {
		if _, err := c.cmd(250, "MAIL FROM:<load@bench.test>"); err != nil {
			return tlsInfo, err
		}
		if _, err := c.cmd(250, "RCPT TO:<sink@bench.test>"); err != nil {
			return tlsInfo, err
		}
		id := next()
		var start time.Time
		if o.bdat {
			fmt.Fprintf(c.w, "BDAT %d LAST\r\n", len(body))
			c.w.Write(body)
			start = time.Now()
			if err := c.w.Flush(); err != nil {
				return tlsInfo, err
			}
		} else {
			if _, err := c.cmd(354, "DATA"); err != nil {
				return tlsInfo, err
			}
			c.w.Write(body)
			c.w.WriteString(".\r\n")
			start = time.Now()
			if err := c.w.Flush(); err != nil {
				return tlsInfo, err
			}
		}
		code, line, err := c.reply()
		if err != nil {
			return tlsInfo, err
		}
		if code != 250 {
			return tlsInfo, fmt.Errorf("end of data: %s", strings.TrimSpace(line))
		}
		now := time.Now()
		done(id, now.Sub(start), now)
	}
	c.cmd(221, "QUIT")
	return tlsInfo, nil
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS1.3"
	case tls.VersionTLS12:
		return "TLS1.2"
	}
	return fmt.Sprintf("0x%x", v)
}

func load(o options) (result, error) {
	tcfg, err := o.tlsConfig()
	if err != nil {
		return result{}, err
	}
	var sk *sink
	if o.sink != "" {
		if sk, err = startSink(o); err != nil {
			return result{}, err
		}
		defer sk.close()
	}
	t := &tally{tag: runTag(), body: message(o.size), relay: sk != nil}
	deadline := time.Now().Add(o.duration)
	m := startMeters(o.srvPID)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < o.clients; i++ {
		wg.Go(func() { t.sender(o, tcfg, deadline) })
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	r := result{Label: o.label, Clients: o.clients, Per: o.per, Size: o.size, BDAT: o.bdat, Seconds: el,
		Msgs: t.msgs.Load(), Sessions: t.sessions.Load(), Errors: t.errs.Load(), FirstError: t.firstErr, TLS: t.tlsInfo}
	r.MsgsPerSec = float64(r.Msgs) / el
	r.SessPerSec = float64(r.Sessions) / el
	r.MsgP50, r.MsgP99 = pct(t.msgLat, 50), pct(t.msgLat, 99)
	r.SessP50, r.SessP99 = pct(t.sessLat, 50), pct(t.sessLat, 99)
	// A relay cell's window runs until the last accepted message is at
	// the sink: the CPU is the server's work for all of them.
	window := el
	if sk != nil {
		sk.relayResult(&r, t.tag, t.accepted, start, o.drain)
		window = max(el, r.E2ESeconds)
	}
	m.read(&r, window, sk != nil)
	return r, nil
}

// tally is what a load's senders count and collect.
type tally struct {
	tag   string // the run's tag in every message's ID
	body  []byte // the message, copied by each sender
	relay bool   // a relay cell: the accepted messages are kept for the sink

	msgs, sessions, errs, seq atomic.Int64
	tlsSeen                   atomic.Bool // tlsInfo is set

	mu                sync.Mutex // guards what follows
	msgLat, sessLat   []time.Duration
	accepted          []sent
	firstErr, tlsInfo string
}

// sender is one client: sessions one after the other until deadline,
// its latencies merged into t at the end.
func (t *tally) sender(o options, tcfg *tls.Config, deadline time.Time) {
	var ml, sl []time.Duration
	var acc []sent
	wb := slices.Clone(t.body)
	next := func() string { return stampID(wb, t.tag, t.seq.Add(1)) }
	done := func(id string, d time.Duration, at time.Time) {
		ml = append(ml, d)
		t.msgs.Add(1)
		if t.relay {
			acc = append(acc, sent{id, at})
		}
	}
	for time.Now().Before(deadline) {
		t0 := time.Now()
		info, err := session(o, tcfg, wb, next, done)
		if err != nil {
			t.errs.Add(1)
			t.mu.Lock()
			if t.firstErr == "" {
				t.firstErr = err.Error()
			}
			t.mu.Unlock()
			if errors.Is(err, syscall.ECONNREFUSED) {
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		t.sessions.Add(1)
		sl = append(sl, time.Since(t0))
		if info != "" && !t.tlsSeen.Load() {
			t.mu.Lock()
			if t.tlsInfo == "" {
				t.tlsInfo = info
				t.tlsSeen.Store(true)
			}
			t.mu.Unlock()
		}
	}
	t.mu.Lock()
	t.msgLat = append(t.msgLat, ml...)
	t.sessLat = append(t.sessLat, sl...)
	t.accepted = append(t.accepted, acc...)
	t.mu.Unlock()
}

// meters are the CPU counters a load reads before and after: its own, the
// server's (srvPID, 0: none) and the machine's.
type meters struct {
	srvPID      int
	self, srv   time.Duration
	machineBusy time.Duration
}

func startMeters(srvPID int) meters {
	return meters{srvPID: srvPID, self: selfCPU(), srv: procCPU(srvPID), machineBusy: machineBusy()}
}

// read sets r's CPU figures over window seconds: per message delivered to
// the sink in a relay cell, else per message accepted.
func (m meters) read(r *result, window float64, relay bool) {
	r.ClientCPU = 100 * (selfCPU() - m.self).Seconds() / window
	if m.srvPID > 0 {
		srvCPU := (procCPU(m.srvPID) - m.srv).Seconds()
		r.ServerCPU = 100 * srvCPU / window
		n := r.Msgs
		if relay {
			n = r.Delivered
		}
		if n > 0 {
			r.CPUPerMsg = 1000 * srvCPU / float64(n)
		}
	}
	r.OtherCPU = max(0, 100*(machineBusy()-m.machineBusy).Seconds()/window-r.ClientCPU-r.ServerCPU)
}

// idle opens n STARTTLS sessions, holds them, and reads the server's RSS.
func idle(o options) (result, error) {
	tcfg, err := o.tlsConfig()
	if err != nil {
		return result{}, err
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < o.idle; i++ {
		nc, err := net.DialTimeout("tcp", o.addr, 10*time.Second)
		if err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		nc.SetDeadline(time.Now().Add(60 * time.Second))
		c := &conn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
		if _, _, err := c.reply(); err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		c.cmd(250, "EHLO idle.test")
		if _, err := c.cmd(220, "STARTTLS"); err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		tc := tls.Client(nc, tcfg)
		if err := tc.Handshake(); err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		tc2 := &conn{c: tc, r: bufio.NewReader(tc), w: bufio.NewWriter(tc)}
		if _, err := tc2.cmd(250, "EHLO idle.test"); err != nil {
			return result{}, fmt.Errorf("session %d: %w", i, err)
		}
		conns = append(conns, tc)
	}
	time.Sleep(o.hold)
	return result{Label: o.label, Clients: o.idle, Sessions: int64(len(conns)), ServerRSSMB: rssMB(o.srvPID)}, nil
}

func pct(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := len(d) * p / 100
	if i >= len(d) {
		i = len(d) - 1
	}
	return float64(d[i].Microseconds()) / 1000
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time of pid and its children (live and reaped), from
// /proc, so that Postfix's many processes count.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	var total float64
	seen := map[int]bool{}
	var walk func(p int)
	walk = func(p int) {
		if seen[p] {
			return
		}
		seen[p] = true
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			return
		}
		s := string(raw)
		f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
		// utime stime cutime cstime are fields 14-17 (index 11-14 here).
		for _, i := range []int{11, 12, 13, 14} {
			v, _ := strconv.ParseFloat(f[i], 64)
			total += v
		}
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", p, p))
		for _, k := range strings.Fields(string(kids)) {
			n, _ := strconv.Atoi(k)
			walk(n)
		}
	}
	walk(pid)
	return time.Duration(total / 100 * float64(time.Second)) // USER_HZ = 100
}

// machineBusy is the CPU time all cores spent not idle, from /proc/stat.
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(raw), "\n", 2)[0])
	var busy float64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return time.Duration(busy / 100 * float64(time.Second))
}

func rssMB(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
