// Package loadconfig is the loadconfig command: a configuration file, pasted
// or read from the configuration directory, loaded into the session's
// draft. Nothing reaches the running configuration until commit, which
// checks it as any other change.
//
// Secrets follow the file's passphrase option: plain values load as they
// are; encrypted ones need the file's passphrase; masked ones keep the
// appliance's current value, and a masked secret with no current value
// refuses the whole file, naming every such setting (AsyncOS cannot load a
// masked file at all).
//
// Batch form: "loadconfig <file>".
package loadconfig

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"esash/config"
	"esash/shell"
	"esash/store"
)

// MaxSize bounds a file or a paste (a configuration with ten thousand
// destinations is a few megabytes).
const MaxSize = 64 << 20

// Command is loadconfig.
type Command struct{}

// New returns the loadconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "loadconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Load a configuration file" }

// Methods of loading, in AsyncOS's order.
var methods = []string{"Paste via CLI", "Load from file"}

// Run asks how to load, reads the file, and stages it.
func (Command) Run(s *shell.Session, args []string) error {
	if len(args) > 1 {
		return shell.Invalid(s, "file", "loadconfig takes one file name")
	}
	if s.Draft.Changed() {
		ok, err := s.YesNo("You have uncommitted changes. Loading a configuration discards them. Do you want to continue?", false)
		if err != nil || !ok {
			return err
		}
	}
	var data []byte
	var source string
	var err error
	if len(args) == 1 {
		source = args[0]
		if _, msg := s.ConfigFile(source); msg != "" {
			return shell.Invalid(s, "file", msg)
		}
		data, err = readFile(s, source)
	} else {
		i, cerr := s.Choose("How would you like to load a configuration file?", methods, 1, false)
		if cerr != nil {
			return cerr
		}
		if i == 0 {
			source = "pasted"
			data, err = paste(s)
		} else {
			name, aerr := s.Ask("Enter the name of the file to import:", "", func(a string) string {
				_, msg := s.ConfigFile(a)
				return msg
			})
			if aerr != nil {
				return aerr
			}
			source = name
			data, err = readFile(s, name)
		}
	}
	if err != nil {
		return err
	}
	return load(s, source, data)
}

func readFile(s *shell.Session, name string) ([]byte, error) {
	// Never through a symbolic link (shell's OpenConfigFile).
	f, err := s.OpenConfigFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("Error: the file %q does not exist.", name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("Error: the file %q cannot be read: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("Error: the file %q is larger than %d MB.", name, MaxSize>>20)
	}
	return data, nil
}

// paste reads the pasted file up to Ctrl-D (the end of input on a
// terminal, or a line holding the ^D character in a script) or a line
// holding only ".". Lines are kept as they are: the file format never
// spreads a value over lines, but a pasted file keeps its line numbers for
// error messages. (shell.Session.Paste drops blank lines and knows no
// Ctrl-D, hence this reader.)
func paste(s *shell.Session) ([]byte, error) {
	s.Println("Paste the configuration file now.")
	s.Println("Press CTRL-D on a blank line, or enter a line holding only \".\", when done.")
	var b strings.Builder
	for {
		line, err := s.In.ReadLine("")
		switch {
		case errors.Is(err, io.EOF):
			return []byte(b.String()), nil
		case err != nil:
			return nil, err
		}
		if before, _, ctrlD := strings.Cut(line, "\x04"); ctrlD {
			b.WriteString(before)
			return []byte(b.String()), nil
		}
		if strings.TrimSpace(line) == "." {
			return []byte(b.String()), nil
		}
		if b.Len()+len(line) > MaxSize {
			return nil, fmt.Errorf("Parsing failed: the pasted configuration is larger than %d MB.", MaxSize>>20)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
}

func load(s *shell.Session, source string, data []byte) error {
	im, err := config.ParseExport(data)
	switch {
	case errors.Is(err, config.ErrEmptyFile):
		return errors.New("No data to load.")
	case err != nil:
		return fmt.Errorf("Parsing failed: %w", err)
	}
	current := s.Head().Config
	var loaded *config.Loaded
	for {
		pass := ""
		if im.NeedsPassphrase() {
			if pass, err = s.Secret("Enter the passphrase of the file:"); err != nil {
				return err
			}
		}
		loaded, err = im.Load(pass, current)
		if !errors.Is(err, config.ErrPassphrase) && !errors.Is(err, config.ErrNoPassphrase) {
			break
		}
		if err := s.Reject("The passphrase is not correct."); err != nil {
			return err
		}
	}
	var missing *config.MissingSecretsError
	switch {
	case errors.As(err, &missing):
		var b strings.Builder
		b.WriteString("Parsing failed: these masked passphrases have no current value on this appliance to keep\n(a private key is kept only for the same certificate):")
		for _, p := range missing.Paths {
			b.WriteString("\n  " + p)
		}
		b.WriteString("\nLoad a file saved with encrypted or plain passphrases.")
		return errors.New(b.String())
	case err != nil:
		return fmt.Errorf("Parsing failed: %w", err)
	}
	// What was staged before is discarded (the question above), and the
	// draft follows the running configuration the file is compared with.
	s.Draft.Clear()
	changes := config.Diff(s.Draft.Config(), loaded.Config)
	if len(changes) == 0 {
		s.Println("No changes detected.")
		return nil
	}
	s.Draft.Replace(loaded.Config)
	if len(loaded.Kept) > 0 {
		s.Println("These masked passphrases keep their current values:")
		for _, p := range loaded.Kept {
			s.Printf("  %s\n", p)
		}
	}
	if err := s.Backend().Audit(store.AuditEntry{
		Time: s.Now(), User: s.User, Source: s.Source, Action: "load", Rev: s.Head().Rev,
		Detail: fmt.Sprintf("loadconfig %s (passphrases %s): %d changes staged", source, im.Secrets, len(changes)),
	}); err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	s.Println("Values have been loaded.")
	s.Println(`Be sure to run "commit" to make these changes active.`)
	return nil
}
