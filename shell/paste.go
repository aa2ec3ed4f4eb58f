package shell

import (
	"io"
	"sync/atomic"
	"unicode/utf8"

	"github.com/chzyer/readline"
)

// A paste is drawn once, not once per character (issue 12, item 6).
// readline redraws the whole line for each key it processes, so a pasted
// line of n characters costs n redraws of up to n characters. Without
// patching readline: the filter that sees each key before readline does
// (FuncFilterInputRune, on readline's own goroutine, in order) knows from
// lineCapReader how many characters are already queued behind this one.
// While a paste is queued, readline's output is muted; when the queue is
// empty, the line is drawn once, whole. What readline draws is thus linear
// in the input, and the cap bounds the work of each key.
//
// The terminal stays consistent: before muting, readline erases its line
// (Clean), so the screen holds no part of it; before unmuting, a muted
// Clean tells readline the line is erased, so its next Refresh draws it
// from the start instead of erasing lines it believes it drew.

// pasteMin is how many queued characters make a paste: fast typing queues
// one or two.
const pasteMin = 32

// muteWriter is readline's output, discarded while a paste is queued.
type muteWriter struct {
	w     io.Writer
	muted atomic.Bool
}

func (m *muteWriter) Write(p []byte) (int, error) {
	if m.muted.Load() {
		return len(p), nil
	}
	return m.w.Write(p)
}

// pasteState follows what readline has processed of lineCapReader's
// output.
type pasteState struct {
	rl       atomic.Pointer[readline.Instance] // set once readline runs
	in       *lineCapReader
	out      *muteWriter
	consumed atomic.Int64 // bytes of printable characters readline has seen
}

// filter runs before readline processes r.
func (p *pasteState) filter(r rune) {
	rl := p.rl.Load()
	if rl == nil {
		return
	}
	if r >= 0x20 && r != 0x7f { // readline's special keys are negative
		n := utf8.RuneLen(r)
		if n < 0 || r == utf8.RuneError {
			n = 1
		}
		p.consumed.Add(int64(n))
	}
	pending := p.in.delivered.Load() - p.consumed.Load()
	if pending < 0 {
		// A byte readline read differently (invalid UTF-8, an escape
		// sequence it turned into a character): realign.
		p.consumed.Store(p.in.delivered.Load())
		pending = 0
	}
	switch {
	case !p.out.muted.Load() && pending >= pasteMin:
		rl.Clean()
		p.out.muted.Store(true)
	case p.out.muted.Load() && pending == 0:
		rl.Clean()
		p.out.muted.Store(false)
		rl.Refresh()
	}
}

// lineDone runs when readline has returned a line. Were the output still
// muted (the count drifted: readline read something otherwise than
// lineCapReader counted), the line was never drawn: draw it now, and
// count from here.
func (p *pasteState) lineDone(prompt, line string) {
	if !p.out.muted.Swap(false) {
		return
	}
	p.consumed.Store(p.in.delivered.Load())
	if prompt != "" || line != "" {
		io.WriteString(p.out.w, prompt+line+"\r\n")
	}
}
