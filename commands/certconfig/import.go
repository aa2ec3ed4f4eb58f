package certconfig

import (
	"errors"

	"esash/pki"
	"esash/shell"
)

// importProfile is IMPORT: a PKCS#12 file the administrator copied into
// the configuration directory, with its passphrase.
func importProfile(s *shell.Session) error {
	n, err := askNewName(s)
	if err != nil {
		return err
	}
	fname, err := s.Ask("Enter the name of the file on machine to import:", "", fileExists(s))
	if err != nil {
		return err
	}
	data, err := readConfigFile(s, fname)
	if err != nil {
		return refuse(s, "Cannot import %s: %v.", fname, err)
	}
	pw, err := s.Secret(qPassphrase)
	if err != nil {
		return err
	}
	key, leaf, chain, legacy, err := pki.DecodePKCS12Context(s.ClientContext(), data, pw)
	switch {
	case errors.Is(err, pki.ErrBadPassphrase):
		return refuse(s, "Cannot import %s: the passphrase is incorrect.", fname)
	case errors.Is(err, pki.ErrNoKey):
		return refuse(s, "Cannot import %s: the file holds no private key.", fname)
	case errors.Is(err, pki.ErrNoCertificate):
		return refuse(s, "Cannot import %s: the file holds no certificate.", fname)
	case errors.Is(err, pki.ErrKeyMismatch):
		return refuse(s, "Error: key does not sign certificate: no certificate in %s belongs to its private key.", fname)
	case err != nil:
		return refuse(s, "Cannot import %s: %v.", fname, err)
	}
	if legacy {
		warnf(s, "%s is protected with legacy encryption (RC2 or 3DES), which OpenSSL 3 reads only with -legacy. The profile is stored re-encoded; re-export the file with AES (openssl pkcs12 -export without -legacy) before using it elsewhere.", fname)
	}
	if msg := leafProblem(s, leaf, key); msg != "" {
		return refuse(s, "%s", msg)
	}
	keyPEM, err := encodeKey(s, key)
	if err != nil {
		return err
	}
	d := &profileDraft{name: n, leaf: leaf, key: key, keyPEM: keyPEM, inters: chain}
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
	s.Printf("Certificate profile %s imported from %s: commit to use it.\n", n, fname)
	return nil
}
