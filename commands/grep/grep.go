// Package grep is the grep command: the lines of a log that match an
// extended regular expression, across its rotated files. Interactive: the
// log from a numbered list, the expression, case (in)sensitivity, whether
// to follow new lines, whether to paginate. Batch, as AsyncOS takes it:
//
//	grep -e REGEX [-c] [-C N] [-f PATTERN] [-i] [-p] [-t] LOG
package grep

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"esash/maillog"
	"esash/shell"
)

// Log is one log subscription the appliance keeps.
type Log struct {
	Name   string // mail_logs
	Prefix string // mail
	Type   string // "Text Mail Logs"
	Live   *maillog.Log
}

// Options are the logs grep can search.
type Options struct {
	Dir  string // DATA/logs
	Logs []Log
}

// Command is grep.
type Command struct{ o Options }

// New returns the grep command.
func New(o Options) Command { return Command{o: o} }

// Name implements shell.Command.
func (Command) Name() string { return "grep" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Search for text in a log file." }

// query is one search.
type query struct {
	log         Log
	expr        string
	insensitive bool
	count       bool
	context     int
	files       string
	paginate    bool
	tail        bool
}

// Run implements shell.Command.
func (c Command) Run(s *shell.Session, args []string) error {
	var q query
	var err error
	if len(args) > 0 {
		q, err = c.parse(s, args)
	} else {
		q, err = c.ask(s)
	}
	if err != nil {
		return err
	}
	return c.search(s, q)
}

func (c Command) find(name string) (Log, bool) {
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(c.o.Logs) {
		return c.o.Logs[n-1], true
	}
	for _, l := range c.o.Logs {
		if strings.EqualFold(l.Name, name) {
			return l, true
		}
	}
	return Log{}, false
}

func (c Command) names() string {
	var n []string
	for _, l := range c.o.Logs {
		n = append(n, l.Name)
	}
	return strings.Join(n, ", ")
}

const usage = `usage: grep -e REGEX [-c] [-C N] [-f PATTERN] [-i] [-p] [-t] LOG`

func (c Command) parse(s *shell.Session, args []string) (query, error) {
	var q query
	bad := func(msg string) (query, error) { return query{}, shell.Invalid(s, "grep", msg+"; "+usage) }
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, bool) {
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "-e":
			v, ok := next()
			if !ok {
				return bad("-e needs a regular expression")
			}
			q.expr = v
		case "-c":
			q.count = true
		case "-C":
			v, ok := next()
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 0 || n > 1000 {
				return bad("-C needs a number of lines from 0 to 1000")
			}
			q.context = n
		case "-f":
			v, ok := next()
			if !ok {
				return bad("-f needs a file name pattern")
			}
			q.files = v
		case "-i":
			q.insensitive = true
		case "-p":
			q.paginate = true
		case "-t":
			q.tail = true
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				return bad(fmt.Sprintf("unknown option %s", a))
			}
			rest = append(rest, a)
		}
	}
	if q.expr == "" && len(rest) == 2 {
		q.expr, rest = rest[0], rest[1:]
	}
	if q.expr == "" {
		return bad("no regular expression")
	}
	if len(rest) != 1 {
		return bad("name one log")
	}
	lg, ok := c.find(rest[0])
	if !ok {
		return bad(fmt.Sprintf("Unable to grep: unknown log %q (known: %s)", rest[0], c.names()))
	}
	q.log = lg
	if _, err := compile(q); err != nil {
		return bad(err.Error())
	}
	return q, nil
}

func (c Command) ask(s *shell.Session) (query, error) {
	var q query
	s.Println("Currently configured logs:")
	for i, l := range c.o.Logs {
		s.Printf("%d. %q Type: %q Retrieval: Manual Download\n", i+1, l.Name, l.Type)
	}
	ans, err := s.Ask("Enter the number of the log you wish to grep.", "", func(a string) string {
		if _, ok := c.find(a); !ok {
			return fmt.Sprintf("The value must be a number from 1 to %d or one of the log names listed.", len(c.o.Logs))
		}
		return ""
	})
	if err != nil {
		return q, err
	}
	q.log, _ = c.find(ans)
	if q.expr, err = s.Ask("Enter the regular expression to grep.", "", func(a string) string {
		if _, err := regexp.Compile(a); err != nil {
			return "The value must be a valid regular expression: " + err.Error()
		}
		return ""
	}); err != nil {
		return q, err
	}
	if q.insensitive, err = s.YesNo("Do you want this search to be case insensitive?", true); err != nil {
		return q, err
	}
	if q.tail, err = s.YesNo("Do you want to tail the logs?", false); err != nil {
		return q, err
	}
	if q.paginate, err = s.YesNo("Do you want to paginate the output?", false); err != nil {
		return q, err
	}
	return q, nil
}

func compile(q query) (*regexp.Regexp, error) {
	expr := q.expr
	if q.insensitive {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %v", err)
	}
	return re, nil
}

func (c Command) search(s *shell.Session, q query) error {
	re, err := compile(q)
	if err != nil {
		return err
	}
	var out strings.Builder
	matches := 0
	var before []string // the last q.context lines, for context
	after := 0
	lastPrinted := -1
	n := 0
	err = maillog.Grep(c.o.Dir, q.log.Name, q.log.Prefix, nil, q.files, func(file, line string) bool {
		n++
		if re.MatchString(line) {
			matches++
			if !q.count {
				if q.context > 0 && lastPrinted >= 0 && n-len(before)-1 > lastPrinted {
					out.WriteString("--\n")
				}
				for _, b := range before {
					out.WriteString(b + "\n")
				}
				out.WriteString(line + "\n")
				lastPrinted = n
			}
			before = before[:0]
			after = q.context
			return true
		}
		if after > 0 && !q.count {
			out.WriteString(line + "\n")
			lastPrinted = n
			after--
			return true
		}
		if q.context > 0 {
			if len(before) == q.context {
				before = before[1:]
			}
			before = append(before, line)
		}
		return true
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("Unable to grep %s: %v", q.log.Name, err)
	}
	switch {
	case q.count:
		s.Printf("%d\n", matches)
	case matches == 0 && !q.tail:
		s.Println("No results were found.")
	case q.paginate:
		if err := s.Page(out.String()); err != nil {
			return err
		}
	default:
		s.Printf("%s", out.String())
	}
	if q.tail {
		return follow(s, q.log, re)
	}
	return nil
}

// follow shows new matching lines until Ctrl-C (terminals only: a script
// has nothing to wait for).
func follow(s *shell.Session, lg Log, re *regexp.Regexp) error {
	if !s.In.Interactive() || lg.Live == nil {
		return nil
	}
	lines, cancel := lg.Live.Subscribe()
	defer cancel()
	s.Println("Press Ctrl-C to stop.")
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return
				}
				if re.MatchString(l) {
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
		if _, err := s.In.ReadLine(""); err != nil {
			return nil
		}
	}
}
