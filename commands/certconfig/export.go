package certconfig

import (
	"esash/pki"
	"esash/shell"
)

// exportProfile is EXPORT: the profile's certificate, key and
// intermediates as a PKCS#12 file in the configuration directory,
// encrypted with AES-256 under a passphrase asked twice, mode 0600.
func exportProfile(s *shell.Session) error {
	p, err := chooseProfile(s, "Select the certificate profile you wish to export:", 0)
	if err != nil {
		return err
	}
	d, err := loadDraft(s, p)
	if err != nil {
		return err
	}
	fname, _, err := askExportFile(s, "Enter a name for the exported file:", p.Name+".p12")
	if err != nil {
		return err
	}
	pw, err := s.NewSecret("Create a passphrase for file "+fname+":", "Confirm the passphrase for file "+fname+":", func(v string) string {
		if v == "" {
			return "The passphrase must not be empty."
		}
		return ""
	})
	if err != nil {
		return err
	}
	der, err := pki.EncodePKCS12(d.key, d.leaf, d.inters, pw)
	if err != nil {
		return refuse(s, "Cannot export profile %s: %v.", p.Name, err)
	}
	if err := writeConfigFile(s, fname, der); err != nil {
		return refuse(s, "Cannot write configuration/%s: %v.", fname, err)
	}
	s.Printf("Certificate profile %s was exported to configuration/%s (PKCS#12, AES-256).\n", p.Name, fname)
	if !committed(s, p) {
		warnf(s, "profile %s is not committed yet: if the change is cleared, the appliance no longer has the key this file holds.", p.Name)
	}
	return nil
}
