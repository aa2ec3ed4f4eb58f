package maillog

import (
	"fmt"
	"strings"
	"time"
)

// TimeLayout is the AsyncOS timestamp. The day of month is space padded
// ("Nov  6"), which is why it is "_2" and not "02".
const TimeLayout = "Mon Jan _2 15:04:05 2006"

// escaper keeps one event on one line. Messages carry remote-controlled text
// (reverse DNS, envelope addresses, SMTP replies); a raw newline there would let
// a peer forge log lines and would split a line for Tail and Grep, and NUL or
// terminal escapes would reach whoever reads the file. Escaping rather than
// dropping keeps the evidence visible: CR and LF as \r and \n, every other
// control byte but TAB (and DEL) as \xNN.
var escaper controlEscaper

type controlEscaper struct{}

// Replace returns s with its control bytes escaped.
func (controlEscaper) Replace(s string) string {
	i := strings.IndexFunc(s, isControl)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20 && c != '\t' || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isControl(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }

// Escape is the escaping FormatLine applies, for callers that build text
// from remote input for other logs.
func Escape(s string) string { return escaper.Replace(s) }

// FormatLine renders one log line without the trailing newline.
func FormatLine(t time.Time, level Level, msg string) string {
	return string(appendLine(nil, t, level, msg))
}

// appendLine appends FormatLine's line to dst (Log.write reuses one
// buffer for every line).
func appendLine(dst []byte, t time.Time, level Level, msg string) []byte {
	return appendStamped(dst, t.AppendFormat(nil, TimeLayout), level, msg)
}

// appendStamped is appendLine with the time already formatted.
func appendStamped(dst, stamp []byte, level Level, msg string) []byte {
	dst = append(dst, stamp...)
	dst = append(dst, ' ')
	dst = append(dst, level.String()...)
	dst = append(dst, ": "...)
	return append(dst, escaper.Replace(msg)...)
}

// ParseLine splits a line produced by FormatLine. The time is parsed in loc
// (the format carries no zone); nil means time.Local.
func ParseLine(line string, loc *time.Location) (time.Time, Level, string, error) {
	if loc == nil {
		loc = time.Local
	}
	if len(line) < len(TimeLayout)+1 {
		return time.Time{}, 0, "", fmt.Errorf("maillog: parse %q: %w", line, ErrBadLine)
	}
	t, err := time.ParseInLocation(TimeLayout, line[:len(TimeLayout)], loc)
	if err != nil {
		return time.Time{}, 0, "", fmt.Errorf("maillog: parse %q: %w: %w", line, ErrBadLine, err)
	}
	rest, ok := strings.CutPrefix(line[len(TimeLayout):], " ")
	if !ok {
		return time.Time{}, 0, "", fmt.Errorf("maillog: parse %q: %w", line, ErrBadLine)
	}
	word, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		// FormatLine writes "Level: " even for an empty message, but
		// editors and shells often strip trailing blanks; accept "Level:".
		word, ok = strings.CutSuffix(rest, ":")
		if !ok {
			return time.Time{}, 0, "", fmt.Errorf("maillog: parse %q: %w", line, ErrBadLine)
		}
	}
	lvl, err := ParseLevel(word)
	if err != nil {
		return time.Time{}, 0, "", fmt.Errorf("maillog: parse %q: %w: %w", line, ErrBadLine, err)
	}
	return t, lvl, msg, nil
}
