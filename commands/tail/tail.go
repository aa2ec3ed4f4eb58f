// Package tail is the tail command: the last lines of one of the
// appliance's logs, then, on a terminal, every new line until Ctrl-C.
// `tail` alone asks which log from a numbered list; `tail mail_logs` is the
// batch form. In a script it prints the last lines and returns.
package tail

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"esash/maillog"
	"esash/shell"
)

// Log is one log subscription the appliance keeps.
type Log struct {
	Name   string // mail_logs
	Prefix string // mail: files are <prefix>.current and rotations
	Type   string // "Text Mail Logs", as the list shows it
	// Live is the running log for following new lines; nil when the log
	// is written by no one in this process.
	Live *maillog.Log
}

// Options are the logs tail can show.
type Options struct {
	Dir  string // the log root: DATA/logs
	Logs []Log
	// Lines is how many old lines are shown first (10).
	Lines int
}

// Command is tail.
type Command struct{ o Options }

// New returns the tail command.
func New(o Options) Command {
	if o.Lines == 0 {
		o.Lines = 10
	}
	return Command{o: o}
}

// Name implements shell.Command.
func (Command) Name() string { return "tail" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Continuously display the end of a log file." }

// Run implements shell.Command.
func (c Command) Run(s *shell.Session, args []string) error {
	var lg Log
	if len(args) > 0 {
		if len(args) > 1 {
			return shell.Invalid(s, "tail", "Unable to tail: give one log name, for example: tail mail_logs")
		}
		var ok bool
		if lg, ok = Find(c.o.Logs, args[0]); !ok {
			return shell.Invalid(s, "tail", fmt.Sprintf("Unable to tail: unknown log %q. Known logs: %s.", args[0], Names(c.o.Logs)))
		}
	} else {
		var err error
		if lg, err = ChooseLog(s, c.o.Logs, "Enter the number of the log you wish to tail."); err != nil {
			return err
		}
	}
	return Follow(s, c.o.Dir, lg, c.o.Lines, nil)
}

// Find looks a log up by name or list number.
func Find(logs []Log, name string) (Log, bool) {
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(logs) {
		return logs[n-1], true
	}
	for _, l := range logs {
		if strings.EqualFold(l.Name, name) {
			return l, true
		}
	}
	return Log{}, false
}

// Names lists the log names for messages.
func Names(logs []Log) string {
	var n []string
	for _, l := range logs {
		n = append(n, l.Name)
	}
	return strings.Join(n, ", ")
}

// ChooseLog shows the numbered list of logs and asks for one, by number
// or name.
func ChooseLog(s *shell.Session, logs []Log, question string) (Log, error) {
	s.Println("Currently configured logs:")
	for i, l := range logs {
		s.Printf("%d. %q Type: %q Retrieval: Manual Download\n", i+1, l.Name, l.Type)
	}
	ans, err := s.Ask(question, "", func(a string) string {
		if _, ok := Find(logs, a); !ok {
			return fmt.Sprintf("The value must be a number from 1 to %d or one of the log names listed.", len(logs))
		}
		return ""
	})
	if err != nil {
		return Log{}, err
	}
	lg, _ := Find(logs, ans)
	return lg, nil
}

// Follow prints the last n lines of the log matching keep (nil: all), then
// on a terminal every new matching line until Ctrl-C or the end of input.
func Follow(s *shell.Session, dir string, lg Log, n int, keep func(string) bool) error {
	interactive := s.In.Interactive()
	var lines <-chan string
	if interactive && lg.Live != nil {
		var cancel func()
		lines, cancel = lg.Live.Subscribe() // before reading the file: no gap
		defer cancel()
		s.Println("Press Ctrl-C to stop.")
	}
	old, err := maillog.Tail(dir, lg.Name, lg.Prefix, n)
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // nothing logged yet: empty
		return fmt.Errorf("Unable to tail %s: %v", lg.Name, err)
	}
	for _, l := range old {
		if keep == nil || keep(l) {
			s.Println(l)
		}
	}
	if lines == nil {
		return nil
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return
				}
				if keep == nil || keep(l) {
					s.Println(l)
				}
			case <-stop:
				return
			case <-s.Ctx.Done():
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for {
		_, err := s.In.ReadLine("")
		if err != nil {
			// Ctrl-C ends the tail, not the command's caller: back to
			// the prompt with nothing to record.
			return nil
		}
	}
}
