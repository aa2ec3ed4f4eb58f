package shell

import (
	"fmt"
	"strings"
)

// SplitCommands cuts a command line at the semicolons that are outside
// quotes, as an SSH exec request chains commands: `a; b "x;y"`.
func SplitCommands(line string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ';':
			if s := strings.TrimSpace(cur.String()); s != "" {
				out = append(out, s)
			}
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}

// Fields splits one command into words: whitespace separates, double or
// single quotes group, a backslash escapes the next character.
func Fields(cmd string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range cmd {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("Invalid arguments when processing: unterminated %c quote", quote)
	}
	if escaped {
		return nil, fmt.Errorf("Invalid arguments when processing: trailing backslash")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
