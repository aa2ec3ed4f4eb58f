// Package userconfig is the userconfig command: the appliance's
// administrator accounts, with the AsyncOS roles Administrators, Operators
// and Read-Only Operators. Changes are staged until commit, as on AsyncOS;
// passwords are stored as bcrypt hashes and never shown.
//
// The admin account cannot be deleted or lose its role, and nobody can
// delete the account they are logged in as. Public keys are managed with
// sshconfig USERKEYS.
package userconfig

import (
	"fmt"
	"strconv"
	"strings"

	"esash/accounts"
	"esash/config"
	"esash/shell"
)

// Command is userconfig.
type Command struct{}

// New returns the userconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "userconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Manage user accounts" }

// Access implements shell.Accessor: accounts are the administrators'.
func (Command) Access() shell.Access { return shell.AccessAdmin }

// Run shows the accounts and the operations on them.
func (c Command) Run(s *shell.Session, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("Invalid arguments when processing: userconfig takes no arguments")
	}
	if !accounts.HasAdminCredential(s.Head().Config) {
		s.Println(accounts.FirstStartNotice)
	}
	return s.Menu(listUsers, []shell.MenuItem{
		{Name: "NEW", Help: "Create a new account.", Run: newUser},
		{Name: "EDIT", Help: "Modify an account.", Run: editUser},
		{Name: "DELETE", Help: "Remove an account.", Run: deleteUser},
		{Name: "PASSWORD", Help: "Change the password for a user.", Run: setPassword},
	})
}

func listUsers(s *shell.Session) {
	s.Println()
	s.Println("Users:")
	for i, u := range s.Draft.Config().Users {
		s.Printf("%d. %s - %q (%s)\n", i+1, u.Name, u.FullName, accounts.RoleName(u.Role))
	}
	s.Println()
}

func checkNewName(s *shell.Session) func(string) string {
	return func(name string) string {
		if msg := config.CheckName(name); msg != "" {
			return msg
		}
		if len(name) > 32 {
			return "The value must be a user name of at most 32 characters."
		}
		if accounts.FindUser(s.Draft.Config(), name) != nil {
			return fmt.Sprintf("The value must be a new user name: %s already exists.", name)
		}
		return ""
	}
}

func checkFullName(v string) string {
	if strings.ContainsAny(v, "\"\x00\r\n") {
		return "The value must not contain quotes or control characters."
	}
	if len(v) > 128 {
		return "The value must be at most 128 characters long."
	}
	return ""
}

// askRole offers the roles and returns the one chosen.
func askRole(s *shell.Session, name string, def config.Role) (config.Role, error) {
	roles := accounts.Roles()
	items := make([]string, len(roles))
	d := 1
	for i, r := range roles {
		items[i] = accounts.RoleName(r) + " - " + accounts.RoleHelp(r)
		if r == def {
			d = i + 1
		}
	}
	i, err := s.Choose(fmt.Sprintf("Assign a role to %q:", name), items, d, false)
	if err != nil {
		return "", err
	}
	return roles[i], nil
}

func askPassword(s *shell.Session, name, first string) (string, error) {
	pw, err := s.NewSecret(first, "Please enter the new password again:", func(p string) string {
		return accounts.CheckNewPassword(name, p)
	})
	if err != nil {
		return "", err
	}
	return accounts.HashPassword(pw)
}

func newUser(s *shell.Session) error {
	name, err := s.Ask("Enter the new username.", "", checkNewName(s))
	if err != nil {
		return err
	}
	full, err := s.Ask(fmt.Sprintf("Enter the full name for %s.", name), "", checkFullName)
	if err != nil {
		return err
	}
	role, err := askRole(s, name, config.RoleAdmin)
	if err != nil {
		return err
	}
	hash, err := askPassword(s, name, fmt.Sprintf("Enter the password for %s:", name))
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Users = append(c.Users, config.User{Name: name, FullName: full, Role: role, PasswordHash: hash})
		return nil
	})
}

// pickUser asks for an account by name or number.
func pickUser(s *shell.Session, question string) (config.User, error) {
	users := s.Draft.Config().Users
	find := func(v string) (config.User, bool) {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= len(users) {
			return users[n-1], true
		}
		for _, u := range users {
			if u.Name == v {
				return u, true
			}
		}
		return config.User{}, false
	}
	ans, err := s.Ask(question, "", func(v string) string {
		if _, ok := find(v); !ok {
			return fmt.Sprintf("The value must be a user name or a number from 1 to %d.", len(users))
		}
		return ""
	})
	if err != nil {
		return config.User{}, err
	}
	u, _ := find(ans)
	return u, nil
}

func editUser(s *shell.Session) error {
	u, err := pickUser(s, "Enter the user name or number to edit.")
	if err != nil {
		return err
	}
	full, err := s.AskOptional(fmt.Sprintf("Enter the full name for %s.", u.Name), u.FullName, checkFullName)
	if err != nil {
		return err
	}
	role := u.Role
	if u.Name == "admin" {
		s.Println("The admin account is always an administrator.")
	} else if role, err = askRole(s, u.Name, u.Role); err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		p := accounts.FindUser(c, u.Name)
		if p == nil {
			return fmt.Errorf("user %s no longer exists", u.Name)
		}
		p.FullName, p.Role = full, role
		return nil
	})
}

func deleteUser(s *shell.Session) error {
	u, err := pickUser(s, "Enter the user name or number to delete.")
	if err != nil {
		return err
	}
	switch {
	case u.Name == "admin":
		s.Println("The admin account cannot be deleted.")
		return shell.ErrBack
	case u.Name == s.User:
		s.Println("You cannot delete the account you are logged in as.")
		return shell.ErrBack
	}
	ok, err := s.YesNo(fmt.Sprintf("Are you sure you want to delete %q?", u.Name), false)
	if err != nil || !ok {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		for i := range c.Users {
			if c.Users[i].Name == u.Name {
				c.Users = append(c.Users[:i], c.Users[i+1:]...)
				return nil
			}
		}
		return nil
	})
}

func setPassword(s *shell.Session) error {
	u, err := pickUser(s, "Enter the user name or number to change the password for.")
	if err != nil {
		return err
	}
	hash, err := askPassword(s, u.Name, fmt.Sprintf("Enter the new password for %s:", u.Name))
	if err != nil {
		return err
	}
	return s.Draft.Update(func(c *config.Config) error {
		p := accounts.FindUser(c, u.Name)
		if p == nil {
			return fmt.Errorf("user %s no longer exists", u.Name)
		}
		p.PasswordHash = hash
		return nil
	})
}
