// Package shell is the AsyncOS-style command line: sessions, the main
// prompt, the dialog engine every command asks its questions through, and
// the session-level builtins (commit, clear, help, exit ...).
//
// Input comes from a LineReader (readline on a terminal, a script reader
// otherwise) and output goes to the session's writers; nothing here touches
// the process's stdin or stdout, so the same code serves the local console,
// the console socket and SSH.
package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	prompt "github.com/c-bata/go-prompt"

	"esash/store"
)

// Command is one top-level CLI command.
type Command interface {
	Name() string    // what the administrator types: "certconfig"
	Summary() string // one line for help
	// Run runs the command; args are the batch-mode arguments, empty for
	// the interactive dialog.
	Run(s *Session, args []string) error
}

// Hidden commands run but help does not list them (setttymode).
type Hidden interface{ Hidden() bool }

// Options configure a Shell.
type Options struct {
	// Prepare readies the running services for a configuration being
	// committed (the MTA's Apply); nil when nothing runs.
	Prepare store.PrepareFunc
	// Now is the clock; tests fix it.
	Now func() time.Time
	// Log records each command line run (cli_logs).
	Log func(s *Session, line string)
	// Internal records what the administrator need not see: the stack of
	// a command that panicked.
	Internal func(format string, args ...any)
	// Banner is the product and version line of an interactive
	// session's first screen (banner.go); empty shows no banner.
	Banner string
	// Cluster is the appliance's cluster; nil when standalone (cluster.go).
	Cluster Cluster
	// LeftCluster is called once this machine left its cluster
	// (clusterconfig): the daemon stops its etcd member there.
	LeftCluster func()
	// ConfirmUnit is what one of `commit confirmed MINUTES` lasts: a
	// minute; tests of real daemons shorten it (ESASH_CONFIRM_UNIT).
	ConfirmUnit time.Duration
}

// Shell holds the command table and the store sessions commit to.
type Shell struct {
	db     store.Backend
	opts   Options
	cmds   []Command
	byName map[string]Command
	// attached is the cluster joined or created while running
	// (clusterattach.go).
	attached atomic.Pointer[clusterRef]
	// sessions lists the running sessions (who).
	sessions registry
	// left: the machine left opts.Cluster; it is standalone now.
	left atomic.Bool
}

// New builds a shell over db with the given commands, plus the builtins.
func New(db store.Backend, opts Options, cmds ...Command) (*Shell, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ConfirmUnit <= 0 {
		opts.ConfirmUnit = time.Minute
	}
	sh := &Shell{db: db, opts: opts, byName: map[string]Command{}}
	all := append(builtins(sh), cmds...)
	for _, c := range all {
		name := strings.ToLower(c.Name())
		if _, dup := sh.byName[name]; dup {
			return nil, fmt.Errorf("command %q registered twice", name)
		}
		if c.Summary() == "" {
			return nil, fmt.Errorf("command %q has no summary", name)
		}
		sh.byName[name] = c
		sh.cmds = append(sh.cmds, c)
	}
	sort.Slice(sh.cmds, func(i, j int) bool { return sh.cmds[i].Name() < sh.cmds[j].Name() })
	return sh, nil
}

// Commands lists the registered commands, sorted.
func (sh *Shell) Commands() []Command { return sh.cmds }

// SessionConfig describes a new session.
type SessionConfig struct {
	Ctx     context.Context
	In      LineReader
	Out     io.Writer
	Err     io.Writer
	User    string
	Source  string
	DataDir string
	// Height is the terminal height for the pager (nil: no paging).
	Height func() int
}

// NewSession starts a session with a fresh draft at the running head.
func (sh *Shell) NewSession(c SessionConfig) *Session {
	if c.Ctx == nil {
		c.Ctx = context.Background()
	}
	s := &Session{
		Ctx: c.Ctx, In: c.In, Out: c.Out, Err: c.Err, User: c.User, Source: c.Source,
		DataDir: c.DataDir, Draft: store.NewDraft(sh.db, c.User, c.Source),
		shell: sh, paging: true, height: c.Height,
	}
	s.joinCluster()
	return s
}

// Completions are the words Tab offers at the session's current prompt:
// the menu keywords inside a dialog, the command names at the main prompt.
func (s *Session) Completions() []prompt.Suggest {
	if s.choices != nil {
		return s.choices
	}
	var out []prompt.Suggest
	for _, c := range s.shell.cmds {
		if h, ok := c.(Hidden); ok && h.Hidden() {
			continue
		}
		out = append(out, prompt.Suggest{Text: c.Name(), Description: c.Summary()})
	}
	return out
}

// Prompt is the main prompt: the committed hostname.
func (s *Session) Prompt() string {
	if p := s.clusterPrompt(); p != "" {
		return p
	}
	return s.Head().Config.Hostname + "> "
}

