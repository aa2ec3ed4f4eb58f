package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"esash/config"
	"esash/store"
)

// builtin is a session-level command defined by a function.
type builtin struct {
	name, summary string
	hidden        bool
	run           func(s *Session, args []string) error
}

func (b builtin) Name() string                        { return b.name }
func (b builtin) Summary() string                     { return b.summary }
func (b builtin) Hidden() bool                        { return b.hidden }
func (b builtin) Run(s *Session, args []string) error { return b.run(s, args) }

func builtins(sh *Shell) []Command {
	exit := func(s *Session, _ []string) error { return s.exit() }
	help := func(s *Session, args []string) error { return sh.help(s, args) }
	return append([]Command{
		builtin{name: "commit", summary: "Commit changes", run: sh.commit},
		builtin{name: "clear", summary: "Clear changes", run: clearCmd},
		builtin{name: "help", summary: "Help", run: help},
		builtin{name: "?", summary: "Help", hidden: true, run: help},
		builtin{name: "exit", summary: "Exit", run: exit},
		builtin{name: "quit", summary: "Exit", run: exit},
		builtin{name: "showchanges", summary: "Show the changes that are not committed yet", run: showChanges},
		builtin{name: "commitdetail", summary: "Display detailed information about the last commit", run: commitDetail},
		builtin{name: "setttymode", summary: "Set terminal paging", hidden: true, run: setTTYMode},
	}, clearAnswers()...)
}

// Stamp formats a time as AsyncOS prints commit times: Thu Nov 26 21:00:00 2026.
func Stamp(t time.Time) string { return t.Format("Mon Jan _2 15:04:05 2006") }

func (sh *Shell) commit(s *Session, args []string) error {
	var confirmIn time.Duration
	if len(args) > 0 && strings.EqualFold(args[0], "confirmed") {
		// Beyond AsyncOS, as Junos: `commit confirmed MINUTES [comment]`.
		n := 10
		if len(args) > 1 {
			var err error
			if n, err = strconv.Atoi(args[1]); err != nil || n < 1 || n > 60 {
				return Invalid(s, "commit confirmed", "The value must be a number of minutes from 1 to 60.")
			}
			args = args[2:]
		} else {
			args = nil
		}
		confirmIn = time.Duration(n) * sh.opts.ConfirmUnit
	}
	if !s.Draft.Changed() {
		if p, ok := s.Backend().Pending(); ok && p.User == s.User && confirmIn == 0 {
			if _, err := s.Backend().Confirm(s.User, s.Source); err != nil {
				return CommitError(s, err)
			}
			s.Printf("Revision %d is confirmed and will not be rolled back.\n", p.Rev)
			return nil
		}
		s.Println("There is no data to commit.")
		return nil
	}
	comment, rollback := strings.Join(args, " "), true
	if len(args) == 0 {
		var err error
		if comment, err = s.AskOptional("Please enter some comments describing your changes:", "", nil); err != nil {
			return err
		}
		if rollback, err = s.YesNo("Do you want to save the current configuration for rollback?", true); err != nil {
			return err
		}
	}
	if confirmIn == 0 {
		return s.CommitDraft("commit", comment, rollback)
	}
	deadline := s.Now().Add(confirmIn)
	res, err := s.Draft.CommitConfirmed(s.Ctx, comment, rollback, deadline, sh.opts.Prepare)
	if err != nil {
		return CommitError(s, err)
	}
	s.reportCommit(res)
	s.Printf("Revision %d will be rolled back automatically at %s unless confirmed with \"commit\".\n", res.Rev, Stamp(deadline))
	return nil
}

// CommitError renders why a commit was refused and returns the error a
// script stops on.
func CommitError(s *Session, err error) error {
	var ce *store.ConflictError
	var ie *store.InvalidError
	var pe *store.PendingError
	switch {
	case errors.Is(err, store.ErrNoChanges):
		s.Println("There is no data to commit.")
		return nil
	case errors.As(err, &ce):
		s.Printf("Commit refused: %d of your changes conflict with changes committed since your session began (now revision %d).\n", len(ce.Conflicts), ce.Head)
		for _, c := range ce.Conflicts {
			s.Printf("  %s\n", c.Path)
			s.Printf("    base:   %s\n", showValue(c.Base, c.Secret))
			s.Printf("    theirs: %s (committed by %s)\n", showValue(c.Theirs, c.Secret), ce.Who[c.Path])
			s.Printf("    ours:   %s\n", showValue(c.Ours, c.Secret))
		}
		s.Println(`Change these settings to agree, or use "clear" to start again from the running configuration.`)
		return errors.New("commit refused: conflicting changes")
	case errors.As(err, &ie):
		errs := ie.Problems.Errors()
		s.Printf("Commit failed: the configuration has %d error(s):\n", len(errs))
		for _, p := range errs {
			s.Printf("  %s\n", p)
		}
		return errors.New("commit failed: invalid configuration")
	case errors.As(err, &pe):
		s.Printf("Commit refused: %s.\n", pe.Error())
		s.Println("Other commits wait until its author confirms it or it is rolled back.")
		return errors.New("commit refused: a confirmed commit is pending")
	case errors.Is(err, store.ErrApply):
		s.Printf("Commit failed: %s\n", s.RelativePaths(fmt.Sprint(errors.Unwrap(err))))
		s.Println("The running configuration is unchanged.")
		return errors.New("commit failed: cannot apply")
	}
	return err
}

