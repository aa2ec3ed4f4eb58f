package shell

import (
	"errors"
	"fmt"
)

// Errors of the dialog engine. Commands pass them up unchanged; the shell
// decides what each means for the session.
var (
	// ErrBack is a blank answer where going back is the only sensible
	// meaning: the menu above takes over again.
	ErrBack = errors.New("back")
	// ErrInterrupt is Ctrl-C: the command ends and its edits are dropped.
	ErrInterrupt = errors.New("interrupted")
	// ErrEOF is the end of input in the middle of a dialog.
	ErrEOF = errors.New("end of input inside a dialog")
	// ErrDenied is a command the session's role may not run.
	ErrDenied = errors.New("you are not in the correct access group to use this command")
)

// InputError is an invalid answer read from a script: the script stops
// there, naming the line.
type InputError struct {
	Line int
	Msg  string
}

func (e *InputError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Invalid reports a bad batch-mode argument: the message names the field
// and what it accepts. In a script it ends the session like a bad answer.
func Invalid(s *Session, field, msg string) error {
	if !s.In.Interactive() {
		return &InputError{Line: s.In.Line(), Msg: field + ": " + msg}
	}
	return fmt.Errorf("%s: %s", field, msg)
}
