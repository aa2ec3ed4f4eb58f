package shell

import (
	"context"
	"fmt"
	"io"
	"strings"

	prompt "github.com/c-bata/go-prompt"

	"esash/store"
)

// Session is one administrator's login: its input, its output and its
// draft. Commands receive it and use its dialog helpers for every question.
type Session struct {
	Ctx    context.Context
	In     LineReader
	Out    io.Writer
	Err    io.Writer
	Draft  *store.Draft
	User   string
	Source string // console, script, ssh:<ip>
	// DataDir is the appliance's data directory; commands read and write
	// files for import and export under DataDir/configuration.
	DataDir string

	shell   *Shell
	paging  bool
	height  func() int
	choices []prompt.Suggest // what Tab completes at the current question
}

// Printf writes to the session's output.
func (s *Session) Printf(format string, args ...any) {
	fmt.Fprintf(s.Out, format, args...)
}

// Println writes one line to the session's output.
func (s *Session) Println(args ...any) {
	fmt.Fprintln(s.Out, args...)
}

// Errorf writes a diagnostic line.
func (s *Session) Errorf(format string, args ...any) {
	fmt.Fprintf(s.Err, format+"\n", args...)
}

// Head is the running configuration's hostname-bearing snapshot.
func (s *Session) Head() store.Snapshot { return s.shell.db.Head() }

// Backend is the configuration store (history, audit).
func (s *Session) Backend() store.Backend { return s.shell.db }

// Page writes text, pausing every screenful on a terminal with paging on.
func (s *Session) Page(text string) error {
	if !s.paging || !s.In.Interactive() || s.height == nil {
		_, err := io.WriteString(s.Out, text)
		return err
	}
	h := s.height() - 1
	if h < 2 {
		h = 23
	}
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if i > 0 && i%h == 0 && i < len(lines)-1 {
			if err := s.In.ReadKey("-Press Any Key For More-"); err != nil {
				return err
			}
		}
		io.WriteString(s.Out, l)
	}
	return nil
}
