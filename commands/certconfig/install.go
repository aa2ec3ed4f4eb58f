package certconfig

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// profileDraft is a certificate profile being assembled by PASTE, EDIT or
// IMPORT. Nothing of it is staged until install has checked it whole.
type profileDraft struct {
	name    string
	leaf    *x509.Certificate
	certPEM string // the stored text when the leaf is unchanged
	key     crypto.Signer
	keyPEM  string // PKCS#8
	inters  []*x509.Certificate
	csrPEM  string
}

// Question texts shared by PASTE, EDIT and IMPORT (AsyncOS 14.x wording
// where it is known, see asyncos-cli.md section 2.3).
const (
	qPasteCert   = "Paste public certificate in PEM format (end with '.'):"
	qPasteKey    = "Paste private key in PEM format (end with '.'):"
	qPasteInter  = "Paste intermediate certificate in PEM format (end with '.'):"
	qAddInter    = "Do you want to add an intermediate certificate?"
	qRemoveInter = "Do you want to remove an intermediate certificate?"
	qFQDN        = "Do you want to check if Common Name is in Fully Qualified Domain Name(FQDN) format?"
	qPassphrase  = "Enter passphrase:"
)

// readPaste reads one PEM paste and refuses oversized ones.
func readPaste(s *shell.Session, instruction string) ([]byte, error) {
	text, err := s.Paste(instruction)
	if err != nil {
		return nil, err
	}
	if err := pki.CheckSize(len(text)); err != nil {
		return nil, fmt.Errorf("the pasted text is too large: %w", err)
	}
	return []byte(text), nil
}

// pasteCertificates reads a paste holding one or more certificates.
func pasteCertificates(s *shell.Session, instruction string) ([]*x509.Certificate, error) {
	data, err := readPaste(s, instruction)
	if passthrough(err) {
		return nil, err
	}
	if err != nil {
		return nil, refuse(s, "Invalid certificate...discarding: %v.", err)
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		return nil, refuse(s, "Invalid certificate...discarding: %v.", err)
	}
	return certs, nil
}

// passphrase asks for the passphrase of an encrypted key, only when one
// is met.
func passphrase(s *shell.Session) func() ([]byte, error) {
	return func() ([]byte, error) {
		pw, err := s.Secret(qPassphrase)
		return []byte(pw), err
	}
}

// pasteKey reads a private key paste: PKCS#1, PKCS#8, SEC1, encrypted or
// not.
func pasteKey(s *shell.Session) (crypto.Signer, error) {
	data, err := readPaste(s, qPasteKey)
	if passthrough(err) {
		return nil, err
	}
	if err != nil {
		return nil, refuse(s, "Invalid private key ...discarding: %v.", err)
	}
	key, err := pki.ParsePrivateKeyContext(s.ClientContext(), data, passphrase(s))
	if passthrough(err) {
		return nil, err
	}
	if err != nil {
		return nil, refuse(s, "Invalid private key ...discarding: %v.", err)
	}
	return key, nil
}

