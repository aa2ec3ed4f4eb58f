// Package rollbackconfig is the rollbackconfig command: load an earlier
// committed configuration into the draft and, if asked, commit it as a new
// revision (history is never rewritten).
package rollbackconfig

import (
	"fmt"

	"esash/shell"
	"esash/store"
)

// Listed is how many saved commits ROLLBACK offers, as AsyncOS.
const Listed = 10

// Command is rollbackconfig.
type Command struct{}

// New returns the rollbackconfig command.
func New() Command { return Command{} }

// Name implements shell.Command.
func (Command) Name() string { return "rollbackconfig" }

// Summary implements shell.Command.
func (Command) Summary() string { return "Roll back to one of the previously committed configurations" }

// Run shows the ROLLBACK menu.
func (c Command) Run(s *shell.Session, _ []string) error {
	return s.Menu(nil, []shell.MenuItem{
		{Name: "ROLLBACK", Help: "Roll back to a previous configuration.", Run: c.rollback},
	})
}

func (c Command) rollback(s *shell.Session) error {
	revs, err := s.Backend().Revisions(store.KeepRevisions)
	if err != nil {
		return err
	}
	head := s.Head().Rev
	var saved []store.Revision
	for _, r := range revs {
		if r.Rev != head && (r.Meta.Rollback || r.Meta.Kind == "factory") && len(saved) < Listed {
			saved = append(saved, r)
		}
	}
	if len(saved) == 0 {
		s.Println("There are no previous configurations saved for rollback.")
		return nil
	}
	items := make([]string, len(saved))
	for i, r := range saved {
		items[i] = fmt.Sprintf("Revision %d, %s, %s (%s): %s", r.Rev, shell.Stamp(r.Meta.Time), r.Meta.User, r.Meta.Source, r.Meta.Comment)
	}
	i, err := s.Choose("Select the configuration you want to roll back to:", items, 0, false)
	if err != nil {
		return err
	}
	ok, err := s.YesNo("Are you sure you want to roll back the configuration?", false)
	if err != nil || !ok {
		return err
	}
	cfg, err := s.Backend().ConfigAt(saved[i].Rev)
	if err != nil {
		return fmt.Errorf("rollback to revision %d: %w", saved[i].Rev, err)
	}
	now, err := s.YesNo("Do you want to commit this configuration now?", true)
	if err != nil {
		return err
	}
	s.Draft.Replace(cfg)
	if !now {
		s.Printf("The configuration of revision %d is staged. Use the commit command to apply it.\n", saved[i].Rev)
		return nil
	}
	return s.CommitDraft("rollback", fmt.Sprintf("Rollback to revision %d", saved[i].Rev), true)
}
