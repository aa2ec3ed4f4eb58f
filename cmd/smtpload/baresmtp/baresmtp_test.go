package baresmtp

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadDot(t *testing.T) {
	long := strings.Repeat("x", 40)
	for _, tc := range []struct {
		name, in, id, rest string
	}{
		{"ID in the header", "Received: x\r\nX-Smtpload-ID: abc\r\n\r\nbody\r\n.\r\nQUIT\r\n", "abc", "QUIT\r\n"},
		{"ID header in the body is not looked at", "A: b\r\n\r\nX-Smtpload-ID: no\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
		{"a dot-stuffed line is not the end", "A: b\r\n\r\n..\r\n.x\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
		// A line longer than the reader's buffer arrives in pieces: a
		// piece that looks like the final dot is not at a line start.
		{"a long line ending in a dot line's bytes", "A: b\r\n\r\n" + long + ".\r\n" + long + "\r\n.\r\nQUIT\r\n", "", "QUIT\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			id, err := readDot(r, true)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := r.ReadString(0)
			if id != tc.id || rest != tc.rest {
				t.Fatalf("id %q rest %q, want %q and %q", id, rest, tc.id, tc.rest)
			}
		})
	}
}
