package shell

import (
	"slices"

	"esash/config"
)

// ChooseCertificate asks which certificate profile of cfg a service
// (HTTPS, TLS ...) uses, defaulting to cur, and confirms the Demo
// certificate as AsyncOS does. With no profile at all it refuses with none:
// shown and back to the menu on a terminal, the end of a script.
func (s *Session) ChooseCertificate(cfg *config.Config, cur, service, none string) (string, error) {
	var certs []string
	for _, ct := range cfg.Certificates {
		certs = append(certs, ct.Name)
	}
	if len(certs) == 0 {
		if err := s.Reject(none); err != nil {
			return "", err
		}
		return "", ErrBack
	}
	def := max(slices.Index(certs, cur)+1, 1)
	for {
		k, err := s.Choose("Please choose the certificate to apply:", certs, def, true)
		if err != nil {
			return "", err
		}
		if certs[k] != "Demo" {
			return certs[k], nil
		}
		s.Printf("You may use the \"Demo\" certificate to test %s, but this will not be secure.\n", service)
		ok, err := s.YesNo(`Do you really wish to use the "Demo" certificate?`, true)
		if err != nil || ok {
			return certs[k], err
		}
	}
}