// clearCmd is clear. With nothing staged AsyncOS asks nothing and says
// "No changes have been made" (IAF clear.py waits for either the question
// or that line), while asyncos-cli.md 17.9 says "clear asks one
// confirmation": scripts written from it send the answer regardless. So a
// script's yes/no on the very next line is taken as the answer to the
// question that was not asked (clearAnswers), and IAF's dialog is kept.
func clearCmd(s *Session, _ []string) error {
	if !s.Draft.Changed() {
		s.Println("No changes have been made.")
		if !s.In.Interactive() {
			s.clearNoopLine = s.In.Line()
		}
		return nil
	}
	ok, err := s.YesNo("Are you sure you want to clear all changes since the last commit?", true)
	if err != nil || !ok {
		return err
	}
	s.Draft.Clear()
	s.Printf("Changes cleared: %s\n", Stamp(s.shell.opts.Now()))
	return nil
}

// clearAnswers are hidden commands for the yes/no a script sends after a
// clear that had nothing to clear: on the line right after it they are
// that answer and do nothing; anywhere else they are unknown commands, as
// on AsyncOS. No command is called y, yes, n or no, so nothing is shadowed.
func clearAnswers() []Command {
	var out []Command
	for _, w := range []string{"y", "yes", "n", "no"} {
		out = append(out, builtin{name: w, summary: "Answer to clear", hidden: true, run: func(s *Session, args []string) error {
			if len(args) > 0 || s.In.Interactive() || s.clearNoopLine == 0 || s.In.Line() != s.clearNoopLine+1 {
				return fmt.Errorf("Unknown command: %s", w)
			}
			s.clearNoopLine = 0
			return nil
		}})
	}
	return out
}

func (s *Session) exit() error {
	if s.Draft.Changed() {
		ok, err := s.YesNo("You have uncommitted changes. Are you sure you want to exit and discard them?", false)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		s.Draft.Clear()
	}
	return exitRequest{0}
}

func (sh *Shell) help(s *Session, args []string) error {
	if len(args) > 0 {
		c, ok := sh.byName[strings.ToLower(args[0])]
		if !ok {
			return fmt.Errorf("Unknown command: %s", args[0])
		}
		return sh.helpCommand(s, c)
	}
	var b strings.Builder
	b.WriteString("Choose the command you want to run:\n")
	for _, c := range sh.cmds {
		if h, ok := c.(Hidden); ok && h.Hidden() {
			continue
		}
		fmt.Fprintf(&b, "%-20s %s\n", c.Name(), c.Summary())
	}
	return s.Page(b.String())
}

func showChanges(s *Session, _ []string) error {
	chs := s.Draft.Changes()
	if len(chs) == 0 {
		s.Println("No changes have been made.")
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Uncommitted changes (based on revision %d):\n", s.Draft.Base().Rev)
	writeChanges(&b, chs)
	return s.Page(b.String())
}

func commitDetail(s *Session, _ []string) error {
	revs, err := s.Backend().Revisions(1)
	if err != nil {
		return err
	}
	if len(revs) == 0 {
		s.Println("No commits.")
		return nil
	}
	r := revs[0]
	var b strings.Builder
	fmt.Fprintf(&b, "Revision: %d\nCommitted by: %s (%s)\nTime: %s\nComment: %s\n", r.Rev, r.Meta.User, r.Meta.Source, Stamp(r.Meta.Time), r.Meta.Comment)
	if r.Meta.Merged != "" {
		fmt.Fprintf(&b, "Merge: %s\n", r.Meta.Merged)
	}
	fmt.Fprintf(&b, "Changes:\n")
	writeChanges(&b, r.Changes)
	return s.Page(b.String())
}

func setTTYMode(s *Session, args []string) error {
	if len(args) < 2 {
		return errors.New("Invalid arguments when processing: setttymode <interactive 0|1> <paging 0|1>")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return fmt.Errorf("Invalid arguments when processing: %q", args[1])
	}
	s.paging = n == 0
	return nil
}

// writeChanges renders changes one per line: "path: old -> new", "+ path"
// with the new item's settings below it, "- path".
func writeChanges(b *strings.Builder, chs []config.Change) {
	for _, ch := range chs {
		switch ch.Op {
		case config.OpSet:
			fmt.Fprintf(b, "  %s: %s -> %s\n", ch.Path, showValue(ch.Old, ch.Secret), showValue(ch.New, ch.Secret))
		case config.OpAdd:
			fmt.Fprintf(b, "+ %s\n", ch.Path)
			writeItem(b, ch.New, ch.Secret)
		case config.OpRemove:
			fmt.Fprintf(b, "- %s\n", ch.Path)
		case config.OpOrder:
			// Additions and removals say it already; a pure reordering is rare.
			if !sameSet(ch.Old, ch.New) {
				continue
			}
			fmt.Fprintf(b, "  %s: order %s -> %s\n", ch.Path, ch.Old, ch.New)
		}
	}
}
