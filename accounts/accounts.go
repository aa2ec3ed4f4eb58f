// Package accounts owns the appliance's administrator accounts as every
// way in sees them: finding a user in the running configuration, the
// roles and their AsyncOS names, password rules and hashing (bcrypt),
// password checks that cost the same for unknown names, SSH public keys
// (parsing, fingerprints, matching), and whether anybody can log in yet
// (the first start).
//
// The accounts themselves are config.User values in the committed
// configuration; this package holds no state. It imports config only, so
// that the SSH server, the web service and the shell's commands (passwd,
// userconfig, sshconfig, who) share one implementation without any of
// them importing another: sshd and web do not link the shell.
package accounts

import "esash/config"

// FindUser returns the account named name, or nil.
func FindUser(c *config.Config, name string) *config.User {
	for i := range c.Users {
		if c.Users[i].Name == name {
			return &c.Users[i]
		}
	}
	return nil
}

// Roles lists the roles in the order userconfig offers them.
func Roles() []config.Role {
	return []config.Role{config.RoleAdmin, config.RoleOperator, config.RoleReadOnly}
}

// ValidRole reports whether r is a role this appliance knows; an account
// with another role (a newer configuration's) gets no access at all.
func ValidRole(r config.Role) bool {
	return r == config.RoleAdmin || r == config.RoleOperator || r == config.RoleReadOnly
}

// RoleName is how AsyncOS lists a role.
func RoleName(r config.Role) string {
	switch r {
	case config.RoleAdmin:
		return "Administrators"
	case config.RoleOperator:
		return "Operators"
	case config.RoleReadOnly:
		return "Read-Only Operators"
	}
	return string(r)
}

// RoleHelp describes a role as userconfig offers it.
func RoleHelp(r config.Role) string {
	switch r {
	case config.RoleAdmin:
		return "Administrators have full access to all settings of the system."
	case config.RoleOperator:
		return "Operators are restricted from creating new user accounts."
	case config.RoleReadOnly:
		return "Read-Only operators may only view settings and status information."
	}
	return ""
}

// HasAdminCredential reports whether some administrator can log in over
// SSH: a password or a key. Until one can, the appliance is in its first
// start and SSH password login is closed.
func HasAdminCredential(c *config.Config) bool {
	for _, u := range c.Users {
		if u.Role == config.RoleAdmin && (u.PasswordHash != "" || len(u.SSHKeys) > 0) {
			return true
		}
	}
	return false
}

// FirstStartNotice says how to open SSH on an appliance no administrator
// can log in to yet.
const FirstStartNotice = `No administrator password is set: SSH password login is closed.
Set one here with "passwd", or start the daemon with "esash serve --admin-key FILE".`
