package shell

import (
	"context"

	"esash/accounts"
	"esash/config"
	"esash/store"
)

// Access control: what a session's role lets it run. The accounts
// themselves (passwords, keys, roles' names) are package accounts'.
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
	if u := accounts.FindUser(s.Head().Config, s.User); u != nil {
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
		return accounts.ErrNoAccount
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

// CommitNow applies one change at once as its own revision, outside the
// session's draft (passwd: a new password takes effect without commit, as
// on AsyncOS). It goes through the commit check and the running services
// exactly as commit does.
func (s *Session) CommitNow(comment string, edit func(c *config.Config) error) error {
	d := store.NewDraft(s.clusterBackend(), s.User, s.Source)
	if err := d.Update(edit); err != nil {
		return err
	}
	if _, err := d.CommitKind(s.Ctx, "commit", comment, false, s.shell.opts.Prepare); err != nil {
		return CommitError(s, err)
	}
	return nil
}
