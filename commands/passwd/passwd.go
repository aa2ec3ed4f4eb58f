// Package passwd is the passwd command: an administrator changes their own
// password. As on AsyncOS it takes effect at once, without commit: it is
// committed as its own revision, apart from anything the session staged.
//
// The old password is asked when one is set, except on the local console,
// which is how a forgotten password is reset and how the first one is set
// on a new appliance (SSH password login stays closed until then).
package passwd

import (
	"errors"
	"fmt"

	"esash/accounts"
	"esash/config"
	"esash/shell"
)

// Command is passwd.
type Command struct{}

// New returns the passwd command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "passwd" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Change your password" }

// Access implements shell.Accessor: every account may change its own
// password, read-only ones included.
func (Command) Access() shell.Access { return shell.AccessRead }

// Run asks for the old password when needed and the new one twice.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("Invalid arguments when processing: passwd takes no arguments")
	}
	u := accounts.FindUser(s.Head().Config, s.User)
	if u == nil {
		return accounts.ErrNoAccount
	}
	first := !accounts.HasAdminCredential(s.Head().Config)
	if u.PasswordHash != "" && !s.Console() {
		old, err := s.Secret("Old password:")
		if err != nil {
			return err
		}
		if !accounts.CheckPassword(u.PasswordHash, old) {
			return errors.New("The old password is not correct; the password was not changed.")
		}
	}
	user := s.User
	pw, err := s.NewSecret("New password:", "Retype new password:", func(p string) string {
		return accounts.CheckNewPassword(user, p)
	})
	if err != nil {
		return err
	}
	hash, err := accounts.HashPassword(pw)
	if err != nil {
		return err
	}
	err = s.CommitNow("passwd: "+user+" changed the password", func(c *config.Config) error {
		u := accounts.FindUser(c, user)
		if u == nil {
			return accounts.ErrNoAccount
		}
		u.PasswordHash = hash
		return nil
	})
	if err != nil {
		return err
	}
	s.Println("Password changed.")
	if first && accounts.HasAdminCredential(s.Head().Config) {
		s.Println("SSH password login is now open.")
	}
	return nil
}
