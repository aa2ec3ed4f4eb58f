// Package sethostname is the sethostname command: the appliance's
// fully-qualified host name, staged until commit like every setting.
package sethostname

import (
	"esash/config"
	"esash/shell"
)

// Command is sethostname.
type Command struct{}

// New returns the sethostname command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "sethostname" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Set the name of the machine" }

// Run asks for the new name (or takes it as the batch argument) and stages it.
func (Command) Run(s *shell.Session, args []string) error {
	var name string
	if len(args) > 0 {
		name = args[0]
		if msg := config.CheckHostname(name); msg != "" {
			return shell.Invalid(s, "hostname", msg)
		}
	} else {
		var err error
		name, err = s.Ask("", s.Draft.Config().Hostname, config.CheckHostname)
		if err != nil {
			return err
		}
	}
	return s.Draft.Update(func(c *config.Config) error {
		c.Hostname = name
		return nil
	})
}
