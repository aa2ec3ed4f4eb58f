package certconfig

import (
	"fmt"
	"strings"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// maxRevokedShown bounds the serial numbers PRINT lists of one CRL.
const maxRevokedShown = 1000

// printCRLList shows the lists before the CRL menu, and for LIST.
func printCRLList(s *shell.Session) {
	cfg := s.Draft.Config()
	if len(cfg.CRLs) == 0 {
		s.Println("No certificate revocation lists are configured.")
		s.Println()
		return
	}
	rows := [][]string{{"Name", "Issued By", "Source", "Status", "Next Update", "Revoked"}}
	now := s.Now()
	for _, e := range cfg.CRLs {
		src := "imported"
		if e.URL != "" {
			src = cut(e.URL)
		}
		rl, err := config.ParseCRLPEM(e.PEM)
		if err != nil {
			rows = append(rows, []string{e.Name, "-", src, "Invalid", "-", "-"})
			continue
		}
		info := pki.DescribeCRL(rl)
		next := "-"
		if !info.NextUpdate.IsZero() {
			next = day(info.NextUpdate)
		}
		rows = append(rows, []string{e.Name, cut(pki.CRLIssuerName(rl)), src, info.Status(now), next, fmt.Sprint(info.Revoked)})
	}
	s.Println("Certificate Revocation Lists")
	writeTable(s, rows)
	if hasURL(cfg) {
		s.Println("Lists with a URL are fetched again before their next update; the copy shown is the one stored.")
	}
	s.Println()
}

func hasURL(cfg *config.Config) bool {
	for _, e := range cfg.CRLs {
		if e.URL != "" {
			return true
		}
	}
	return false
}

// chooseCRL asks for one list; def as for chooseProfile.
func chooseCRL(s *shell.Session, question string, def int) (config.CRL, error) {
	cfg := s.Draft.Config()
	if len(cfg.CRLs) == 0 {
		s.Println("There are no certificate revocation lists.")
		return config.CRL{}, shell.ErrBack
	}
	names := make([]string, len(cfg.CRLs))
	for i, e := range cfg.CRLs {
		names[i] = e.Name
	}
	i, err := s.Choose(question, names, def, true)
	if err != nil {
		return config.CRL{}, err
	}
	return cfg.CRLs[i], nil
}

// printCRL is CRL > PRINT: one list's details and revoked serials.
func printCRL(s *shell.Session) error {
	e, err := chooseCRL(s, "Select the CRL you wish to print:", 1)
	if err != nil {
		return err
	}
	return printOneCRL(s, e)
}

// printOneCRL shows e's details.
func printOneCRL(s *shell.Session, e config.CRL) error {
	rl, err := config.ParseCRLPEM(e.PEM)
	if err != nil {
		s.Printf("The CRL %s cannot be read: %v.\n", e.Name, err)
		return nil
	}
	info := pki.DescribeCRL(rl)
	var b strings.Builder
	fmt.Fprintf(&b, "Name:        %s\n", e.Name)
	if e.URL != "" {
		fmt.Fprintf(&b, "URL:         %s (fetched again before each next update)\n", e.URL)
	} else {
		b.WriteString("Source:      imported\n")
	}
	fmt.Fprintf(&b, "Issuer:      %s\n", info.Issuer)
	fmt.Fprintf(&b, "This update: %s\n", stampOf(info.ThisUpdate))
	fmt.Fprintf(&b, "Next update: %s\n", nextUpdate(rl))
	fmt.Fprintf(&b, "Status:      %s\n", info.Status(s.Now()))
	if info.Number != nil {
		fmt.Fprintf(&b, "CRL number:  %s\n", info.Number)
	}
	fmt.Fprintf(&b, "SHA256:      %s\n", info.FingerprintSHA256)
	fmt.Fprintf(&b, "Revoked:     %d\n", info.Revoked)
	for i, r := range rl.RevokedCertificateEntries {
		if i == maxRevokedShown {
			fmt.Fprintf(&b, "  ... and %d more\n", info.Revoked-maxRevokedShown)
			break
		}
		fmt.Fprintf(&b, "  Serial %s  revoked %s%s\n", strings.ToUpper(fmt.Sprintf("%02x", r.SerialNumber)), stampOf(r.RevocationTime), reasonText(r.ReasonCode))
	}
	b.WriteString("\n")
	return s.Page(b.String())
}

// reasonText names an RFC 5280 revocation reason as OpenSSL prints it.
func reasonText(code int) string {
	names := map[int]string{1: "Key Compromise", 2: "CA Compromise", 3: "Affiliation Changed", 4: "Superseded",
		5: "Cessation Of Operation", 6: "Certificate Hold", 8: "Remove From CRL", 9: "Privilege Withdrawn", 10: "AA Compromise"}
	if n, ok := names[code]; ok {
		return "  (" + n + ")"
	}
	return ""
}

// deleteCRL is CRL > DELETE.
func deleteCRL(s *shell.Session) error {
	e, err := chooseCRL(s, "Select the CRL you wish to delete:", 1)
	if err != nil {
		return err
	}
	ok, err := s.YesNo(fmt.Sprintf("Are you sure you want to delete the CRL %s?", e.Name), false)
	if err != nil || !ok {
		return err
	}
	return removeCRL(s, e)
}

// removeCRL stages the removal of e.
func removeCRL(s *shell.Session, e config.CRL) error {
	if err := s.Draft.Update(func(c *config.Config) error {
		for i := range c.CRLs {
			if c.CRLs[i].Name == e.Name {
				c.CRLs = append(c.CRLs[:i:i], c.CRLs[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("there is no CRL %q", e.Name)
	}); err != nil {
		return err
	}
	s.Printf("CRL %s deleted: commit to stop checking certificates against it.\n", e.Name)
	return nil
}

// crlBatchUsage lists the batch forms of CRL.
const crlBatchUsage = "the batch forms of CRL are: certconfig crl list, certconfig crl print NAME, certconfig crl delete NAME"

// batchCRL runs `certconfig crl list|print NAME|delete NAME`.
func batchCRL(s *shell.Session, args []string) error {
	if len(args) == 0 {
		return shell.Invalid(s, "certconfig crl", crlBatchUsage)
	}
	op := strings.ToLower(args[0])
	switch {
	case op == "list" && len(args) == 1:
		printCRLList(s)
		return nil
	case (op == "print" || op == "delete") && len(args) == 2:
		e, ok := findCRL(s.Draft.Config(), args[1])
		if !ok {
			return shell.Invalid(s, "certconfig crl "+op, fmt.Sprintf("there is no CRL %q.", args[1]))
		}
		if op == "print" {
			return printOneCRL(s, e)
		}
		return removeCRL(s, e)
	}
	return shell.Invalid(s, "certconfig crl", crlBatchUsage)
}
