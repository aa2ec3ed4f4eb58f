// Package sshconfig is the sshconfig command: the SSH server's settings
// with the host key fingerprints an administrator compares with what their
// client shows on first connection (SSHD), and the public keys each account
// may log in with (USERKEYS), staged until commit.
//
// Operators manage their own keys; administrators switch to any account
// with USER. Read-only operators see the server settings only.
package sshconfig

import (
	"fmt"
	"strconv"
	"strings"

	"esash/accounts"
	"esash/config"
	"esash/shell"
)

// HostKey is one of the appliance's SSH host keys.
type HostKey struct {
	Type        string // ED25519, RSA
	Bits        int
	Fingerprint string // SHA256:...
}

// Command is sshconfig.
type Command struct {
	hostKeys func() ([]HostKey, error)
}

// New returns sshconfig; hostKeys reads the appliance's host keys.
func New(hostKeys func() ([]HostKey, error)) Command { return Command{hostKeys: hostKeys} }

// Name implements shell.Command.
func (Command) Name() string { return "sshconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Configure SSH server and user key settings" }

// Access implements shell.Accessor: everyone may see the server's
// settings; USERKEYS checks the role itself.
func (Command) Access() shell.Access { return shell.AccessRead }

// Run shows the menu.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("Invalid arguments when processing: sshconfig takes no arguments")
	}
	return s.Menu(nil, []shell.MenuItem{
		{Name: "SSHD", Help: "Display the SSH server settings and host key fingerprints.", Run: c.sshd},
		{Name: "USERKEYS", Help: "Edit SSH User Key settings", Run: userKeys},
	})
}

func (c Command) sshd(s *shell.Session) error {
	cfg := s.Draft.Config()
	var b strings.Builder
	b.WriteString("\nSSH server:\n")
	n := 0
	for _, in := range cfg.Interfaces {
		if !in.SSH.Enabled {
			continue
		}
		n++
		addr := in.IPv4
		if in.IPv6 != "" {
			addr += ", " + in.IPv6
		}
		fmt.Fprintf(&b, "  Interface %s (%s) port %d\n", in.Name, addr, in.SSH.Port)
	}
	if n == 0 {
		b.WriteString("  SSH is not enabled on any interface (see interfaceconfig).\n")
	}
	b.WriteString("Host keys (compare with what your SSH client shows on first connection):\n")
	if c.hostKeys == nil {
		b.WriteString("  (not available)\n")
	} else if keys, err := c.hostKeys(); err != nil {
		fmt.Fprintf(&b, "  (cannot read the host keys: %v)\n", err)
	} else {
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-8s %4d  %s\n", k.Type, k.Bits, k.Fingerprint)
		}
	}
	b.WriteString("Authentication: public key, password (bcrypt); at most 6 attempts per connection.\n")
	if !accounts.HasAdminCredential(s.Head().Config) {
		b.WriteString(accounts.FirstStartNotice + "\n")
	}
	b.WriteString("\n")
	return s.Page(b.String())
}

// keyEditor is the USERKEYS dialog for one account at a time.
type keyEditor struct{ user string }

func userKeys(s *shell.Session) error {
	if s.Role() != config.RoleAdmin && s.Role() != config.RoleOperator {
		return shell.ErrDenied
	}
	e := &keyEditor{user: s.User}
	items := []shell.MenuItem{
		{Name: "NEW", Help: "Add a new key.", Run: e.add},
		{Name: "DELETE", Help: "Remove a key.", Run: e.remove},
		{Name: "PRINT", Help: "Display a key.", Run: e.print},
	}
	if s.Role() == config.RoleAdmin {
		items = append(items, shell.MenuItem{Name: "USER", Help: "Switch to a different user to edit.", Run: e.switchUser})
	}
	return s.Menu(e.list, items)
}

func (e *keyEditor) keys(s *shell.Session) []string {
	if u := accounts.FindUser(s.Draft.Config(), e.user); u != nil {
		return u.SSHKeys
	}
	return nil
}

func (e *keyEditor) list(s *shell.Session) {
	s.Println()
	s.Printf("Currently installed keys for %s:\n", e.user)
	for i, k := range e.keys(s) {
		s.Printf("%d. %s\n", i+1, short(k))
	}
	s.Println()
}

// short shows a key as its type, fingerprint and comment.
func short(k string) string {
	f := strings.Fields(k)
	out := f[0] + " " + accounts.KeyFingerprint(k)
	if len(f) > 2 {
		out += " " + strings.Join(f[2:], " ")
	}
	return out
}

func (e *keyEditor) add(s *shell.Session) error {
	s.Println("Please enter the public SSH key for authorization.")
	s.Println("Press enter on a blank line to finish.")
	var lines []string
	for {
		l, err := s.AskOptional("", "", nil)
		if err != nil {
			return err
		}
		if l == "" {
			break
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return shell.ErrBack
	}
	// Terminals wrap long keys when they are pasted: join the pieces.
	stored, fp, msg := accounts.ParseUserKey(strings.Join(lines, ""))
	if msg != "" {
		if stored, fp, msg = accounts.ParseUserKey(strings.Join(lines, " ")); msg != "" {
			return shell.Invalid(s, "key", msg)
		}
	}
	for _, k := range e.keys(s) {
		if accounts.KeyFingerprint(k) == fp {
			s.Printf("This key (%s) is already installed for %s.\n", fp, e.user)
			return shell.ErrBack
		}
	}
	user := e.user
	return s.Draft.Update(func(c *config.Config) error {
		u := accounts.FindUser(c, user)
		if u == nil {
			return fmt.Errorf("user %s no longer exists", user)
		}
		u.SSHKeys = append(u.SSHKeys, stored)
		return nil
	})
}

func (e *keyEditor) pick(s *shell.Session, question string) (int, error) {
	keys := e.keys(s)
	if len(keys) == 0 {
		s.Printf("There are no keys installed for %s.\n", e.user)
		return 0, shell.ErrBack
	}
	ans, err := s.Ask(question, "", func(v string) string {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > len(keys) {
			return fmt.Sprintf("The value must be a number from 1 to %d.", len(keys))
		}
		return ""
	})
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(ans)
	return n - 1, nil
}

func (e *keyEditor) remove(s *shell.Session) error {
	i, err := e.pick(s, "Enter the number of the key you wish to delete.")
	if err != nil {
		return err
	}
	fp := accounts.KeyFingerprint(e.keys(s)[i])
	user := e.user
	return s.Draft.Update(func(c *config.Config) error {
		u := accounts.FindUser(c, user)
		if u == nil {
			return fmt.Errorf("user %s no longer exists", user)
		}
		for j, k := range u.SSHKeys {
			if accounts.KeyFingerprint(k) == fp {
				u.SSHKeys = append(u.SSHKeys[:j], u.SSHKeys[j+1:]...)
				break
			}
		}
		return nil
	})
}

func (e *keyEditor) print(s *shell.Session) error {
	i, err := e.pick(s, "Enter the number of the key you wish to print.")
	if err != nil {
		return err
	}
	s.Println(e.keys(s)[i])
	return nil
}

func (e *keyEditor) switchUser(s *shell.Session) error {
	users := s.Draft.Config().Users
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	i, err := s.Choose("Enter the name or number of the user to edit.", names, 0, true)
	if err != nil {
		return err
	}
	e.user = names[i]
	return nil
}
