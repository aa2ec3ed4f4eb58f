package shell

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"esash/config"
	"esash/store"
)

// Access control: what a session's role lets it run, and the account
// helpers (passwords, SSH keys) that userconfig, passwd, sshconfig and the
// SSH server share.
//
// A session opened through SSH carries its account's role in its context
// (WithRole). A session without one is the local console or a script on
// the data directory: whoever can open the data directory owns the
// appliance, so it has the administrator's rights.

// Access is what a command needs of the session's role.
type Access int

const (
	// AccessStage commands stage configuration changes: operators and
	// administrators. A command that declares nothing is one of these.
	AccessStage Access = iota
	// AccessRead commands only show things, or act on the caller's own
	// account (passwd): every role.
	AccessRead
	// AccessAdmin commands manage the appliance's accounts: administrators.
	AccessAdmin
)

// Accessor is implemented by commands that need something other than
// AccessStage.
type Accessor interface{ Access() Access }

// Access of the builtins: commit and clear are AccessStage (read-only
// sessions have nothing to commit or clear); the others only show things.
func (b builtin) Access() Access {
	switch b.name {
	case "commit", "clear":
		return AccessStage
	}
	return AccessRead
}

func accessOf(c Command) Access {
	if a, ok := c.(Accessor); ok {
		return a.Access()
	}
	return AccessStage
}

type roleKey struct{}

// WithRole marks a session's context with its account's role at login.
func WithRole(ctx context.Context, r config.Role) context.Context {
	return context.WithValue(ctx, roleKey{}, r)
}

// Console reports a session without an account role: the local console
// or a script on the data directory.
func (s *Session) Console() bool {
	_, ok := s.Ctx.Value(roleKey{}).(config.Role)
	return !ok
}

// Role is the session's current role. For an account it follows the
// running configuration, so a demotion or a deletion takes effect at the
// next command; "" is an account that no longer exists.
func (s *Session) Role() config.Role {
	if s.Console() {
		return config.RoleAdmin
	}
	if u := FindUser(s.Head().Config, s.User); u != nil {
		return u.Role
	}
	return ""
}

// permit refuses a command the session's role may not run.
func (s *Session) permit(c Command) error {
	if b, ok := c.(builtin); ok && (b.name == "exit" || b.name == "quit") {
		return nil // anyone may leave
	}
	need := accessOf(c)
	switch s.Role() {
	case "":
		return ErrNoAccount
	case config.RoleAdmin:
		return nil
	case config.RoleOperator:
		if need != AccessAdmin {
			return nil
		}
	case config.RoleReadOnly:
		if need == AccessRead {
			return nil
		}
	}
	return ErrDenied
}

// afterCommand runs when a command returns: a read-only session must never
// keep anything staged, whatever a command declared, and the session list
// learns the new count of uncommitted changes.
func (s *Session) afterCommand(saved store.Saved, err error) error {
	if r := s.Role(); r != config.RoleAdmin && r != config.RoleOperator && s.Draft.Changed() {
		s.Draft.Restore(saved)
		if s.Draft.Changed() {
			s.Draft.Clear()
		}
		if err == nil {
			err = ErrDenied
		}
	}
	s.shell.sessions.touch(s)
	return err
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

// Roles lists the roles in the order userconfig offers them.
func Roles() []config.Role {
	return []config.Role{config.RoleAdmin, config.RoleOperator, config.RoleReadOnly}
}

// FindUser returns the account named name, or nil.
func FindUser(c *config.Config, name string) *config.User {
	for i := range c.Users {
		if c.Users[i].Name == name {
			return &c.Users[i]
		}
	}
	return nil
}

// Passwords are stored as bcrypt hashes; bcrypt reads at most 72 bytes.
const (
	minPassword = 8
	maxPassword = 72
	// BcryptCost is the work factor of stored passwords.
	BcryptCost = bcrypt.DefaultCost
)

// CheckNewPassword returns "" for an acceptable new password of user, or
// the message saying what is accepted.
func CheckNewPassword(user, pw string) string {
	switch {
	case utf8.RuneCountInString(pw) < minPassword:
		return fmt.Sprintf("The password must be at least %d characters long.", minPassword)
	case len(pw) > maxPassword:
		return fmt.Sprintf("The password must be at most %d bytes long.", maxPassword)
	case strings.EqualFold(pw, user):
		return "The password must not be the user name."
	case strings.TrimSpace(pw) != pw:
		return "The password must not begin or end with a space."
	}
	return ""
}

// HashPassword hashes a password for config.User.PasswordHash.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), BcryptCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// dummyHash makes a login with an unknown name or without a password cost
// what a real one costs, so timing does not tell which names exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("esash: no such account"), BcryptCost)
	return h
})

// CheckPassword reports whether pw matches hash. An empty hash (no
// password set) never matches, but takes as long as a real check.
func CheckPassword(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// ParseUserKey parses one public key in authorized_keys form (type, base64,
// optional comment; options are refused). It returns the key as stored, its
// SHA256 fingerprint, or the message saying what is accepted.
func ParseUserKey(line string) (stored, fingerprint, msg string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return "", "", "You must enter a public key."
	}
	pk, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	switch {
	case err != nil:
		return "", "", "The value must be an SSH public key in OpenSSH format (ssh-ed25519 AAAA... comment)."
	case len(options) > 0:
		return "", "", "The value must be a public key without authorized_keys options."
	case len(strings.TrimSpace(string(rest))) > 0:
		return "", "", "The value must be a single public key."
	}
	switch pk.Type() {
	case ssh.KeyAlgoDSA:
		return "", "", "The value must not be a DSA key: DSA keys are no longer accepted."
	case ssh.KeyAlgoRSA:
		if ck, ok := pk.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
				return "", "", "The value must be an RSA key of at least 2048 bits."
			}
		}
	}
	stored = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	if comment = strings.TrimSpace(comment); comment != "" {
		stored += " " + comment
	}
	return stored, ssh.FingerprintSHA256(pk), ""
}

// KeyFingerprint is the SHA256 fingerprint of a stored key, "" if it does
// not parse.
func KeyFingerprint(stored string) string {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(stored))
	if err != nil {
		return ""
	}
	return ssh.FingerprintSHA256(pk)
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

// ErrNoAccount is an SSH session whose account was deleted meanwhile.
var ErrNoAccount = errors.New("your account no longer exists")

// CommitNow applies one change at once as its own revision, outside the
// session's draft (passwd: a new password takes effect without commit, as
// on AsyncOS). It goes through the commit check and the running services
// exactly as commit does.
func (s *Session) CommitNow(comment string, edit func(c *config.Config) error) error {
	d := store.NewDraft(s.shell.db, s.User, s.Source)
	if err := d.Update(edit); err != nil {
		return err
	}
	if _, err := d.CommitKind(s.Ctx, "commit", comment, false, s.shell.opts.Prepare); err != nil {
		return CommitError(s, err)
	}
	return nil
}
