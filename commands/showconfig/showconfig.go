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
//
// On a clustered machine each section is preceded by the comment
// <!-- origin: cluster | group <name> | machine <hostname> -->: where the
// session's view at its cluster mode takes that section from (issue 13;
// AsyncOS shows the mode only in its prompt, and a whole-section override
// is what an administrator needs to find). A standalone appliance's
// output is unchanged.
package showconfig

import (
	"strings"

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
		Origins:      origins(s),
	})
	if err != nil {
		return err
	}
	if err := backup.Audit(s, "showconfig", o); err != nil {
		return err
	}
	return s.Page(string(data))
}

// origins names, for each section of the session's view, the level it
// comes from; nil when standalone.
func origins(s *shell.Session) map[string]string {
	c := s.Cluster()
	if c == nil {
		return nil
	}
	out := map[string]string{}
	for section, level := range c.Origins(s.Level()) {
		out[section] = strings.ToLower(string(level.Kind))
		if level.Kind != config.LevelCluster {
			_, name, _ := strings.Cut(s.ModeName(level), " ")
			out[section] += " " + name
		}
	}
	return out
}
