package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"esash/commands/grep"
	"esash/commands/showqueue"
	"esash/commands/tail"
	"esash/console"
	"esash/mta/queue"
	"esash/shell"
)

// runShell is `esash`: attach to the daemon of the data directory, or run
// the appliance in-process when none runs.
func runShell(ctx context.Context, o options, stdin *os.File, stdout, stderr io.Writer) int {
	sock := filepath.Join(o.dataDir, socketFile)
	if conn, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		defer conn.Close()
		return attach(conn, o, stdin, stdout, stderr)
	}
	o.script = o.batch != nil || !term.IsTerminal(int(stdin.Fd()))
	a, err := openAppliance(o)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
		return 1
	}
	defer a.Close()
	a.warnBoot(stderr)
	isTerm := term.IsTerminal(int(stdin.Fd()))
	if isTerm && o.batch == nil {
		a.startConsoleServices(ctx, stderr)
	}
	source := "script"
	if isTerm {
		source = "console"
		// Ctrl-C belongs to the session (readline sees it as a key while
		// reading); it must never kill the appliance.
		signal.Ignore(syscall.SIGINT)
		defer signal.Reset(syscall.SIGINT)
	}
	c := shell.Conn{
		Ctx: ctx, Stdout: stdout, Stderr: stderr, Terminal: isTerm,
		User: "admin", Source: source, DataDir: o.dataDir, HistoryFile: a.historyFile("admin"),
		Batch: o.batch,
		Height: func() int {
			_, h, err := term.GetSize(int(stdin.Fd()))
			if err != nil {
				return 24
			}
			return h
		},
	}
	if !isTerm {
		c.Stdin = stdin
	}
	a.firstStartNotice(c)
	code, err := a.shell.Serve(c)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
	}
	return code
}

// startConsoleServices starts SSH and HTTPS for the life of an
// interactive console on an appliance run in-process (`make run`), so
// that it is reachable as under `esash serve`; scripts and -c, which come
// and go, do not open them. A service that cannot start is reported and
// the console goes on. The SSH server's lines are waited for (briefly:
// the first start generates host keys) so that they come before the
// prompt rather than across it. The appliance's Close stops them.
func (a *appliance) startConsoleServices(ctx context.Context, stderr io.Writer) {
	// The services' own lines go to system_logs, not across the first
	// screen (syslogs.go); what keeps one from starting is shown.
	lines := &serviceWriter{log: a.logs.system}
	if err := a.startSSH(ctx, lines); err != nil {
		fmt.Fprintf(stderr, "esash: ssh not started: %v\n", err)
	} else {
		select {
		case <-a.ssh.started:
		case <-time.After(2 * time.Second):
		}
	}
	if err := a.startWeb(lines); err != nil {
		fmt.Fprintf(stderr, "esash: https not started: %v\n", err)
	}
	if err := a.startACME(); err != nil {
		fmt.Fprintf(stderr, "esash: acme not started: %v\n", err)
	}
	fmt.Fprintln(stderr, "esash: SSH and HTTPS are served while this console is open; `esash serve` keeps them running.")
}

// attach proxies this terminal (or script) to the daemon's console.
func attach(conn net.Conn, o options, stdin *os.File, stdout, stderr io.Writer) int {
	fd := int(stdin.Fd())
	h := console.Hello{Terminal: term.IsTerminal(fd), User: "admin"}
	if o.batch != nil {
		h.Batch, h.HasBatch = *o.batch, true
	}
	var resize chan [2]int
	if h.Terminal {
		h.Cols, h.Rows, _ = term.GetSize(fd)
		old, err := term.MakeRaw(fd)
		if err != nil {
			fmt.Fprintf(stderr, "esash: terminal: %v\n", err)
			return 1
		}
		defer term.Restore(fd, old)
		resize = make(chan [2]int, 1)
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for range winch {
				if w, ht, err := term.GetSize(fd); err == nil {
					select {
					case resize <- [2]int{w, ht}:
					default:
					}
				}
			}
		}()
	}
	code, err := console.Attach(conn, h, stdin, stdout, stderr, resize)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
	}
	return code
}

