package shell

import (
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

type countingWriter struct {
	mu   sync.Mutex
	n    int
	tail strings.Builder
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += len(p)
	if len(p) < 200 {
		w.tail.Write(p)
	}
	return len(p), nil
}

// TestTermLineCap (issue 12, item 6): a pasted line of 12,000 characters
// on a remote terminal. readline redraws the line at each key, so what it
// wrote grew with the square of the line (1.38 GB for 50,000). Now a
// paste is drawn once (paste.go), beyond MaxTermLine the input is cut
// before readline sees it, the line is discarded with a message, and the
// next line reads normally.
func TestTermLineCap(t *testing.T) {
	input := strings.Repeat("x", 12_000) + "\r" + "whoami\r"
	out := &countingWriter{}
	tr, err := NewTermReader(TermOptions{Stdin: io.NopCloser(strings.NewReader(input)), Stdout: out,
		Remote: true, Width: func() int { return 80 }, OnResize: func(func()) {}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	line, err := tr.ReadCommand("esa> ")
	if !errors.Is(err, ErrInterrupt) || line != "" {
		t.Fatalf("the long line: %d characters, %v; want it discarded", len(line), err)
	}
	line, err = tr.ReadCommand("esa> ")
	if err != nil || line != "whoami" {
		t.Fatalf("the next line: %q, %v", line, err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if !strings.Contains(out.tail.String(), "The line is longer than 4096 characters: it was discarded.") {
		t.Errorf("no message:\n%.500s", out.tail.String())
	}
	// The paste is drawn once, not once per key: what is written is
	// linear in the input (uncut, readline wrote 72 MB for this line).
	if out.n > 10*len(input) {
		t.Errorf("%d bytes written for %d bytes of input: more than 10 times", out.n, len(input))
	}
	t.Logf("%d bytes written for a line of 12,000 characters", out.n)
}

// TestLineCapReaderKeeps: control characters, escape sequences and whole
// UTF-8 characters pass the cap; a line ending resets it.
func TestLineCapReaderKeeps(t *testing.T) {
	in := strings.Repeat("é", MaxTermLine+3) + "\x1b[A\x7f\r" + "ab\r"
	l := &lineCapReader{r: strings.NewReader(in)}
	got, _ := io.ReadAll(l)
	want := strings.Repeat("é", MaxTermLine+1) + "\x1b[A\x7f\r" + "ab\r"
	if string(got) != want {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}
