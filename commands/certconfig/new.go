package certconfig

import (
	"crypto"
	"fmt"
	"strings"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// Certificate types NEW offers, in AsyncOS's order.
var newTypes = []string{
	"Create a self-signed certificate and CSR",
	"Create a self-signed SMIME certificate and CSR",
	"Obtain a certificate from an ACME certificate authority (renewed automatically)",
}

// keyTypes are the key sizes NEW offers: the RSA sizes of AsyncOS, then
// ECDSA.
var keyTypes = []pki.KeyType{pki.RSA2048, pki.RSA4096, pki.ECDSAP256, pki.ECDSAP384}

// defaultDays is the validity NEW proposes, AsyncOS's ten years.
const defaultDays = 3650

// checkCountry accepts an ISO 3166 two-letter code or nothing.
func checkCountry(c string) string {
	if c == "" {
		return ""
	}
	if len(c) != 2 || !isLetter(c[0]) || !isLetter(c[1]) {
		return "Country should be a ISO two character country code (for example US or KR)."
	}
	return ""
}

func isLetter(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// checkMax bounds an attribute to the length RFC 5280 allows.
func checkMax(n int) func(string) string {
	return func(v string) string {
		if len(v) > n {
			return fmt.Sprintf("The value must be at most %d characters long.", n)
		}
		return ""
	}
}

// newProfile is NEW: a fresh key, a self-signed certificate and a CSR.
func newProfile(s *shell.Session) error {
	typ, err := s.Choose("Choose the type of certificate you want to create:", newTypes, 1, false)
	if err != nil {
		return err
	}
	if typ == acmeType {
		return newACMEProfile(s) // acme.go
	}
	name, err := askNewProfileName(s)
	if err != nil {
		return err
	}
	subj, err := askSubject(s, typ == 1)
	if err != nil {
		return err
	}
	days, err := s.AskInt("Duration before expiration (in days):", defaultDays, 1, 36500)
	if err != nil {
		return err
	}
	kt, err := chooseKeyType(s)
	if err != nil {
		return err
	}
	if subj.SMIME {
		if err := askSMIMENames(s, &subj); err != nil {
			return err
		}
	}
	if err := subj.Validate(); err != nil {
		return refuse(s, "Cannot create the certificate: %v.", err)
	}
	return stageNewProfile(s, name, subj, days, kt)
}

// askNewProfileName asks the name of the profile NEW creates, refusing one
// that is taken.
func askNewProfileName(s *shell.Session) (string, error) {
	return s.Ask(qProfileName, "", func(v string) string {
		if msg := config.CheckName(v); msg != "" {
			return msg
		}
		if _, exists := findProfile(s.Draft.Config(), v); exists {
			return fmt.Sprintf("Certificate profile %s already exists.", v)
		}
		return ""
	})
}

// askSubject asks the subject's distinguished name, common name first.
func askSubject(s *shell.Session, smime bool) (pki.Subject, error) {
	subj := pki.Subject{SMIME: smime}
	var err error
	if subj.CommonName, err = askCommonName(s); err != nil {
		return subj, err
	}
	for _, q := range []struct {
		text string
		dst  *string
		max  int
	}{
		{"Enter Organization:", &subj.Organization, 64},
		{"Enter Organizational Unit:", &subj.OrganizationalUnit, 64},
		{"Enter Locality or City:", &subj.Locality, 128},
		{"Enter State or Province:", &subj.State, 128},
	} {
		if *q.dst, err = s.AskOptional(q.text, "", checkMax(q.max)); err != nil {
			return subj, err
		}
	}
	if subj.Country, err = s.AskOptional("Enter Country (ISO two-letter code):", "", checkCountry); err != nil {
		return subj, err
	}
	subj.Country = strings.ToUpper(subj.Country)
	return subj, nil
}

func chooseKeyType(s *shell.Session) (pki.KeyType, error) {
	labels := make([]string, len(keyTypes))
	for i, kt := range keyTypes {
		labels[i] = kt.String()
	}
	k, err := s.Choose("Select the size of private key:", labels, 1, true)
	if err != nil {
		return 0, err
	}
	return keyTypes[k], nil
}

// stageNewProfile creates the key, the self-signed certificate and the
// CSR of an answered NEW, asks whether to show the CSR and stages the
// profile; the key exists only once the change is committed.
func stageNewProfile(s *shell.Session, name string, subj pki.Subject, days int, kt pki.KeyType) error {
	key, err := generateKey(s, kt)
	if err != nil {
		return err
	}
	now := s.Now()
	cert, err := pki.SelfSigned(key, subj, days, now)
	if err != nil {
		return refuse(s, "Cannot create the certificate: %v.", err)
	}
	csr, err := pki.CreateCSR(key, subj)
	if err != nil {
		return refuse(s, "Cannot create the certificate request: %v.", err)
	}
	keyPEM, err := encodeKey(s, key)
	if err != nil {
		return err
	}
	if !subj.SMIME {
		warnHostnames(s, s.Draft.Config(), cert)
	}

	view, err := s.YesNo("Do you want to view the CSR?", true)
	if err != nil {
		return err
	}
	d := &profileDraft{name: name, leaf: cert, key: key, keyPEM: keyPEM, csrPEM: string(csr)}
	if err := install(s, d); err != nil {
		return err
	}
	if view {
		s.Printf("%s\n", strings.TrimRight(string(csr), "\n"))
		s.Println()
	}
	s.Printf("Certificate profile %s staged with a new %s private key.\n", name, keyLabel(kt))
	s.Printf("Caution: the private key exists only once you commit. A CSR sent to a certificate authority before the commit is worthless if the change is cleared: commit first, then send the CSR (EDIT writes it to configuration/%s.csr).\n", name)
	return nil
}

// askCommonName asks for the common name and the 14.x FQDN check that
// follows it; a name that fails the check is asked again on a terminal.
func askCommonName(s *shell.Session) (string, error) {
	for {
		cn, err := s.Ask("Enter Common Name:", "", checkMax(64))
		if err != nil {
			return "", err
		}
		check, err := s.YesNo(qFQDN, false)
		if err != nil {
			return "", err
		}
		if !check || pki.IsFQDN(cn) {
			return cn, nil
		}
		if err := s.Reject(fmt.Sprintf("The Common Name %q is not in Fully Qualified Domain Name (FQDN) format.", cn)); err != nil {
			return "", err
		}
	}
}

// askSMIMENames asks the S/MIME certificate's e-mail addresses and DNS
// names, each list with "Add another member?".
func askSMIMENames(s *shell.Session, subj *pki.Subject) error {
	for {
		e, err := s.Ask("Enter email address for 'subjectAltName' extension:", "", config.CheckEmail)
		if err != nil {
			return err
		}
		subj.EmailAddresses = append(subj.EmailAddresses, e)
		more, err := s.YesNo("Add another member?", false)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	for {
		d, err := s.AskOptional("Enter the DNS you want to add (blank for none):", "", func(v string) string {
			if v != "" && !pki.IsFQDN(v) {
				return "A hostname must be fully qualified (for example mail.example.com)."
			}
			return ""
		})
		if err != nil {
			return err
		}
		if d == "" {
			return nil
		}
		subj.DNSNames = append(subj.DNSNames, d)
		more, err := s.YesNo("Add another member?", false)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// progressEvery is how long key generation runs before progress shows,
// and the pace of its dots.
var progressEvery = 250 * time.Millisecond

// generateKey creates the key. RSA-4096 can take seconds: on a terminal a
// progress line appears when generation is slow, so the shell does not
// look hung.
func generateKey(s *shell.Session, kt pki.KeyType) (crypto.Signer, error) {
	if !s.In.Interactive() {
		return pki.GenerateKey(kt)
	}
	type result struct {
		key crypto.Signer
		err error
	}
	done := make(chan result, 1)
	go func() {
		k, err := pki.GenerateKey(kt)
		done <- result{k, err}
	}()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	shown := false
	for {
		select {
		case r := <-done:
			if shown {
				s.Println(" done.")
			}
			return r.key, r.err
		case <-tick.C:
			if !shown {
				s.Printf("Generating a %s private key, this may take a few seconds", keyLabel(kt))
				shown = true
			}
			s.Printf(".")
		case <-s.Ctx.Done():
			return nil, s.Ctx.Err()
		}
	}
}

// keyLabel names a key type in messages: "RSA 4096-bit", "ECDSA P-256".
func keyLabel(kt pki.KeyType) string {
	switch kt {
	case pki.RSA2048, pki.RSA4096:
		return "RSA " + kt.String() + "-bit"
	}
	return kt.String()
}
