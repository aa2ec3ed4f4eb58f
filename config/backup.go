package config

import "strings"

// The passphrase option of a configuration export, shared by every command
// that writes the committed configuration out (saveconfig, showconfig,
// mailconfig): the three modes in the order AsyncOS's menu lists them, and
// their batch form, "1", "2" or "3", or AsyncOS's older mask question
// answered "y" (mask) or "n" (plain), optionally followed by the option
// number ("saveconfig y 1").

// ExportSecretModes lists the secret modes in the passphrase menu's order.
func ExportSecretModes() []SecretMode {
	return []SecretMode{MaskSecrets, EncryptSecrets, PlainSecrets}
}

// ExportArgsAccepted says what ParseExportArgs accepts.
const ExportArgsAccepted = `The value must be 1 (mask), 2 (encrypt) or 3 (plain), or "y" or "n" (mask the passphrases?) followed by an optional option number.`

// ParseExportArgs reads the passphrase option from a command's batch
// arguments; it returns "" and ExportArgsAccepted when they are not one.
func ParseExportArgs(args []string) (SecretMode, string) {
	num := func(a string) (SecretMode, bool) {
		switch a {
		case "1", "2", "3":
			return ExportSecretModes()[a[0]-'1'], true
		}
		return "", false
	}
	if len(args) == 0 || len(args) > 2 {
		return "", ExportArgsAccepted
	}
	if m, ok := num(args[0]); ok {
		if len(args) > 1 {
			return "", ExportArgsAccepted
		}
		return m, ""
	}
	var mask bool
	switch strings.ToLower(args[0]) {
	case "y", "yes":
		mask = true
	case "n", "no":
	default:
		return "", ExportArgsAccepted
	}
	if len(args) == 1 {
		if mask {
			return MaskSecrets, ""
		}
		return PlainSecrets, ""
	}
	m, ok := num(args[1])
	if !ok || mask != (m == MaskSecrets) {
		return "", ExportArgsAccepted
	}
	return m, ""
}
