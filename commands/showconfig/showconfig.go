// Package showconfig is the showconfig command: the committed configuration
// as the XML document saveconfig writes, on the screen (paged).
//
// Batch form: "showconfig 1|2|3", or "showconfig y|n [1|2|3]" as saveconfig.
//
// Beyond AsyncOS: each value of a setting esash stores only so that
// AsyncOS scripts carry over (the engines it does not have: anti-spam,
// anti-virus, DKIM, SPF, DMARC ..., see docs/settings.md) is followed by
// the comment <!-- (not active on this appliance) -->, so that the screen
// never shows such a setting as if it worked. Comments do not change what
// loadconfig reads; saveconfig files stay without them.
package showconfig

import (
	"esash/config"
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
	backup.NoteDraft(s)
	o, err := backup.Ask(s, args)
	if err != nil {
		return err
	}
	data, err := config.Export(s.Head().Config, config.ExportOptions{
		Secrets:      o.Secrets,
		Passphrase:   o.Passphrase,
		Time:         s.Now(),
		MarkInactive: true,
	})
	if err != nil {
		return err
	}
	if err := backup.Audit(s, "showconfig", o); err != nil {
		return err
	}
	return s.Page(string(data))
}
