package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/term"

	"esash/console"
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
	a, err := openAppliance(o)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
		return 1
	}
	defer a.Close()
	isTerm := term.IsTerminal(int(stdin.Fd()))
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
	code, err := a.shell.Serve(c)
	if err != nil {
		fmt.Fprintf(stderr, "esash: %v\n", err)
	}
	return code
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
	defer a.Close()
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
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	fmt.Fprintf(stderr, "esash: serving %s (console %s)\n", o.dataDir, sock)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "esash: stopped")
				return 0
			}
			if errors.Is(err, net.ErrClosed) {
				return 1
			}
			continue
		}
		go a.serveConsole(ctx, conn)
	}
}

func (a *appliance) serveConsole(ctx context.Context, conn net.Conn) {
	defer conn.Close()
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
	code, err := a.shell.Serve(c)
	if err != nil {
		fmt.Fprintf(cs.Stderr, "esash: %v\n", err)
	}
	cs.Exit(code)
}
