package certconfig

import (
	"esash/shell"
)

// printServices is PRINT: which profile each service uses.
func printServices(s *shell.Session) error {
	cfg := s.Draft.Config()
	profile := func(n string) string {
		if n == "" {
			return "(none)"
		}
		if _, ok := findProfile(cfg, n); !ok {
			return n + " (missing)"
		}
		return n
	}
	rows := [][]string{{"Service", "Certificate profile"}}
	for _, l := range cfg.Listeners {
		rows = append(rows, []string{"Inbound TLS: listener " + l.Name, profile(l.Certificate)})
	}
	rows = append(rows, []string{"Outbound TLS: destination controls", profile(cfg.Destinations.Certificate)})
	for _, in := range cfg.Interfaces {
		if !in.HTTPS.Enabled && in.HTTPSCert == "" {
			continue
		}
		what := "HTTPS: interface " + in.Name
		if !in.HTTPS.Enabled {
			what += " (HTTPS off)"
		}
		rows = append(rows, []string{what, profile(in.HTTPSCert)})
	}
	rows = append(rows,
		[]string{"LDAPS: LDAP global settings", profile(cfg.LDAP.Certificate)},
		[]string{"Web security: client certificate", profile(cfg.WebSecurity.ClientCertificate)},
	)
	s.Println("Certificates assigned to services:")
	writeTable(s, rows)
	s.Println()
	return nil
}