// exitRequest ends the session with a code (exit, quit).
type exitRequest struct{ code int }

func (e exitRequest) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run reads commands until the session ends and returns the exit status:
// 0, 1 when a script failed, 2 when input ended with uncommitted changes.
func (sh *Shell) Run(s *Session) int {
	defer sh.sessions.track(s)()
	for {
		line, err := s.In.ReadCommand(s.Prompt())
		switch {
		case errors.Is(err, ErrInterrupt):
			continue
		case err != nil:
			return s.endOfInput()
		}
		// A draft without changes follows the head when the command
		// arrives: a session may sit at its prompt while others commit.
		s.Draft.Refresh()
		if done, code := sh.runLine(s, line); done {
			return code
		}
	}
}

// RunBatch runs `;`-separated commands, as `esash -c` and `ssh esa 'cmd'`.
// Dialog answers, if a command asks any, come from the session's input.
func (sh *Shell) RunBatch(s *Session, line string) int {
	defer sh.sessions.track(s)()
	if done, code := sh.runLine(s, line); done {
		return code
	}
	return s.endOfInput()
}

func (s *Session) endOfInput() int {
	if s.Draft.Changed() {
		s.Errorf("esash: end of input with uncommitted changes: they were discarded")
		s.Draft.Clear()
		return 2
	}
	return 0
}

// runLine runs each command of a line; done reports the end of the session.
func (sh *Shell) runLine(s *Session, line string) (done bool, code int) {
	for _, cmd := range SplitCommands(line) {
		if sh.opts.Log != nil {
			sh.opts.Log(s, cmd)
		}
		err := sh.exec(s, cmd)
		var ex exitRequest
		var ie *InputError
		switch {
		case err == nil || errors.Is(err, ErrBack):
		case errors.As(err, &ex):
			return true, ex.code
		case errors.As(err, &ie):
			s.Errorf("esash: line %d: %s", ie.Line, ie.Msg)
			return true, s.abortScript()
		case errors.Is(err, ErrInterrupt):
			s.Println()
			s.Println("-- Changes not recorded.")
		default:
			s.Println(s.errorText(err))
			if !s.In.Interactive() {
				s.Errorf("esash: line %d: %s", s.In.Line(), s.errorText(err))
				return true, s.abortScript()
			}
		}
	}
	return false, 0
}

// abortScript drops the session's uncommitted changes: a script that
// failed halfway must leave nothing staged behind.
func (s *Session) abortScript() int {
	if s.Draft.Changed() {
		s.Errorf("esash: uncommitted changes were discarded")
	}
	s.Draft.Clear()
	return 1
}

func (s *Session) errorText(err error) string {
	msg := s.RelativePaths(err.Error())
	if msg == "" {
		return "Error."
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// RelativePaths rewrites paths under the data directory in msg relative
// to it ("open logs/cli_logs/..."): where the appliance keeps its data is
// none of an administrator's concern, and errors from the file system
// carry absolute paths (issue 12, item 11).
func (s *Session) RelativePaths(msg string) string {
	if s.DataDir == "" {
		return msg
	}
	dirs := []string{s.DataDir}
	if abs, err := filepath.Abs(s.DataDir); err == nil && abs != s.DataDir {
		dirs = append(dirs, abs)
	}
	for _, d := range dirs {
		d = strings.TrimSuffix(d, string(filepath.Separator))
		if d == "" || d == "." {
			continue
		}
		msg = strings.ReplaceAll(msg, d+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, d, "the data directory")
	}
	return msg
}

// exec runs one command; Ctrl-C or a panic leave the draft as it was
// before the command started.
func (sh *Shell) exec(s *Session, line string) (err error) {
	args, err := Fields(line)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return nil
	}
	s.leftCluster()
	cmd, ok := sh.byName[strings.ToLower(args[0])]
	if !ok {
		return fmt.Errorf("Unknown command: %s", args[0])
	}
	if err := s.permit(cmd); err != nil {
		return err
	}
	start, err := s.clusterQuestions(strings.ToLower(cmd.Name()))
	if err != nil {
		return err
	}
	saved := s.Draft.Save()
	defer func() {
		if r := recover(); r != nil {
			s.Draft.Restore(saved)
			s.Errorf("esash: internal error in %s: %v", cmd.Name(), r)
			if sh.opts.Internal != nil {
				sh.opts.Internal("panic in %s: %v\n%s", cmd.Name(), r, debug.Stack())
			}
			err = fmt.Errorf("internal error in %s; its changes were not recorded", cmd.Name())
		}
		if errors.Is(err, ErrInterrupt) {
			s.Draft.Restore(saved)
		}
	}()
	if start != nil {
		if err := start(); err != nil {
			return err
		}
	}
	return s.afterCommand(saved, cmd.Run(s, args[1:]))
}
