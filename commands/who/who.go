// Package who holds the who and whoami commands: who lists the sessions
// logged in to the appliance (console, scripts, SSH) with the number of
// changes each has staged but not committed; whoami describes the caller's
// own account. Other sessions' drafts are never shown, only counted.
package who

import (
	"fmt"
	"strings"
	"time"

	"esash/accounts"
	"esash/shell"
)

// Who is the who command.
type Who struct{}

// New returns the who command.
func New() Who { return Who{} }

// Name implements shell.Command.
func (Who) Name() string { return "who" }

// Summary implements shell.Command.
func (Who) Summary() string { return "List who is logged in" }

// Access implements shell.Accessor.
func (Who) Access() shell.Access { return shell.AccessRead }

// Run prints the session table.
func (Who) Run(s *shell.Session, _ []string) error {
	now := s.Now()
	rows := [][]string{{"Username", "Login Time", "Idle Time", "Remote Host", "What", "Changes"}}
	for _, in := range s.Sessions() {
		host := strings.TrimPrefix(in.Source, "ssh:")
		changes := fmt.Sprint(in.Changes)
		if in.Self {
			changes += " (you)"
		}
		rows = append(rows, []string{in.User, loginTime(in.Login), idle(now.Sub(in.Active)), host, "cli", changes})
	}
	return s.Page(table(rows))
}

// loginTime is AsyncOS's short form: "Thu 09PM".
func loginTime(t time.Time) string { return t.Format("Mon 03PM") }

// idle is "45s", "3m 45s", "2h 05m".
func idle(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// table aligns rows in columns, the header underlined with '='.
func table(rows [][]string) string {
	w := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
			} else {
				fmt.Fprintf(&b, "%-*s  ", w[i], c)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	line(rows[0])
	under := make([]string, len(rows[0]))
	for i, h := range rows[0] {
		under[i] = strings.Repeat("=", len(h))
	}
	line(under)
	for _, r := range rows[1:] {
		line(r)
	}
	return b.String()
}

// WhoAmI is the whoami command.
type WhoAmI struct{}

// NewWhoAmI returns the whoami command.
func NewWhoAmI() WhoAmI { return WhoAmI{} }

// Name implements shell.Command.
func (WhoAmI) Name() string { return "whoami" }

// Summary implements shell.Command.
func (WhoAmI) Summary() string { return "Display your current user id" }

// Access implements shell.Accessor.
func (WhoAmI) Access() shell.Access { return shell.AccessRead }

// Run describes the caller's account.
func (WhoAmI) Run(s *shell.Session, _ []string) error {
	full := ""
	if u := accounts.FindUser(s.Head().Config, s.User); u != nil {
		full = u.FullName
	}
	s.Printf("Username: %s\n", s.User)
	s.Printf("Full Name: %s\n", full)
	s.Printf("Groups: %s\n", accounts.RoleName(s.Role()))
	s.Printf("Logged in from: %s\n", s.Source)
	return nil
}
