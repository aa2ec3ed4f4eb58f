package certconfig

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// findProfile returns the profile called name.
func findProfile(cfg *config.Config, name string) (config.Certificate, bool) {
	for _, p := range cfg.Certificates {
		if p.Name == name {
			return p, true
		}
	}
	return config.Certificate{}, false
}

// leafOf parses a stored profile's certificate.
func leafOf(p config.Certificate) (*x509.Certificate, error) {
	certs, err := pki.ParseCertificates([]byte(p.CertPEM))
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// keyOf parses a stored profile's private key (PKCS#8, unencrypted).
func keyOf(p config.Certificate) (crypto.Signer, error) {
	return pki.ParsePrivateKey([]byte(p.KeyPEM), nil)
}

// intermediatesOf parses a stored profile's intermediates.
func intermediatesOf(p config.Certificate) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, text := range p.Intermediates {
		certs, err := pki.ParseCertificates([]byte(text))
		if err != nil {
			return nil, err
		}
		out = append(out, certs...)
	}
	return out, nil
}

func isSelfSigned(c *x509.Certificate) bool { return pki.Info(c).SelfSigned }

// committed reports whether the running configuration holds the profile
// with this very private key: only then does the key outlive a "clear".
func committed(s *shell.Session, p config.Certificate) bool {
	head, ok := findProfile(s.Head().Config, p.Name)
	return ok && head.KeyPEM == p.KeyPEM
}

// chooseProfile asks for one of the profiles by number or name; def is
// the 1-based default (0: none, a blank answer goes back).
func chooseProfile(s *shell.Session, question string, def int) (config.Certificate, error) {
	cfg := s.Draft.Config()
	if len(cfg.Certificates) == 0 {
		s.Println("There are no certificate profiles.")
		return config.Certificate{}, shell.ErrBack
	}
	names := make([]string, len(cfg.Certificates))
	for i, p := range cfg.Certificates {
		names[i] = p.Name
	}
	i, err := s.Choose(question, names, def, true)
	if err != nil {
		return config.Certificate{}, err
	}
	return cfg.Certificates[i], nil
}

// name is what messages call a certificate: its common name, or its whole
// subject when it has none.
func name(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// trust is the set of roots chains are checked against: what the staged
// configuration enables of the system list and the custom list.
type trust struct {
	pool   *x509.CertPool
	custom []*x509.Certificate
	cfg    config.TrustedCAs
}

func trustOf(cfg *config.Config) (trust, error) {
	t := trust{cfg: cfg.CAs}
	if cfg.CAs.CustomEnabled {
		for _, ca := range cfg.CAs.Custom {
			certs, err := pki.ParseCertificates([]byte(ca.PEM))
			if err != nil {
				return t, fmt.Errorf("custom certificate authority %q: %w", ca.Name, err)
			}
			t.custom = append(t.custom, certs...)
		}
	}
	pool, err := pki.TrustPool(cfg.CAs.SystemEnabled, t.custom)
	t.pool = pool
	return t, err
}

// source names the list a root comes from.
func (t trust) source(root *x509.Certificate) string {
	for _, c := range t.custom {
		if c.Equal(root) {
			return "custom list"
		}
	}
	return "system list"
}

// readConfigFile reads a file the administrator named in the
// configuration directory, never through a symbolic link (shell's
// OpenConfigFile), refusing oversized ones before reading them whole.
func readConfigFile(s *shell.Session, fname string) ([]byte, error) {
	f, err := s.OpenConfigFile(fname)
	if err != nil {
		return nil, fmt.Errorf("the file %q cannot be read: %w", fname, fileReason(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, pki.MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("the file %q cannot be read: %w", fname, errUnwrapPath(err))
	}
	if err := pki.CheckSize(len(data)); err != nil {
		return nil, fmt.Errorf("the file %q is too large: %w", fname, err)
	}
	return data, nil
}

// errUnwrapPath drops the absolute path an *os.PathError carries: the
// administrator named the file, the data directory is none of their
// concern.
func errUnwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// fileReason is what the shell's *FileError says the administrator can
// act on, or the bare system error, never a path.
func fileReason(err error) error {
	var fe *shell.FileError
	if errors.As(err, &fe) {
		if fe.Reason != "" {
			return errors.New(fe.Reason)
		}
		return errUnwrapPath(fe.Err)
	}
	return err
}

// fileExists is the check of a question asking for a file to import.
func fileExists(s *shell.Session) func(string) string {
	return func(fname string) string {
		path, msg := s.ConfigFile(fname)
		if msg != "" {
			return msg
		}
		if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
			return fmt.Sprintf("Error: the file %q does not exist.", fname)
		}
		return ""
	}
}

// writeConfigFile writes an export with mode 0600, also when it replaces
// an existing file, through the shell's WriteConfigFile: a new file
// renamed over the name, so that a symbolic link there is replaced rather
// than written through.
func writeConfigFile(s *shell.Session, fname string, data []byte) error {
	return fileReason(s.WriteConfigFile(fname, data, 0o600))
}

// askExportFile asks for the name of a file to write in the configuration
// directory, with def as the proposed name, and confirms replacing an
// existing file.
func askExportFile(s *shell.Session, question, def string) (string, string, error) {
	fname, err := s.Ask(question, def, func(n string) string {
		_, msg := s.ConfigFile(n)
		return msg
	})
	if err != nil {
		return "", "", err
	}
	path, _ := s.ConfigFile(fname)
	if _, err := os.Stat(path); err == nil {
		ok, err := s.YesNo(fmt.Sprintf("The file %q already exists. Do you want to overwrite it?", fname), false)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", shell.ErrBack
		}
	}
	return fname, path, nil
}
