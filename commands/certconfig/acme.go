package certconfig

import (
	"fmt"
	"strings"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// The ACME profile of NEW (issue 15). AsyncOS has no ACME, so the
// questions and their order are esash's ([U] in the reference). Decision:
// it is the third certificate type of NEW, after AsyncOS's two, so that
// answers 1 and 2 (and the default 1) of existing scripts keep their
// meaning and the self-signed dialog is unchanged; the only change an
// existing transcript sees is the added line "3. ..." in the type list.
// A separate menu operation would have added a line to every CERTIFICATE
// menu of every transcript, and a new question before the type would
// have shifted every scripted answer after it.

// acmeType is the index of the ACME choice in newTypes.
const acmeType = 2

// defaultDirectory is the ACME directory NEW proposes.
const defaultDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// ACMEStatus is what the daemon's ACME manager reports of one profile.
type ACMEStatus struct {
	State       string // pending, valid, failing
	NotAfter    time.Time
	LastError   string
	NextAttempt time.Time
	FailedAt    time.Time // when LastError happened (zero: not known, from a state file of an older version)
}

// newACMEProfile asks for an ACME profile and stages it with a
// self-signed placeholder and a new account key; the daemon orders the
// certificate after the commit.
func newACMEProfile(s *shell.Session) error {
	name, err := s.Ask(qProfileName, "", func(v string) string {
		if msg := config.CheckName(v); msg != "" {
			return msg
		}
		if _, exists := findProfile(s.Draft.Config(), v); exists {
			return fmt.Sprintf("Certificate profile %s already exists.", v)
		}
		return ""
	})
	if err != nil {
		return err
	}
	a := config.ACMEProfile{}
	if a.DirectoryURL, err = s.Ask("Enter the ACME directory URL of the certificate authority:", defaultDirectory, config.CheckACMEDirectory); err != nil {
		return err
	}
	if a.Email, err = s.AskOptional("Enter the contact email address for the ACME account (blank for none):", "", func(v string) string {
		if v == "" {
			return ""
		}
		return config.CheckEmail(v)
	}); err != nil {
		return err
	}
	if a.Names, err = askACMENames(s); err != nil {
		return err
	}
	if err := askACMEChoices(s, &a); err != nil {
		return err
	}
	return stageACME(s, name, a)
}

// askACMENames asks the common name, then further names until a blank.
func askACMENames(s *shell.Session) ([]string, error) {
	cn, err := s.Ask("Enter Common Name:", "", config.CheckACMEName)
	if err != nil {
		return nil, err
	}
	names := []string{strings.ToLower(cn)}
	for {
		d, err := s.AskOptional("Enter another DNS name for the certificate (blank for none):", "", func(v string) string {
			if v == "" {
				return ""
			}
			return config.CheckACMEName(v)
		})
		if err != nil || d == "" {
			return names, err
		}
		d = strings.ToLower(d)
		if !containsName(names, d) {
			names = append(names, d)
		}
	}
}

func containsName(list []string, n string) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

// askACMEChoices asks the key type, the challenge and the trust.
func askACMEChoices(s *shell.Session, a *config.ACMEProfile) error {
	labels := make([]string, len(config.ACMEKeyTypes))
	for i, k := range config.ACMEKeyTypes {
		labels[i] = string(k)
	}
	k, err := s.Choose("Select the type of private key:", labels, 1, true)
	if err != nil {
		return err
	}
	a.KeyType = config.ACMEKeyTypes[k]
	c, err := s.Choose("Choose how the certificate authority validates the names:", []string{
		"HTTP-01 (on port 80 of the interfaces, open only while a validation is pending)",
		"TLS-ALPN-01 (on the HTTPS port of the interfaces)",
	}, 1, false)
	if err != nil {
		return err
	}
	a.Challenge = []config.ACMEChallenge{config.ACMEHTTP01, config.ACMETLSALPN01}[c]
	t, err := s.Choose("Choose the certificate authorities that verify the ACME server:", []string{
		"System List",
		"Custom List (certconfig CERTAUTHORITY)",
	}, 1, false)
	if err != nil {
		return err
	}
	a.Trust = []config.ACMETrust{config.ACMETrustSystem, config.ACMETrustCustom}[t]
	return nil
}

// stageACME makes the placeholder and the account key and stages the
// profile.
func stageACME(s *shell.Session, name string, a config.ACMEProfile) error {
	certPEM, keyPEM, err := pki.ACMEPlaceholder(a.Names, s.Now())
	if err != nil {
		return refuse(s, "Cannot create the certificate: %v.", err)
	}
	acct, err := pki.NewACMEAccountKey()
	if err != nil {
		return refuse(s, "Cannot create the ACME account key: %v.", err)
	}
	a.AccountKeyPEM = string(acct)
	if certs, err := pki.ParseCertificates(certPEM); err == nil {
		warnHostnames(s, s.Draft.Config(), certs[0])
	}
	if a.Trust == config.ACMETrustCustom && len(s.Draft.Config().CAs.Custom) == 0 {
		warnf(s, "the custom certificate authority list is empty: add the ACME server's root with CERTAUTHORITY before you commit.")
	}
	p := config.Certificate{Name: name, CertPEM: string(certPEM), KeyPEM: string(keyPEM), ACME: a}
	if err := s.Draft.Update(func(c *config.Config) error {
		c.Certificates = append(c.Certificates, p)
		return nil
	}); err != nil {
		return err
	}
	s.Printf("Certificate profile %s staged as an ACME profile for %s.\n", name, strings.Join(a.Names, ", "))
	s.Printf("After you commit, the appliance requests the certificate from %s and renews it by itself; until it is issued, services assigned %s serve a self-signed placeholder.\n", a.DirectoryURL, name)
	return nil
}

// printACME is PRINT's part for ACME profiles: the manager's state of
// each, or the committed state when no manager runs (a shell without the
// daemon's services).
func printACME(s *shell.Session, status func(string) (ACMEStatus, bool)) {
	cfg := s.Draft.Config()
	rows := [][]string{{"ACME profile", "State", "Valid until", "Next renewal", "Last error"}}
	for _, p := range cfg.Certificates {
		if !p.ACME.Enabled() {
			continue
		}
		st, ok := ACMEStatus{}, false
		if status != nil {
			st, ok = status(p.Name)
		}
		if !ok {
			st.State = "not committed"
			if committed(s, p) {
				st.State = "valid"
				if p.ACME.Pending() {
					st.State = "pending"
				}
			}
			if leaf, err := leafOf(p); err == nil && !p.ACME.Pending() {
				st.NotAfter = leaf.NotAfter
			}
		}
		rows = append(rows, []string{p.Name, st.State, stamp(st.NotAfter), stamp(st.NextAttempt), lastErrorCell(st)})
	}
	if len(rows) == 1 {
		return
	}
	s.Println("ACME certificate profiles:")
	writeTable(s, rows)
	s.Println()
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return stampOf(t)
}

// lastErrorCell is PRINT's "Last error": when it happened, then what.
func lastErrorCell(st ACMEStatus) string {
	if st.LastError == "" || st.FailedAt.IsZero() {
		return orDash(st.LastError)
	}
	return stamp(st.FailedAt) + ": " + st.LastError
}

func orDash(v string) string {
	if v == "" {
		return "-"
	}
	return cut(v)
}