// leafProblem is why a certificate cannot serve as a profile's
// certificate with key, or "". Warnings that do not refuse it are
// printed.
func leafProblem(s *shell.Session, leaf *x509.Certificate, key crypto.Signer) string {
	selfSigned := isSelfSigned(leaf)
	matches := pki.KeyMatches(leaf, key)
	now := s.Now()
	switch {
	case leaf.IsCA && !(selfSigned && matches):
		return fmt.Sprintf("The certificate %q is a certificate authority (CA:TRUE), not a certificate for this appliance: paste it as an intermediate certificate, or import it with CERTAUTHORITY > CUSTOM > IMPORT.", name(leaf))
	case !matches:
		return fmt.Sprintf("Error: key does not sign certificate: the private key does not belong to the certificate %q (public key SHA256 %s).", name(leaf), pki.PublicKeyFingerprint(leaf.PublicKey))
	case now.After(leaf.NotAfter):
		return fmt.Sprintf("The certificate %q expired on %s.", name(leaf), day(leaf.NotAfter))
	case now.Before(leaf.NotBefore):
		return fmt.Sprintf("The certificate %q is not valid before %s.", name(leaf), leaf.NotBefore.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if leaf.IsCA {
		warnf(s, "the certificate %q is marked as a certificate authority (CA:TRUE); some peers refuse such a certificate from a server.", name(leaf))
	}
	return ""
}

// expiringSoon warns about certificates that expire within 30 days.
func expiringSoon(s *shell.Session, certs []*x509.Certificate) {
	for _, c := range certs {
		if left := pki.Info(c).DaysLeft(s.Now()); left < 30 && !s.Now().After(c.NotAfter) {
			warnf(s, "the certificate %q expires in %s (on %s).", name(c), plural(left, "day"), day(c.NotAfter))
		}
	}
}

// editIntermediates runs the add loop, then, when offerRemove, the remove
// loop while there is anything to remove. It reports whether the list
// changed. The remove question belongs to EDIT of a profile that had
// intermediates before the dialog (see the package comment): PASTE never
// asks it, even after intermediates were added.
func editIntermediates(s *shell.Session, d *profileDraft, offerRemove bool) (bool, error) {
	changed := false
	for {
		add, err := s.YesNo(qAddInter, false)
		if err != nil {
			return false, err
		}
		if !add {
			break
		}
		data, err := readPaste(s, qPasteInter)
		if passthrough(err) {
			return false, err
		}
		var certs []*x509.Certificate
		if err == nil {
			certs, err = pki.ParseCertificates(data)
		}
		if err != nil {
			msg := fmt.Sprintf("Invalid certificate...discarding: %v.", err)
			if !s.In.Interactive() {
				return false, errors.New(msg)
			}
			s.Println(msg) // the loop asks again
			continue
		}
		for _, c := range certs {
			switch {
			case c.Equal(d.leaf):
				warnf(s, "%q is the certificate itself, not an intermediate certificate; it was not added.", name(c))
			case containsCert(d.inters, c):
				warnf(s, "the intermediate certificate %q is already in the list; it was not added again.", name(c))
			default:
				d.inters = append(d.inters, c)
				changed = true
			}
		}
	}
	for offerRemove && len(d.inters) > 0 {
		rm, err := s.YesNo(qRemoveInter, false)
		if err != nil {
			return false, err
		}
		if !rm {
			break
		}
		items := make([]string, len(d.inters))
		for i, c := range d.inters {
			items[i] = name(c)
		}
		i, err := s.Choose("Select the intermediate certificate to remove:", items, 0, true)
		if err != nil {
			return false, err
		}
		s.Printf("The intermediate certificate %q was removed.\n", name(d.inters[i]))
		d.inters = append(d.inters[:i:i], d.inters[i+1:]...)
		changed = true
	}
	return changed, nil
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}

// checkChain builds the chain of d against the trusted roots of cfg and
// reports it. strict refuses a chain that is not usable; otherwise
// problems are warnings (an EDIT that changes nothing). On success
// d.inters is replaced by the chain in order, without the root.
func checkChain(s *shell.Session, cfg *config.Config, d *profileDraft, strict bool) error {
	t, err := trustOf(cfg)
	if err != nil {
		return refuse(s, "Cannot check the certificate chain: %v.", err)
	}
	report, err := pki.BuildChain(d.leaf, d.inters, t.pool, s.Now())
	fail := func(format string, args ...any) error {
		if strict {
			return refuse(s, format, args...)
		}
		warnf(s, format, args...)
		return nil
	}
	for _, c := range report.Duplicates {
		if c.Equal(d.leaf) {
			warnf(s, "%q is the certificate itself, not an intermediate certificate; it is not kept.", name(c))
		} else {
			warnf(s, "the intermediate certificate %q was given more than once; one copy is kept.", name(c))
		}
	}
	if len(report.Unrelated) > 0 {
		var names []string
		for _, c := range report.Unrelated {
			names = append(names, fmt.Sprintf("%q (issued by %q)", name(c), c.Issuer.String()))
		}
		return fail("Cannot import certificate: intermediate certificates that are not part of the chain of %q: %s. Remove them.", name(d.leaf), strings.Join(names, ", "))
	}
	switch {
	case errors.Is(err, pki.ErrUntrusted):
		hint := "Add the missing intermediate certificate, or import the root with CERTAUTHORITY > CUSTOM > IMPORT."
		if !cfg.CAs.SystemEnabled && !cfg.CAs.CustomEnabled {
			hint = "Both certificate authority lists are disabled (CERTAUTHORITY)."
		}
		return fail("Cannot import certificate: The certificate authority validation could not be trusted for certificate %q because %v. %s", name(d.leaf), err, hint)
	case err != nil:
		return fail("Cannot import certificate: %v.", err)
	}
	expiringSoon(s, report.Path)
	if report.SelfSigned && !report.Trusted {
		if strict {
			s.Printf("The certificate %q is self-signed: peers can encrypt with it but cannot verify it.\n", name(d.leaf))
		}
		d.inters = nil
		return nil
	}
	if strict {
		s.Printf("Certificate chain of %q verified:\n", name(d.leaf))
		for i, c := range report.Path {
			role := "intermediate"
			switch {
			case i == 0:
				role = "this certificate"
			case i == len(report.Path)-1 && report.Trusted:
				role = "root, " + t.source(c)
			}
			s.Printf("%d. %s (%s, expires %s)\n", i+1, name(c), role, day(c.NotAfter))
		}
	}
	served := report.Intermediates()
	if last := report.Path[len(report.Path)-1]; len(report.Path) > 1 && !containsCert(served, last) && containsCert(d.inters, last) {
		s.Printf("The root certificate %q is not kept with the profile: peers must already trust it.\n", name(last))
	}
	d.inters = served
	return nil
}

// askFQDN is the 14.x FQDN check of the common name.
func askFQDN(s *shell.Session, leaf *x509.Certificate) error {
	check, err := s.YesNo(qFQDN, false)
	if err != nil {
		return err
	}
	if check && !pki.IsFQDN(leaf.Subject.CommonName) {
		return refuse(s, "The Common Name %q is not in Fully Qualified Domain Name (FQDN) format.", leaf.Subject.CommonName)
	}
	return nil
}

// warnHostnames warns when the certificate is valid for no interface
// hostname: verifiable inbound TLS needs the MX record, the common name
// and the interface hostname to agree.
func warnHostnames(s *shell.Session, cfg *config.Config, leaf *x509.Certificate) {
	if len(cfg.Interfaces) == 0 {
		return
	}
	var hosts []string
	for _, in := range cfg.Interfaces {
		if pki.VerifyHostname(leaf, in.Hostname) == nil {
			return
		}
		hosts = append(hosts, in.Name+": "+in.Hostname)
	}
	warnf(s, "the Common Name %q matches no interface hostname (%s). Peers verify TLS only when the MX record, the Common Name and the interface hostname agree.",
		leaf.Subject.CommonName, strings.Join(hosts, ", "))
}

// install stages d as the profile d.name, replacing one of that name.
func install(s *shell.Session, d *profileDraft) error {
	certPEM := d.certPEM
	if certPEM == "" {
		certPEM = string(pki.EncodeCertificatePEM(d.leaf))
	}
	p := config.Certificate{Name: d.name, CertPEM: certPEM, KeyPEM: d.keyPEM, CSRPEM: d.csrPEM}
	for _, c := range d.inters {
		p.Intermediates = append(p.Intermediates, string(pki.EncodeCertificatePEM(c)))
	}
	return s.Draft.Update(func(c *config.Config) error {
		for i := range c.Certificates {
			if c.Certificates[i].Name == d.name {
				c.Certificates[i] = p
				return nil
			}
		}
		c.Certificates = append(c.Certificates, p)
		return nil
	})
}

// encodeKey is the stored form of a key: unencrypted PKCS#8 PEM.
func encodeKey(s *shell.Session, key crypto.Signer) (string, error) {
	b, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		return "", refuse(s, "Invalid private key ...discarding: %v.", err)
	}
	return string(b), nil
}
