// Package backup is the export dialog that saveconfig, showconfig and
// mailconfig share: the note about uncommitted changes, the passphrase menu
// (or its batch arguments, config.ParseExportArgs), the export of the
// committed configuration and its audit entry. The file format itself is
// config.Export's. It lives beside the shell rather than in a command so
// that no command imports another.
package backup

import (
	"fmt"

	"esash/config"
	"esash/shell"
	"esash/store"
)

// The passphrase menu, worded as AsyncOS 14.x words it (scripts such as
// oxidized strip these exact lines). esash can load a masked file: masked
// values keep the appliance's current ones (see loadconfig), but the first
// item keeps AsyncOS's text for the sake of those scripts.
const (
	Question = "Choose the passphrase option:"
	MaskItem = "Mask passphrases (Files with masked passphrases cannot be loaded using loadconfig command)"
	EncItem  = "Encrypt passphrases"
	Plain    = "Plain passphrases"
)

// Options are what the passphrase dialog chose.
type Options struct {
	Secrets    config.SecretMode
	Passphrase string
}

// Ask asks for the passphrase option, or reads it from batch arguments:
// "1", "2" or "3"; or AsyncOS's older mask question answered "y" (mask) or
// "n" (plain), optionally followed by the option number ("saveconfig y 1").
// Encrypting asks for the passphrase, twice.
func Ask(s *shell.Session, args []string) (Options, error) {
	var o Options
	if len(args) > 0 {
		m, msg := config.ParseExportArgs(args)
		if msg != "" {
			return o, shell.Invalid(s, "passphrase option", msg)
		}
		o.Secrets = m
	} else {
		i, err := s.Choose(Question, []string{MaskItem, EncItem, Plain}, 1, false)
		if err != nil {
			return o, err
		}
		o.Secrets = config.ExportSecretModes()[i]
	}
	if o.Secrets == config.EncryptSecrets {
		p, err := s.NewSecret("Enter the passphrase to encrypt the passphrases in the file:", "Confirm the passphrase:", config.CheckExportPassphrase)
		if err != nil {
			return o, err
		}
		o.Passphrase = p
	}
	return o, nil
}

// Export writes the committed configuration (never the session's
// uncommitted changes) as a configuration file.
func Export(s *shell.Session, o Options) ([]byte, error) {
	return config.Export(s.Head().Config, config.ExportOptions{
		Secrets:    o.Secrets,
		Passphrase: o.Passphrase,
		Time:       s.Now(),
	})
}

// Prepare is what showconfig and saveconfig do first: the note about
// uncommitted changes, the passphrase dialog (or its batch arguments) and
// the export of the committed configuration.
func Prepare(s *shell.Session, args []string) (Options, []byte, error) {
	NoteDraft(s)
	o, err := Ask(s, args)
	if err != nil {
		return o, nil, err
	}
	data, err := Export(s, o)
	return o, data, err
}

// NoteDraft tells an administrator with uncommitted changes that they are
// not part of what is shown or saved.
func NoteDraft(s *shell.Session) {
	if s.Draft.Changed() {
		s.Println("Note: the committed configuration is used; your uncommitted changes are not included.")
	}
}

// Audit records an export in the audit trail: plain exports especially,
// since they carry every secret in clear. The detail never holds a secret.
func Audit(s *shell.Session, what string, o Options) error {
	err := s.Backend().Audit(store.AuditEntry{
		Time: s.Now(), User: s.User, Source: s.Source, Action: "export",
		Rev: s.Head().Rev, Detail: fmt.Sprintf("%s, passphrases %s", what, o.Secrets),
	})
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	return nil
}
