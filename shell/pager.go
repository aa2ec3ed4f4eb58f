package shell

import (
	"errors"
	"io"
	"strings"
)

// The pager, as AsyncOS's and less's: a full screen of output, then
// `-Press Any Key For More-`; any key shows the next screen, q (or Q) and
// Ctrl-C leave the output there and return to the prompt. Leaving the
// pager is not an error: the command goes on (most page last), and on a
// Ctrl-C nothing is dropped, since the output changed nothing.

// ErrQuitPager is q or Ctrl-C at `-Press Any Key For More-`.
var ErrQuitPager = errors.New("output stopped at the pager")

// MorePrompt is the pager's prompt.
const MorePrompt = "-Press Any Key For More-"

// pagerKey maps the key that ended the pager's wait (0: none read) and the
// read's error to what the pager does.
func pagerKey(key rune, err error) error {
	switch {
	case errors.Is(err, ErrInterrupt), key == 'q', key == 'Q':
		return ErrQuitPager
	}
	return err
}

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
			err := s.In.ReadKey(MorePrompt)
			if errors.Is(err, ErrQuitPager) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		io.WriteString(s.Out, l)
	}
	return nil
}
