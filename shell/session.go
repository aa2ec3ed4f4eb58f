package shell

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

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
	probe   *probe           // help's probe of a command (help.go)
	// clearNoopLine is the script line of a clear that had nothing to
	// clear (see clearAnswers in builtins.go), or 0.
	clearNoopLine int
	cluster       clusterSession // the level a clustered session edits (cluster.go)
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
func (s *Session) Head() store.Snapshot { return s.backend().Head() }

// Backend is the configuration store (history, audit).
func (s *Session) Backend() store.Backend { return s.backend() }

// Now is the shell's clock (fixed in transcript tests).
func (s *Session) Now() time.Time { return s.shell.opts.Now() }

// CommitDraft commits the session's draft as a revision of the given kind
// (commit, rollback, load), applying it to the running services exactly as
// the commit command does, and prints the outcome.
func (s *Session) CommitDraft(kind, comment string, rollback bool) error {
	res, err := s.Draft.CommitKind(s.Ctx, kind, comment, rollback, s.shell.opts.Prepare)
	if err != nil {
		return CommitError(s, err)
	}
	s.reportCommit(res)
	return nil
}

func (s *Session) reportCommit(res store.Result) {
	for _, w := range res.Warnings {
		s.Printf("Warning: %s\n", w)
	}
	if len(res.MergedOver) > 0 {
		last := res.MergedOver[0]
		s.Printf("Your changes were merged over revision %d by %s.\n", last.Rev, last.Meta.User)
	}
	s.Printf("Changes committed: %s\n", Stamp(res.Snapshot.Meta.Time))
}

// ConfigFile resolves a file name an administrator typed for import or
// export: a plain name inside DataDir/configuration, never a path that
// leaves it. The message names what is accepted.
func (s *Session) ConfigFile(name string) (string, string) {
	if msg := CheckFileName(name); msg != "" {
		return "", msg
	}
	return filepath.Join(s.DataDir, "configuration", name), ""
}

// CheckFileName accepts a file name for the configuration directory.
func CheckFileName(name string) string {
	switch {
	case name == "", name == ".", name == "..":
		return "You must enter a file name."
	case strings.ContainsAny(name, "/\\\x00"), strings.HasPrefix(name, ".."):
		return "The value must be a file name in the configuration directory, without '/' or '..'."
	case len(name) > 255:
		return "The value must be a file name of at most 255 characters."
	}
	return ""
}

// Reject refuses an answer or an operation with an AsyncOS-style message:
// on a terminal it is shown and the dialog goes on (nil), in a script it
// ends the session naming the line.
func (s *Session) Reject(msg string) error { return s.invalid(msg) }

// MaxConfigFile bounds what ReadConfigFile reads: far above any table an
// administrator imports.
const MaxConfigFile = 64 << 20

// FileError is a file of the configuration directory that cannot be read
// or written. Its text is AsyncOS's message: "Error reading file." or, when
// the administrator can act on the reason, "Error reading file: <reason>.".
type FileError struct {
	Op     string // "reading" or "writing"
	Reason string // shown to the administrator; "" for a system failure
	Err    error  // the cause, never shown: it names paths of the appliance
}

func (e *FileError) Error() string {
	if e.Reason == "" {
		return "Error " + e.Op + " file."
	}
	return "Error " + e.Op + " file: " + e.Reason + "."
}

func (e *FileError) Unwrap() error { return e.Err }
