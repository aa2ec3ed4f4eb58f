// Package showconfig is the showconfig command: the committed configuration
// as the XML document saveconfig writes, on the screen (paged).
//
// Batch form: "showconfig 1|2|3", or "showconfig y|n [1|2|3]" as saveconfig.
package showconfig

import (
	"esash/shell"
	"esash/shell/backup"
)

// Command is showconfig.
type Command struct{}

// New returns the showconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "showconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Display all configuration values" }

// Run asks the passphrase option and shows the configuration.
func (Command) Run(s *shell.Session, args []string) error {
	o, data, err := backup.Prepare(s, args)
	if err != nil {
		return err
	}
	if err := backup.Audit(s, "showconfig", o); err != nil {
		return err
	}
	return s.Page(string(data))
}
