// Package saveconfig is the saveconfig command: the committed configuration
// written as an XML file into the configuration directory, named
// <model>-<serial>-<timestamp>.xml, with secrets masked, encrypted with a
// passphrase, or plain, as the administrator chooses.
//
// Batch form: "saveconfig 1|2|3", or AsyncOS 9's "saveconfig y|n [1|2|3]".
package saveconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"esash/config"
	"esash/shell"
	"esash/shell/backup"
)

// Command is saveconfig.
type Command struct{}

// New returns the saveconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "saveconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Saves the current configuration to a file" }

// Run asks the passphrase option and writes the file.
func (Command) Run(s *shell.Session, args []string) error {
	o, data, err := backup.Prepare(s, args)
	if err != nil {
		return err
	}
	name, err := write(s, data)
	if err != nil {
		return err
	}
	if err := backup.Audit(s, "saveconfig "+name, o); err != nil {
		return err
	}
	// Scripts pick the file name out of the output: it is alone on its
	// line, which ends in ".xml".
	s.Println("The configuration file has been saved in the configuration directory as:")
	s.Println(name)
	return nil
}

// write creates the file, never replacing an earlier one: two saves within
// one second get "-2", "-3" ... before ".xml". The file is readable by the
// appliance's user only: it may hold secrets.
func write(s *shell.Session, data []byte) (string, error) {
	base := strings.TrimSuffix(config.ExportFileName(s.Now()), ".xml")
	for i := 1; i < 100; i++ {
		name := base + ".xml"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.xml", base, i)
		}
		// A new file only, never through a link (shell's CreateConfigFile).
		f, err := s.CreateConfigFile(name, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("cannot save the configuration: %w", err)
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			path, _ := s.ConfigFile(name)
			os.Remove(path) // the name is fresh: ours, a file, not a link
			return "", fmt.Errorf("cannot save the configuration: %w", err)
		}
		return name, nil
	}
	return "", errors.New("cannot save the configuration: too many files of this second")
}
