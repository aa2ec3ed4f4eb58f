// Package backup is the dialog that showconfig and saveconfig share: the
// passphrase menu and the export of the committed configuration. The file
// format itself is config.Export's.
package backup

import (
	"fmt"
	"strings"

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

var modes = []config.SecretMode{config.MaskSecrets, config.EncryptSecrets, config.PlainSecrets}

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
		m, msg := fromArgs(args)
		if msg != "" {
			return o, shell.Invalid(s, "passphrase option", msg)
		}
		o.Secrets = m
	} else {
		i, err := s.Choose(Question, []string{MaskItem, EncItem, Plain}, 1, false)
		if err != nil {
			return o, err
		}
		o.Secrets = modes[i]
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

const argsMsg = `The value must be 1 (mask), 2 (encrypt) or 3 (plain), or "y" or "n" (mask the passphrases?) followed by an optional option number.`

func fromArgs(args []string) (config.SecretMode, string) {
	num := func(a string) (config.SecretMode, bool) {
		switch a {
		case "1", "2", "3":
			return modes[a[0]-'1'], true
		}
		return "", false
	}
	if len(args) > 2 {
		return "", argsMsg
	}
	if m, ok := num(args[0]); ok {
		if len(args) > 1 {
			return "", argsMsg
		}
		return m, ""
	}
	var mask bool
	switch strings.ToLower(args[0]) {
	case "y", "yes":
		mask = true
	case "n", "no":
	default:
		return "", argsMsg
	}
	if len(args) == 1 {
		if mask {
			return config.MaskSecrets, ""
		}
		return config.PlainSecrets, ""
	}
	m, ok := num(args[1])
	if !ok || mask != (m == config.MaskSecrets) {
		return "", argsMsg
	}
	return m, ""
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
