package certconfig

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// errRedraw ends a menu round whose list of operations changed (ENABLE
// becomes DISABLE); dynamicMenu shows it again.
var errRedraw = errors.New("menu changed")

func dynamicMenu(s *shell.Session, header func(*shell.Session), items func(*shell.Session) []shell.MenuItem) error {
	for {
		err := s.Menu(header, items(s))
		if !errors.Is(err, errRedraw) {
			return err
		}
	}
}

// plural is "1 certificate", "2 certificates", "2 authorities", "3 days".
func plural(n int, noun string) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	if strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ay") {
		return fmt.Sprintf("%d %sies", n, noun[:len(noun)-1])
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func enabled(b bool) string {
	if b {
		return "Enabled"
	}
	return "Disabled"
}

// certauthorityMenu is CERTAUTHORITY: the two trust lists chains are
// verified against, here and by the MTA.
func certauthorityMenu(s *shell.Session) error {
	return s.Menu(func(s *shell.Session) {
		ca := s.Draft.Config().CAs
		s.Println("Certificate Authority Summary")
		s.Println()
		s.Printf("Custom List: %s (%s)\n", enabled(ca.CustomEnabled), plural(len(ca.Custom), "certificate"))
		s.Printf("System List: %s\n", enabled(ca.SystemEnabled))
		s.Println()
	}, []shell.MenuItem{
		{Name: "CUSTOM", Help: "Manage Custom Certificate Authorities", Run: customMenu},
		{Name: "SYSTEM", Help: "Manage System Certificate Authorities", Run: systemMenu},
	})
}

func customMenu(s *shell.Session) error {
	return dynamicMenu(s, func(s *shell.Session) {
		ca := s.Draft.Config().CAs
		s.Printf("Custom List: %s (%s)\n\n", enabled(ca.CustomEnabled), plural(len(ca.Custom), "certificate"))
	}, func(s *shell.Session) []shell.MenuItem {
		on := s.Draft.Config().CAs.CustomEnabled
		return []shell.MenuItem{
			{Name: "ENABLE", Help: "Enable the list of custom certificate authorities", Run: setList(true, true), Hidden: on},
			{Name: "DISABLE", Help: "Disable the list of custom certificate authorities", Run: setList(true, false), Hidden: !on},
			{Name: "IMPORT", Help: "Import custom certificate authorities from a PEM file", Run: importCAs},
			{Name: "EXPORT", Help: "Export custom certificate authorities to a PEM file", Run: exportCAs},
			{Name: "DELETE", Help: "Remove a custom certificate authority", Run: deleteCA},
			{Name: "PRINT", Help: "Display the custom certificate authorities", Run: printCAs},
		}
	})
}

func systemMenu(s *shell.Session) error {
	return dynamicMenu(s, func(s *shell.Session) {
		s.Printf("System List: %s\n\n", enabled(s.Draft.Config().CAs.SystemEnabled))
	}, func(s *shell.Session) []shell.MenuItem {
		on := s.Draft.Config().CAs.SystemEnabled
		return []shell.MenuItem{
			{Name: "ENABLE", Help: "Enable the list of system certificate authorities", Run: setList(false, true), Hidden: on},
			{Name: "DISABLE", Help: "Disable the list of system certificate authorities", Run: setList(false, false), Hidden: !on},
			{Name: "PRINT", Help: "Display the system certificate authorities", Run: printSystemCAs},
			{Name: "EXPORT", Help: "Export the system certificate authorities to a PEM file", Run: exportSystemCAs},
		}
	})
}

