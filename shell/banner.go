package shell

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// The first screen of an interactive session, as AsyncOS's: the last
// login, then the product and version line, then the prompt. Scripts and
// batch commands get none (their output is parsed). The last login is
// kept next to the user's command history (HistoryFile + ".last"), one
// line: the time and where from.

// banner prints the first screen and records this login.
func (sh *Shell) banner(s *Session, c Conn) {
	if sh.opts.Banner == "" {
		return
	}
	if c.HistoryFile != "" {
		path := c.HistoryFile + ".last"
		if raw, err := os.ReadFile(path); err == nil {
			when, from, _ := strings.Cut(strings.TrimSpace(string(raw)), " ")
			if t, err := time.Parse(time.RFC3339, when); err == nil {
				s.Printf("Last login: %s from %s\n", Stamp(t), from)
			}
		}
		os.WriteFile(path, []byte(sh.opts.Now().UTC().Format(time.RFC3339)+" "+loginFrom(c.Source)+"\n"), 0o600)
	}
	s.Printf("%s\n\n", sh.opts.Banner)
}

// loginFrom is where a session comes from, as the banner shows it.
func loginFrom(source string) string {
	if ip, ok := strings.CutPrefix(source, "ssh:"); ok {
		return ip
	}
	return fmt.Sprint(source)
}
