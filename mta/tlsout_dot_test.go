package mta

import (
	"bufio"
	"bytes"
	"net/textproto"
	"strings"
	"testing"
)

// TestWriteDotStuffed: the line-at-a-time writer sends what textproto's
// DotWriter (byte by byte, which it replaces) sends, for every shape of
// line ending and leading dot; where DotWriter turns a line ending in
// CR CR LF into CR CR CR LF (its state machine takes the second CR for
// data), the line is sent as it is, its CRLF being its end.
func TestWriteDotStuffed(t *testing.T) {
	big := strings.Repeat("a line of text in a big message\r\n.a dotted one\r\n", 3000)
	for _, tc := range []struct{ name, msg, want string }{
		{"empty", "", ""},
		{"one CRLF line", "hello\r\n", ""},
		{"unterminated", "hello", ""},
		{"unterminated after CR", "hello\r", ""},
		{"bare LF", "a\nb\n", ""},
		{"mixed endings", "a\r\nb\nc\r\n", ""},
		{"leading dot", ".hidden\r\n", ""},
		{"dot lines", "a\r\n.\r\n..\r\n.x\n.\n", ""},
		{"only a dot", ".", ""},
		{"CR inside a line", "a\rb\r\nc\rd\n", ""},
		{"CR CR LF", "c\r\r\n", "c\r\r\n.\r\n"},
		{"empty lines", "\r\n\r\n\n", ""},
		{"headers and body", "Subject: x\r\nFrom: <a@b>\r\n\r\nbody\r\n.leading dot\r\n", ""},
		{"big", big, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			tw := textproto.NewWriter(bufio.NewWriter(&want))
			dw := tw.DotWriter()
			dw.Write([]byte(tc.msg))
			dw.Close()
			if tc.want != "" {
				want.Reset()
				want.WriteString(tc.want)
			}
			if err := writeDotStuffed(bufio.NewWriterSize(&got, outWriteBuf), []byte(tc.msg)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("got  %q\nwant %q", trim(got.String()), trim(want.String()))
			}
		})
	}
}

func trim(s string) string {
	if len(s) > 200 {
		return s[:100] + "…" + s[len(s)-100:]
	}
	return s
}
