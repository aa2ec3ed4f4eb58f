package destconfig

import (
	"fmt"

	"esash/config"
	"esash/shell"
)

func importFile(s *shell.Session) error {
	name, err := s.AskConfigFile("Enter the name of the file to import.", "")
	if err != nil {
		return err
	}
	return importNamed(s, name)
}

func exportFile(s *shell.Session) error {
	name, err := s.AskConfigFile("Enter the name of the file to export.", "")
	if err != nil {
		return err
	}
	return exportNamed(s, name)
}

func importNamed(s *shell.Session, name string) error {
	data, err := s.ReadConfigFile(name)
	if err != nil {
		return s.Reject(err.Error())
	}
	def, entries, err := config.ParseDestinations(data)
	if err != nil {
		return s.Reject(fmt.Sprintf("Import failed: %v Nothing was imported.", err))
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
	if err := s.WriteConfigFile(name, config.FormatDestinations(&s.Draft.Config().Destinations), 0o600); err != nil {
		return s.Reject(err.Error())
	}
	s.Printf("Exported %d entries and the default to %s.\n", len(s.Draft.Config().Destinations.Entries), name)
	return nil
}