// setList enables or disables the custom or the system list.
func setList(custom, on bool) func(*shell.Session) error {
	which := "system"
	if custom {
		which = "custom"
	}
	return func(s *shell.Session) error {
		ca := s.Draft.Config().CAs
		cur := ca.SystemEnabled
		if custom {
			cur = ca.CustomEnabled
		}
		if cur == on {
			s.Printf("The %s certificate authority list is already %s.\n", which, strings.ToLower(enabled(on)))
			return nil
		}
		err := s.Draft.Update(func(c *config.Config) error {
			if custom {
				c.CAs.CustomEnabled = on
			} else {
				c.CAs.SystemEnabled = on
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.Printf("The %s certificate authority list is %s.\n", which, strings.ToLower(enabled(on)))
		if ca := s.Draft.Config().CAs; !ca.CustomEnabled && !ca.SystemEnabled {
			warnf(s, "both certificate authority lists are disabled: no certificate chain can be verified, neither of an uploaded certificate nor of a peer for Preferred-Verify or Required-Verify TLS.")
		}
		return errRedraw
	}
}

// importCAs is CUSTOM > IMPORT: every certificate of a PEM bundle file
// joins the custom list under its common name.
func importCAs(s *shell.Session) error {
	fname, err := s.Ask("Enter the name of the file on machine to import:", "", fileExists(s))
	if err != nil {
		return err
	}
	data, err := readConfigFile(s, fname)
	if err != nil {
		return refuse(s, "Cannot import %s: %v.", fname, err)
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		return refuse(s, "Could not read PEM data from file. (%s: %v)", fname, err)
	}
	check, err := s.YesNo("Do you want to check if Common Name or SAN:dNSName or both are in Fully Qualified Domain Name(FQDN) format?", false)
	if err != nil {
		return err
	}
	cfg := s.Draft.Config()
	now := s.Now()
	taken := map[string]bool{}
	var have []*x509.Certificate
	for _, ca := range cfg.CAs.Custom {
		taken[ca.Name] = true
		if cs, err := pki.ParseCertificates([]byte(ca.PEM)); err == nil {
			have = append(have, cs...)
		}
	}
	var add []config.CA
	for _, c := range certs {
		switch {
		case containsCert(have, c):
			s.Printf("%q is already in the custom list.\n", name(c))
			continue
		case now.After(c.NotAfter):
			warnf(s, "%q expired on %s; it was not imported.", name(c), day(c.NotAfter))
			continue
		case now.Before(c.NotBefore):
			warnf(s, "%q is not valid before %s; it was not imported.", name(c), day(c.NotBefore))
			continue
		case check && !namesAreFQDN(c):
			warnf(s, "neither the Common Name nor a SAN dNSName of %q is in FQDN format; it was not imported.", name(c))
			continue
		}
		if !c.IsCA {
			warnf(s, "%q is not a certificate authority (CA:FALSE): it is trusted only as itself.", name(c))
		}
		expiringSoon(s, []*x509.Certificate{c})
		n := caName(c, taken)
		taken[n] = true
		have = append(have, c)
		add = append(add, config.CA{Name: n, PEM: string(pki.EncodeCertificatePEM(c))})
	}
	if len(add) == 0 {
		return refuse(s, "No certificate authority was imported from %s.", fname)
	}
	if err := s.Draft.Update(func(c *config.Config) error {
		c.CAs.Custom = append(c.CAs.Custom, add...)
		return nil
	}); err != nil {
		return err
	}
	names := make([]string, len(add))
	for i, a := range add {
		names[i] = a.Name
	}
	s.Printf("Imported %s: %s.\n", plural(len(add), "custom certificate authority"), strings.Join(names, ", "))
	if !cfg.CAs.CustomEnabled {
		warnf(s, "the custom list is disabled; ENABLE it for these certificate authorities to be trusted.")
	}
	return nil
}

// namesAreFQDN is the CN/SAN FQDN check of CUSTOM > IMPORT: the names the
// certificate has must be fully qualified, and it must have one.
func namesAreFQDN(c *x509.Certificate) bool {
	if c.Subject.CommonName == "" && len(c.DNSNames) == 0 {
		return false
	}
	if c.Subject.CommonName != "" && !pki.IsFQDN(c.Subject.CommonName) {
		return false
	}
	for _, d := range c.DNSNames {
		if !pki.IsFQDN(d) {
			return false
		}
	}
	return true
}

// caName names a custom CA after its subject, as AsyncOS does; a second
// authority of the same name gets the start of its fingerprint appended.
// Brackets would end the name early in its setting path.
func caName(c *x509.Certificate, taken map[string]bool) string {
	n := strings.NewReplacer("[", "(", "]", ")").Replace(name(c))
	if !taken[n] {
		return n
	}
	return n + " (" + pki.Info(c).FingerprintSHA256[:11] + ")"
}

// chooseCA asks for one custom CA; def as for chooseProfile.
func chooseCA(s *shell.Session, question string, def int) (int, error) {
	custom := s.Draft.Config().CAs.Custom
	if len(custom) == 0 {
		s.Println("There are no custom certificate authorities.")
		return 0, shell.ErrBack
	}
	names := make([]string, len(custom))
	for i, ca := range custom {
		names[i] = ca.Name
	}
	return s.Choose(question, names, def, true)
}

// exportCAs is CUSTOM > EXPORT: all of the list or one of it, as PEM.
func exportCAs(s *shell.Session) error {
	custom := s.Draft.Config().CAs.Custom
	if len(custom) == 0 {
		s.Println("There are no custom certificate authorities.")
		return nil
	}
	all, err := s.YesNo("Do you want to export all certificates?", true)
	if err != nil {
		return err
	}
	list := custom
	if !all {
		i, err := chooseCA(s, "Select the custom ca certificate you wish to export:", 0)
		if err != nil {
			return err
		}
		list = custom[i : i+1]
	}
	fname, _, err := askExportFile(s, "Enter a name for the exported file:", "custom_ca.pem")
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, ca := range list {
		b.WriteString(ca.PEM)
	}
	if err := writeConfigFile(s, fname, []byte(b.String())); err != nil {
		return refuse(s, "Cannot write configuration/%s: %v.", fname, err)
	}
	s.Printf("Exported %s to configuration/%s.\n", plural(len(list), "custom certificate authority"), fname)
	return nil
}

// deleteCA is CUSTOM > DELETE, with a warning naming the profiles whose
// chain ends at the authority removed.
func deleteCA(s *shell.Session) error {
	// A default, as for DELETE of a profile; the confirmation defaults to no.
	i, err := chooseCA(s, "Select the custom ca certificate you wish to delete:", 1)
	if err != nil {
		return err
	}
	cfg := s.Draft.Config()
	ca := cfg.CAs.Custom[i]
	ok, err := s.YesNo(fmt.Sprintf("Are you sure you want to delete the custom ca certificate %q?", ca.Name), false)
	if err != nil || !ok {
		return err
	}
	dependents := profilesRootedAt(s, cfg, ca)
	if err := s.Draft.Update(func(c *config.Config) error {
		for j := range c.CAs.Custom {
			if c.CAs.Custom[j].Name == ca.Name {
				c.CAs.Custom = append(c.CAs.Custom[:j:j], c.CAs.Custom[j+1:]...)
				break
			}
		}
		return nil
	}); err != nil {
		return err
	}
	s.Printf("The custom ca certificate %q was deleted.\n", ca.Name)
	if len(dependents) > 0 {
		warnf(s, "the chain of certificate profile(s) %s ends at this certificate authority; it can no longer be verified here unless the system list trusts it.", strings.Join(dependents, ", "))
	}
	return nil
}

// profilesRootedAt names the profiles whose verified chain ends at ca.
func profilesRootedAt(s *shell.Session, cfg *config.Config, ca config.CA) []string {
	roots, err := pki.ParseCertificates([]byte(ca.PEM))
	if err != nil {
		return nil
	}
	t, err := trustOf(cfg)
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range cfg.Certificates {
		leaf, err1 := leafOf(p)
		inters, err2 := intermediatesOf(p)
		if err1 != nil || err2 != nil {
			continue
		}
		r, err := pki.BuildChain(leaf, inters, t.pool, s.Now())
		if err != nil || !r.Trusted || len(r.Path) < 2 {
			continue
		}
		if containsCert(roots, r.Path[len(r.Path)-1]) {
			out = append(out, p.Name)
		}
	}
	return out
}

// printCAs is CUSTOM > PRINT.
func printCAs(s *shell.Session) error {
	custom := s.Draft.Config().CAs.Custom
	if len(custom) == 0 {
		s.Println("There are no custom certificate authorities.")
		s.Println()
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Custom certificate authorities (%d):\n\n", len(custom))
	now := s.Now()
	for i, ca := range custom {
		fmt.Fprintf(&b, "%d. %s\n", i+1, ca.Name)
		certs, err := pki.ParseCertificates([]byte(ca.PEM))
		if err != nil {
			fmt.Fprintf(&b, "   (unreadable: %v)\n", err)
			continue
		}
		info := pki.Info(certs[0])
		fmt.Fprintf(&b, "   Subject: %s\n", info.Subject)
		fmt.Fprintf(&b, "   Issuer:  %s\n", certs[0].Issuer.String())
		fmt.Fprintf(&b, "   Valid:   %s to %s (%s)\n", day(info.NotBefore), day(info.NotAfter), info.Status(now))
		fmt.Fprintf(&b, "   SHA256:  %s\n", info.FingerprintSHA256)
	}
	b.WriteString("\n")
	return s.Page(b.String())
}

// printSystemCAs is SYSTEM > PRINT: the operating system's trust store.
func printSystemCAs(s *shell.Session) error {
	certs, err := pki.SystemRootCertificates()
	if err != nil || len(certs) == 0 {
		s.Println("The system certificate authorities cannot be listed on this platform.")
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "System certificate authorities (%d):\n\n", len(certs))
	rows := make([][2]string, len(certs))
	w := 0
	for i, c := range certs {
		rows[i] = [2]string{name(c), day(c.NotAfter)}
		w = max(w, len(rows[i][0]))
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s  expires %s\n", w, r[0], r[1])
	}
	b.WriteString("\n")
	return s.Page(b.String())
}

// exportSystemCAs is SYSTEM > EXPORT.
func exportSystemCAs(s *shell.Session) error {
	certs, err := pki.SystemRootCertificates()
	if err != nil || len(certs) == 0 {
		s.Println("The system certificate authorities cannot be listed on this platform.")
		return nil
	}
	fname, _, err := askExportFile(s, "Enter a name for the exported file:", "system_ca.pem")
	if err != nil {
		return err
	}
	if err := writeConfigFile(s, fname, pki.EncodeCertificatePEM(certs...)); err != nil {
		return refuse(s, "Cannot write configuration/%s: %v.", fname, err)
	}
	s.Printf("Exported %s to configuration/%s.\n", plural(len(certs), "system certificate authority"), fname)
	return nil
}
