package destconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"esash/config"
	"esash/shell"
)

// maxFile bounds what IMPORT reads: far above 50,000 entries.
const maxFile = 64 << 20

func importFile(s *shell.Session) error {
	name, err := s.Ask("Enter the name of the file to import.", "", fileCheck(s))
	if err != nil {
		return err
	}
	return importNamed(s, name)
}

func exportFile(s *shell.Session) error {
	name, err := s.Ask("Enter the name of the file to export.", "", fileCheck(s))
	if err != nil {
		return err
	}
	return exportNamed(s, name)
}

func fileCheck(s *shell.Session) func(string) string {
	return func(a string) string {
		_, msg := s.ConfigFile(a)
		return msg
	}
}

// readConfigFile reads a file of the configuration directory for IMPORT,
// returning the AsyncOS-style message when it cannot.
func readConfigFile(s *shell.Session, name string) ([]byte, string) {
	path, msg := s.ConfigFile(name)
	if msg != "" {
		return nil, msg
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Sprintf("Error reading file: the file %q does not exist in the configuration directory.", name)
	case err != nil:
		return nil, "Error reading file."
	case !st.Mode().IsRegular():
		return nil, fmt.Sprintf("Error reading file: %q is not a regular file.", name)
	case st.Size() > maxFile:
		return nil, fmt.Sprintf("Error reading file: %q is larger than %d MB.", name, maxFile>>20)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "Error reading file."
	}
	return data, ""
}

// writeConfigFile writes a file of the configuration directory for EXPORT,
// whole or not at all.
func writeConfigFile(s *shell.Session, name string, data []byte) string {
	path, msg := s.ConfigFile(name)
	if msg != "" {
		return msg
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "Error writing file."
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return "Error writing file."
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "Error writing file."
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "Error writing file."
	}
	if err := tmp.Close(); err != nil {
		return "Error writing file."
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "Error writing file."
	}
	return ""
}

func importNamed(s *shell.Session, name string) error {
	data, msg := readConfigFile(s, name)
	if msg != "" {
		return fail(s, msg)
	}
	def, entries, err := config.ParseDestinations(data)
	if err != nil {
		return fail(s, fmt.Sprintf("Import failed: %v Nothing was imported.", err))
	}
	if err := s.Draft.Update(func(c *config.Config) error {
		c.Destinations.Default = def
		c.Destinations.Entries = entries
		return nil
	}); err != nil {
		return err
	}
	s.Printf("Imported %d entries and the default from %s.\n", len(entries), name)
	return nil
}

func exportNamed(s *shell.Session, name string) error {
	if msg := writeConfigFile(s, name, config.FormatDestinations(&s.Draft.Config().Destinations)); msg != "" {
		return fail(s, msg)
	}
	s.Printf("Exported %d entries and the default to %s.\n", len(s.Draft.Config().Destinations.Entries), name)
	return nil
}
