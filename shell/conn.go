package shell

import (
	"context"
	"io"

	prompt "github.com/c-bata/go-prompt"
)

// Conn is a session's transport: the local terminal, an attached console,
// an SSH channel, or a script on a pipe.
type Conn struct {
	Ctx    context.Context
	Stdin  io.ReadCloser // nil: the process's terminal (local console)
	Stdout io.Writer
	Stderr io.Writer
	// Terminal selects readline (history, completion, no echo of
	// answers); otherwise input is a script.
	Terminal bool
	// Remote terminals are not this process's tty.
	Remote   bool
	Width    func() int
	Height   func() int
	OnResize func(func())

	User, Source string
	DataDir      string
	HistoryFile  string
	// Batch, when set, holds `;`-separated commands to run instead of
	// reading commands from input.
	Batch *string
}

// Serve runs one session on c and returns its exit status.
func (sh *Shell) Serve(c Conn) (int, error) {
	var s *Session
	var in LineReader
	if c.Terminal {
		tr, err := NewTermReader(TermOptions{
			Stdin: c.Stdin, Stdout: c.Stdout, Remote: c.Remote, Width: c.Width,
			OnResize: c.OnResize, HistoryFile: c.HistoryFile,
		}, func() []prompt.Suggest { return s.Completions() })
		if err != nil {
			return 1, err
		}
		in = tr
	} else {
		in = NewScriptReader(c.Stdin, c.Stdout)
	}
	defer in.Close()
	s = sh.NewSession(SessionConfig{
		Ctx: c.Ctx, In: in, Out: c.Stdout, Err: c.Stderr, User: c.User, Source: c.Source,
		DataDir: c.DataDir, Height: c.Height,
	})
	if c.Batch != nil {
		return sh.RunBatch(s, *c.Batch), nil
	}
	if c.Terminal {
		sh.banner(s, c)
	}
	return sh.Run(s), nil
}
