package shell

import (
	"bufio"
	"io"
	"strings"
)

// LineReader is where a session's input comes from: a terminal (readline)
// or a script. Commands never see which.
type LineReader interface {
	// ReadLine shows prompt and returns one line without its newline.
	// It returns io.EOF at the end of input and ErrInterrupt on Ctrl-C.
	ReadLine(prompt string) (string, error)
	// ReadCommand is ReadLine at the main prompt: only commands, never
	// answers to questions, go into the history.
	ReadCommand(prompt string) (string, error)
	// ReadSecret is ReadLine without echo.
	ReadSecret(prompt string) (string, error)
	// ReadKey waits for any single key (the pager).
	ReadKey(prompt string) error
	// Interactive reports a terminal: invalid answers are asked again
	// rather than ending the session, and output may be paged.
	Interactive() bool
	// Line is the number of the line last read (scripts report it).
	Line() int
	Close() error
}

// ScriptReader reads a script: each line it consumes is echoed after its
// prompt so the output reads like a session.
type ScriptReader struct {
	r    *bufio.Reader
	echo io.Writer
	n    int
}

// NewScriptReader reads lines from r and echoes them to echo.
func NewScriptReader(r io.Reader, echo io.Writer) *ScriptReader {
	return &ScriptReader{r: bufio.NewReaderSize(r, 64<<10), echo: echo}
}

func (s *ScriptReader) read() (string, error) {
	line, err := s.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil // a last line without newline still counts
	}
	if err != nil {
		return "", io.EOF
	}
	s.n++
	return strings.TrimRight(line, "\r\n"), nil
}

// ReadLine implements LineReader.
func (s *ScriptReader) ReadLine(prompt string) (string, error) {
	io.WriteString(s.echo, prompt)
	line, err := s.read()
	if err != nil {
		io.WriteString(s.echo, "\n")
		return "", err
	}
	io.WriteString(s.echo, line+"\n")
	return line, nil
}

// ReadCommand implements LineReader.
func (s *ScriptReader) ReadCommand(prompt string) (string, error) { return s.ReadLine(prompt) }

// ReadSecret implements LineReader; the secret is not echoed.
func (s *ScriptReader) ReadSecret(prompt string) (string, error) {
	if prompt != "" {
		io.WriteString(s.echo, prompt+"\n")
	}
	return s.read()
}

// ReadKey implements LineReader; scripts are never paged.
func (s *ScriptReader) ReadKey(string) error { return nil }

// Interactive implements LineReader.
func (s *ScriptReader) Interactive() bool { return false }

// Line implements LineReader.
func (s *ScriptReader) Line() int { return s.n }

// Close implements LineReader.
func (s *ScriptReader) Close() error { return nil }
