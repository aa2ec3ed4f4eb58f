package shell

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	prompt "github.com/c-bata/go-prompt"
	"github.com/chzyer/readline"
)

// TermOptions describe the terminal a session runs on.
type TermOptions struct {
	// Stdin and Stdout are the terminal; nil means the process's own.
	Stdin  io.ReadCloser
	Stdout io.Writer
	// Remote terminals (SSH, the console socket) have no local tty: the
	// shell must not touch terminal modes, and gets the width from Width.
	Remote bool
	Width  func() int
	// OnResize registers a callback for window size changes.
	OnResize func(func())
	// HistoryFile keeps the user's command history.
	HistoryFile string
}

// TermReader is the readline-backed LineReader for terminals.
type TermReader struct {
	rl       *readline.Instance
	anyKey   atomic.Bool  // the pager waits: any key ends the line
	key      atomic.Int32 // the key that ended the pager's wait
	complete func() []prompt.Suggest
	n        int
	capped   *lineCapReader // nil on the process's own terminal
	// stdin is readline's input made cancelable: Close ends a read in
	// progress (see Close).
	stdin *readline.CancelableStdin
	paste *pasteState // nil on the process's own terminal
}

// NewTermReader starts readline on a terminal. complete supplies the
// words that Tab completes at the current prompt.
func NewTermReader(o TermOptions, complete func() []prompt.Suggest) (*TermReader, error) {
	t := &TermReader{complete: complete}
	stdout := o.Stdout
	if o.Stdin != nil && o.Stdout != nil {
		t.capped = &lineCapReader{r: o.Stdin}
		o.Stdin = t.capped
		t.paste = &pasteState{in: t.capped, out: &muteWriter{w: o.Stdout}}
		stdout = t.paste.out
	}
	var in io.Reader = os.Stdin
	if o.Stdin != nil {
		in = o.Stdin
	}
	t.stdin = readline.NewCancelableStdin(in)
	cfg := &readline.Config{
		HistoryFile:     o.HistoryFile,
		HistoryLimit:    1000,
		AutoComplete:    completer{t},
		InterruptPrompt: "^C",
		Stdin:           t.stdin,
		Stdout:          stdout,
		Stderr:          o.Stdout,
		FuncFilterInputRune: func(r rune) (rune, bool) {
			if t.paste != nil {
				t.paste.filter(r)
			}
			if t.anyKey.Load() && r != readline.CharInterrupt {
				// The pager: any key ends the wait, and which key
				// decides whether the output goes on (q leaves it).
				t.key.Store(r)
				return readline.CharEnter, true
			}
			return r, true
		},
		DisableAutoSaveHistory: true,
	}
	if o.Remote {
		noop := func() error { return nil }
		cfg.FuncIsTerminal = func() bool { return true }
		cfg.FuncMakeRaw, cfg.FuncExitRaw = noop, noop
		cfg.FuncGetWidth = o.Width
		cfg.FuncOnWidthChanged = o.OnResize
		cfg.ForceUseInteractive = true
	}
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, err
	}
	t.rl = rl
	if t.paste != nil {
		t.paste.rl.Store(rl)
	}
	return t, nil
}

func (t *TermReader) read(p string, history bool) (string, error) {
	t.rl.SetPrompt(p)
	line, err := t.rl.Readline()
	if err != nil && t.paste != nil {
		t.paste.lineDone("", "")
	}
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case err != nil:
		return "", io.EOF
	}
	t.n++
	if t.paste != nil {
		t.paste.lineDone(p, line)
	}
	if t.capped != nil && utf8.RuneCountInString(line) > MaxTermLine {
		// A cut line is never run: a command missing its end could do
		// something else than was meant. Ctrl-C's meaning: back to the
		// prompt, nothing changed.
		fmt.Fprintf(t.rl.Stdout(), "The line is longer than %d characters: it was discarded.\n", MaxTermLine)
		return "", ErrInterrupt
	}
	if history && strings.TrimSpace(line) != "" {
		_ = t.rl.SaveHistory(line)
	}
	return line, nil
}

// ReadLine implements LineReader.
func (t *TermReader) ReadLine(p string) (string, error) { return t.read(p, false) }

// ReadCommand implements LineReader: commands go into the history, answers
// to questions would drown them.
func (t *TermReader) ReadCommand(p string) (string, error) { return t.read(p, true) }

// ReadSecret implements LineReader.
func (t *TermReader) ReadSecret(p string) (string, error) {
	b, err := t.rl.ReadPassword(p)
	switch {
	case errors.Is(err, readline.ErrInterrupt):
		return "", ErrInterrupt
	case err != nil:
		return "", io.EOF
	}
	return string(b), nil
}

// ReadKey implements LineReader.
func (t *TermReader) ReadKey(p string) error {
	t.key.Store(0)
	t.anyKey.Store(true)
	defer t.anyKey.Store(false)
	_, err := t.read(p, false)
	return pagerKey(t.key.Load(), err)
}

// Interactive implements LineReader.
func (t *TermReader) Interactive() bool { return true }

// Line implements LineReader.
func (t *TermReader) Line() int { return t.n }

// Close implements LineReader.
//
// readline's terminal may be blocked reading the next key when the session
// ends: any key that does not end a line makes it read ahead, as the
// pager's key does, and readline's own Close waits for that read (the
// shell then hung after `exit` until one more key). Cancelling the input
// first ends the read.
func (t *TermReader) Close() error {
	t.stdin.Close()
	return t.rl.Close()
}

// completer adapts go-prompt's completion model to readline: readline owns
// the terminal, go-prompt only decides which words match.
type completer struct{ t *TermReader }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	if c.t.complete == nil {
		return nil, 0
	}
	buf := prompt.NewBuffer()
	buf.InsertText(string(line[:pos]), false, true)
	word := buf.Document().GetWordBeforeCursor()
	matches := prompt.FilterHasPrefix(c.t.complete(), word, true)
	if fixed := asTyped(word, matches); fixed != word && pos == len(line) && c.t.rl != nil {
		// Keywords are matched whatever the case, and shown as they are
		// written: "cert" becomes CERTIFICATE, not certIFICATE. readline
		// only appends, so the typed word is rewritten first (Do runs on
		// readline's own goroutine, between two keys).
		c.t.rl.Operation.SetBuffer(string(line[:pos-len([]rune(word))]) + fixed)
		word = fixed
	}
	var out [][]rune
	for _, s := range matches {
		out = append(out, []rune(s.Text[len(word):]+" "))
	}
	return out, len([]rune(word))
}

// asTyped is word in the case of the keywords it begins, when they all
// agree on it (menu keywords are upper case, commands lower case).
func asTyped(word string, matches []prompt.Suggest) string {
	if word == "" || len(matches) == 0 {
		return word
	}
	head := matches[0].Text[:len(word)]
	for _, m := range matches[1:] {
		if m.Text[:len(word)] != head {
			return word
		}
	}
	return head
}
