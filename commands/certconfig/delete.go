package certconfig

import (
	"fmt"
	"strings"

	"esash/config"
	"esash/shell"
)

// deleteProfile is DELETE: refused while a service uses the profile,
// confirmed otherwise.
func deleteProfile(s *shell.Session) error {
	// AsyncOS's list has a default here (IAF answers it with a blank line);
	// the confirmation that follows defaults to no.
	p, err := chooseProfile(s, "Select the certificate profile you wish to delete:", 1)
	if err != nil {
		return err
	}
	if err := checkUnused(s, p.Name); err != nil {
		return err
	}
	ok, err := s.YesNo(fmt.Sprintf("Are you sure you want to delete the certificate profile %s?", p.Name), false)
	if err != nil || !ok {
		return err
	}
	return removeProfile(s, p.Name)
}

// checkUnused refuses to delete a profile that something uses, naming
// every user.
func checkUnused(s *shell.Session, name string) error {
	if users := usersOf(s.Draft.Config(), name); len(users) > 0 {
		return refuse(s, "The certificate profile %s cannot be deleted: it is used by %s. Choose another certificate there first.", name, strings.Join(users, ", "))
	}
	return nil
}

// removeProfile stages the removal of a profile nothing uses.
func removeProfile(s *shell.Session, name string) error {
	if err := checkUnused(s, name); err != nil {
		return err
	}
	err := s.Draft.Update(func(c *config.Config) error {
		for i, p := range c.Certificates {
			if p.Name == name {
				c.Certificates = append(c.Certificates[:i:i], c.Certificates[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("there is no certificate profile %q", name)
	})
	if err != nil {
		return err
	}
	s.Printf("Certificate profile %s deleted: commit to make it permanent.\n", name)
	return nil
}
