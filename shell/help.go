package shell

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"esash/store"
)

// `help COMMAND` says what the command does, the operations its first
// menu offers (or the first question it asks) and its batch form. The
// operations are not written twice: help runs the command in a probe
// session whose first read stops it, and reports the menu or question it
// reached. No command changes anything before its first answer (the
// commit engine stages only completed operations, and the probe's draft
// is thrown away), so the probe is as safe as typing the command and a
// blank line.

// BatchUsage is implemented by commands that describe their batch forms
// themselves; the others are described by batchForms.
type BatchUsage interface{ BatchUsage() string }

// errProbe stops a probed command at its first read.
var errProbe = errors.New("help probe")

// probe is what a probed command showed before its first read.
type probe struct {
	ops      []MenuItem // the first menu's operations
	question string     // else the first question asked
	prompt   string     // and the prompt it read at
}

func (sh *Shell) helpCommand(s *Session, c Command) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s - %s\n", c.Name(), c.Summary())
	// A command the session may not run is not probed: its menu header
	// could show what the role may not see.
	if _, isBuiltin := c.(builtin); !isBuiltin && s.permit(c) == nil {
		p := sh.probe(s, c)
		switch {
		case len(p.ops) > 0:
			b.WriteString("\nOperations:\n")
			for _, it := range p.ops {
				if !it.Hidden {
					fmt.Fprintf(&b, "  %-16s %s\n", it.Name, it.Help)
				}
			}
		case p.question != "":
			fmt.Fprintf(&b, "\nFirst question:\n  %s\n", p.question)
		default:
			b.WriteString("\nIt asks no question: it prints its output and returns.\n")
		}
	}
	b.WriteString("\nBatch form:\n")
	usage, ok := batchForms[c.Name()]
	if u, has := c.(BatchUsage); has {
		usage, ok = u.BatchUsage(), true
	}
	if !ok {
		usage = "none: in a script, the answers follow the command, one a line."
	}
	for _, l := range strings.Split(usage, "\n") {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return s.Page(b.String())
}

// probe runs c until its first read, on a draft of its own, its output
// thrown away.
func (sh *Shell) probe(s *Session, c Command) (p probe) {
	out := &lastLine{}
	ps := &Session{
		Ctx: s.Ctx, In: probeReader{&p}, Out: out, Err: io.Discard, User: s.User, Source: s.Source,
		DataDir: s.DataDir, Draft: store.NewDraft(sh.db, s.User, s.Source), shell: sh, probe: &p,
	}
	defer func() {
		if recover() != nil {
			p = probe{}
		}
	}()
	if err := c.Run(ps, nil); errors.Is(err, errProbe) && len(p.ops) == 0 {
		p.question = strings.TrimSpace(out.last + " " + p.prompt)
	}
	return p
}

// lastLine keeps the last non-blank line written: the question a command
// printed before its first read.
type lastLine struct {
	last    string
	partial string
}

func (l *lastLine) Write(b []byte) (int, error) {
	lines := strings.Split(l.partial+string(b), "\n")
	l.partial = lines[len(lines)-1]
	for _, ln := range lines[:len(lines)-1] {
		if t := strings.TrimSpace(ln); t != "" {
			l.last = t
		}
	}
	return len(b), nil
}

// probeReader stops the probed command at its first read; a passphrase
// prompt is the question itself.
type probeReader struct{ p *probe }

func (r probeReader) ReadLine(p string) (string, error) {
	r.p.prompt = p
	return "", errProbe
}
func (r probeReader) ReadCommand(p string) (string, error) { return r.ReadLine(p) }
func (r probeReader) ReadSecret(p string) (string, error)  { return r.ReadLine(p) }
func (probeReader) ReadKey(string) error                   { return errProbe }
func (probeReader) Interactive() bool                      { return true }
func (probeReader) Line() int                              { return 0 }
func (probeReader) Close() error                           { return nil }
