package shell

import (
	"io"
	"sync"
	"sync/atomic"
)

// MaxTermLine is the longest line a terminal session accepts. readline
// (chzyer/readline v1.5.1) redraws the whole line on every key: the work
// and the output of a line grow with the square of its length, and a
// pasted line of 50,000 characters sent 1.38 GB back and took 140 s of CPU
// (issue 12, item 6). Fixing the redraw means patching readline; instead
// the input is cut before readline sees it, which bounds the work of any
// one key. AsyncOS input is short lines (a pasted PEM block arrives line
// by line, 64 characters each); 4096 leaves room for any command.
const MaxTermLine = 4096

// lineCapReader passes terminal input to readline, dropping the printable
// characters of a line beyond MaxTermLine+1: readline returning a line
// longer than MaxTermLine then means it was cut (readline reads ahead, so
// the reader cannot tell which line it is on when readline returns). Control characters always pass
// (Enter, Ctrl-C, backspace), and so do escape sequences (arrow keys),
// which are never cut in the middle; a dropped character's UTF-8
// continuation bytes are dropped with it.
type lineCapReader struct {
	r io.Reader

	mu    sync.Mutex
	n     int  // characters on the current line
	inEsc bool // inside an escape sequence
	// delivered counts the bytes of printable characters passed on,
	// outside escape sequences: TermReader compares it with what
	// readline has processed to see a paste still queued.
	delivered atomic.Int64
	skipUTF   bool // dropping a character's continuation bytes
}

func (l *lineCapReader) Read(p []byte) (int, error) {
	for {
		n, err := l.r.Read(p)
		l.mu.Lock()
		out := p[:0]
		for _, c := range p[:n] {
			if l.keep(c) {
				out = append(out, c)
			}
		}
		l.mu.Unlock()
		if len(out) > 0 || err != nil || n == 0 {
			return len(out), err
		}
	}
}

// keep decides on one byte; l.mu is held.
func (l *lineCapReader) keep(c byte) bool {
	switch {
	case l.inEsc:
		// CSI and SS3 sequences end with a byte from @ to ~; the [ or O
		// that opens them does not end them.
		if c != '[' && c != 'O' && c >= 0x40 && c <= 0x7e {
			l.inEsc = false
		}
		return true
	case c == 0x1b:
		l.inEsc = true
		return true
	case c == '\r' || c == '\n' || c == 0x03 || c == 0x04:
		l.n, l.skipUTF = 0, false
		return true
	case c == 0x7f || c == 0x08:
		if l.n > 0 {
			l.n--
		}
		return true
	case c < 0x20:
		return true
	case c >= 0x80 && c < 0xc0: // a continuation byte, counted with its lead
		return !l.skipUTF
	}
	l.skipUTF = false
	if l.n > MaxTermLine {
		l.skipUTF = c >= 0xc0
		return false
	}
	l.n++
	l.delivered.Add(int64(utf8Len(c)))
	return true
}

// utf8Len is the length of the UTF-8 sequence lead byte c starts (1 for
// a byte that cannot start one: readline reads it as U+FFFD).
func utf8Len(c byte) int {
	switch {
	case c >= 0xf0 && c < 0xf8:
		return 4
	case c >= 0xe0:
		return 3
	case c >= 0xc0:
		return 2
	}
	return 1
}

func (l *lineCapReader) Close() error {
	if c, ok := l.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