// runDaemon is `esash serve`: own the data directory and serve consoles
// until SIGTERM or SIGINT.
func runDaemon(ctx context.Context, o options, stderr io.Writer) int {
	a, err := openAppliance(o)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
		return 1
	}
	defer func() {
		if err := a.Close(); err != nil {
			fmt.Fprintf(stderr, "esash: shutdown: %v\n", err)
		}
	}()
	a.warnBoot(stderr)
	if o.adminKey != "" {
		if err := a.addAdminKeys(ctx, o.adminKey, stderr); err != nil {
			fmt.Fprintf(stderr, "esash: %v\n", err)
			return 1
		}
	}
	// The daemon's stderr is its log; system_logs keeps the same lines.
	lines := io.MultiWriter(stderr, &serviceWriter{log: a.logs.system})
	if err := a.startSSH(ctx, lines); err != nil {
		fmt.Fprintf(stderr, "esash: ssh: %v\n", err)
		return 1
	}
	if err := a.startWeb(lines); err != nil {
		fmt.Fprintf(stderr, "esash: https: %v\n", err)
		return 1
	}
	if err := a.startACME(); err != nil {
		fmt.Fprintf(stderr, "esash: acme: %v\n", err)
		return 1
	}
	sock := filepath.Join(o.dataDir, socketFile)
	// We hold the database lock, so a socket file left here is stale.
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintf(stderr, "esash: console socket: %v\n", err)
		return 1
	}
	defer os.Remove(sock)
	if err := os.Chmod(sock, 0o600); err != nil {
		fmt.Fprintf(stderr, "esash: console socket: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	consoles := console.NewAcceptor(ln, a.serveConsole)
	if err := a.services.Started("console", consoles); err != nil {
		fmt.Fprintf(stderr, "esash: console socket: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "esash: serving %s (console %s)\n", o.dataDir, sock)
	// Until SIGTERM or SIGINT; then Close (deferred above) stops the
	// consoles, HTTPS, SSH, the watcher and the MTA, in that order.
	if err := consoles.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "esash: console socket: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "esash: stopped")
	return 0
}

// serveConsole runs one attached console; the acceptor closes conn after.
func (a *appliance) serveConsole(ctx context.Context, conn net.Conn) {
	cs, err := console.Accept(conn)
	if err != nil {
		return
	}
	defer cs.Stdin.Close()
	user := "admin"
	source := "script"
	if cs.Hello.Terminal {
		source = "console"
	}
	c := shell.Conn{
		Ctx: ctx, Stdin: cs.Stdin, Stdout: cs.Stdout, Stderr: cs.Stderr,
		Terminal: cs.Hello.Terminal, Remote: true, Width: cs.Width, Height: cs.Height,
		OnResize: cs.OnResize, User: user, Source: source, DataDir: a.dir,
		HistoryFile: a.historyFile(user),
	}
	if cs.Hello.HasBatch {
		c.Batch = &cs.Hello.Batch
	}
	a.firstStartNotice(c)
	code, err := a.shell.Serve(c)
	if err != nil {
		fmt.Fprintf(cs.Stderr, "esash: %v\n", err)
	}
	cs.Exit(code)
}

// The logs the shell's tail and grep read: what this appliance writes.
func (a *appliance) tailLogs() []tail.Log {
	return []tail.Log{
		{Name: "cli_logs", Prefix: "cli", Type: "CLI Audit Logs", Live: a.cliLog},
		{Name: "gui_logs", Prefix: "gui", Type: "HTTP Logs", Live: a.logs.gui},
		{Name: "mail_logs", Prefix: "mail", Type: "Text Mail Logs", Live: a.mailLog()},
		{Name: "system_logs", Prefix: "system", Type: "System Logs", Live: a.logs.system},
	}
}

func (a *appliance) grepLogs() []grep.Log {
	var out []grep.Log
	for _, l := range a.tailLogs() {
		out = append(out, grep.Log{Name: l.Name, Prefix: l.Prefix, Type: l.Type, Live: l.Live})
	}
	return out
}

// queueView adapts the MTA's queue to what showqueue reads: commands never
// import the MTA. The queue is the running MTA's, or in a script with no
// MTA the queue opened alone (mtahandle.go); an error shows as empty.
type queueView struct {
	open func() (*queue.Queue, error)
}

// fixedQueue is a queueView of one queue (the benchmark's).
func fixedQueue(q *queue.Queue) queueView {
	return queueView{func() (*queue.Queue, error) { return q, nil }}
}

// Overview reads the counts the queue keeps (no message is copied) and
// the n messages the delivery scan takes first, at one moment.
func (v queueView) Overview(topDomains, n int) (showqueue.Summary, []showqueue.Message) {
	q, err := v.open()
	if err != nil {
		return showqueue.Summary{}, nil
	}
	st, list := q.Overview(topDomains, n)
	out := showqueue.Summary{Messages: st.Messages, Recipients: st.Recipients, Bytes: st.Bytes,
		DomainCount: st.DomainCount, OldestMID: st.OldestMID, OldestTime: st.OldestTime, Loading: st.Loading}
	for _, d := range st.Domains {
		out.Domains = append(out.Domains, showqueue.Domain{Name: d.Domain, Messages: d.Messages, Recipients: d.Recipients})
	}
	next := make([]showqueue.Message, len(list))
	for i, m := range list {
		next[i] = queueMessage(m)
	}
	return out, next
}

// Message is one queued message.
func (v queueView) Message(mid int64) (showqueue.Message, bool) {
	q, err := v.open()
	if err != nil {
		return showqueue.Message{}, false
	}
	m, ok := q.Get(mid)
	if !ok {
		return showqueue.Message{}, false
	}
	return queueMessage(m), true
}

func queueMessage(m queue.Meta) showqueue.Message {
	out := showqueue.Message{
		MID: m.MID, ICID: m.ICID, Time: m.Time, Size: m.Size, From: m.From, To: m.To,
		Listener: m.Listener, RemoteIP: m.RemoteIP, RemoteHost: m.RemoteHost, HELO: m.HELO,
		Attempts: m.Attempts, NextTry: m.NextTry,
	}
	if m.TLS != nil {
		out.TLS = m.TLS.Version + " " + m.TLS.Cipher
	}
	return out
}

// Received reads a message's Received header, which the queue's index
// does not hold.
func (v queueView) Received(mid int64) string {
	q, err := v.open()
	if err != nil {
		return ""
	}
	r, _ := q.Received(mid)
	return r
}

// warnBoot tells the administrator which mail listeners the committed
// configuration could not start; the shell stays usable to fix them.
func (a *appliance) warnBoot(stderr io.Writer) {
	if a.bootErr != nil {
		fmt.Fprintf(stderr, "esash: warning: the MTA could not start every listener:\n%v\n", a.bootErr)
	}
}
