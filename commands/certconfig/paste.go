package certconfig

import (
	"crypto"
	"crypto/x509"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// qProfileName is the first question of NEW, PASTE and IMPORT.
const qProfileName = "Enter a name for this certificate profile:"

// askNewName asks for a profile name; an existing name is confirmed as an
// overwrite (PASTE, IMPORT), as AsyncOS does after "Certificate profile
// <name> already exists.".
func askNewName(s *shell.Session) (string, error) {
	n, err := s.Ask(qProfileName, "", config.CheckName)
	if err != nil {
		return "", err
	}
	if _, exists := findProfile(s.Draft.Config(), n); exists {
		s.Printf("Certificate profile %s already exists.\n", n)
		ok, err := s.YesNo("Do you want to overwrite it?", false)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", shell.ErrBack
		}
	}
	return n, nil
}

// pasteProfile is PASTE: name, certificate, key, intermediates, FQDN
// check.
func pasteProfile(s *shell.Session) error {
	n, err := askNewName(s)
	if err != nil {
		return err
	}
	certs, err := pasteCertificates(s, qPasteCert)
	if err != nil {
		return err
	}
	key, err := pasteKey(s)
	if err != nil {
		return err
	}
	d, err := pairUp(s, n, certs, key)
	if err != nil {
		return err
	}
	if _, err := editIntermediates(s, d, false); err != nil {
		return err
	}
	cfg := s.Draft.Config()
	if err := checkChain(s, cfg, d, true); err != nil {
		return err
	}
	if err := askFQDN(s, d.leaf); err != nil {
		return err
	}
	warnHostnames(s, cfg, d.leaf)
	if err := install(s, d); err != nil {
		return err
	}
	s.Printf("Certificate profile %s staged: commit to use it.\n", n)
	return nil
}

// pairUp finds the certificate the key belongs to among what was pasted
// (a CA's bundle pasted whole is common) and checks it; the other
// certificates become intermediates.
func pairUp(s *shell.Session, profile string, certs []*x509.Certificate, key crypto.Signer) (*profileDraft, error) {
	leaf := certs[0]
	var rest []*x509.Certificate
	for i, c := range certs {
		if pki.KeyMatches(c, key) {
			leaf = c
			rest = append(append(rest, certs[:i]...), certs[i+1:]...)
			break
		}
	}
	if rest == nil && len(certs) > 1 && !pki.KeyMatches(leaf, key) {
		rest = certs[1:]
	}
	if msg := leafProblem(s, leaf, key); msg != "" {
		return nil, refuse(s, "%s", msg)
	}
	keyPEM, err := encodeKey(s, key)
	if err != nil {
		return nil, err
	}
	d := &profileDraft{name: profile, leaf: leaf, key: key, keyPEM: keyPEM}
	for _, c := range rest {
		if !containsCert(d.inters, c) {
			d.inters = append(d.inters, c)
		}
	}
	if len(d.inters) > 0 {
		s.Printf("Added %s pasted with the certificate.\n", plural(len(d.inters), "intermediate certificate"))
	}
	return d, nil
}

// batchPaste is "certconfig paste NAME": the certificate, its key and any
// intermediates as PEM blocks in the lines that follow, in any order,
// ended by a line holding only ".". An existing profile is replaced (the
// renewal of a certificate in place); nothing else is asked but the
// passphrase of an encrypted key.
func batchPaste(s *shell.Session, profile string) error {
	if msg := config.CheckName(profile); msg != "" {
		return shell.Invalid(s, "certconfig paste", msg)
	}
	data, err := readPaste(s, "Paste the certificate, its private key and any intermediate certificates in PEM format (end with '.'):")
	if passthrough(err) {
		return err
	}
	if err != nil {
		return refuse(s, "Invalid certificate...discarding: %v.", err)
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		return refuse(s, "Invalid certificate...discarding: %v.", err)
	}
	key, err := pki.ParsePrivateKeyContext(s.ClientContext(), data, passphrase(s))
	if passthrough(err) {
		return err
	}
	if err != nil {
		return refuse(s, "Invalid private key ...discarding: %v.", err)
	}
	d, err := pairUp(s, profile, certs, key)
	if err != nil {
		return err
	}
	cfg := s.Draft.Config()
	if err := checkChain(s, cfg, d, true); err != nil {
		return err
	}
	warnHostnames(s, cfg, d.leaf)
	_, replaced := findProfile(cfg, profile)
	if err := install(s, d); err != nil {
		return err
	}
	if replaced {
		s.Printf("Certificate profile %s replaced: commit to use it.\n", profile)
	} else {
		s.Printf("Certificate profile %s staged: commit to use it.\n", profile)
	}
	return nil
}
