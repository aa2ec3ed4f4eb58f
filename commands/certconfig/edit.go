package certconfig

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// editProfile is EDIT: update the public certificate (the CA-signed one
// coming back for the profile's key), add intermediates, remove them when
// the profile had some before, the FQDN check, then, for a self-signed
// profile left unchanged, the offer to view its CSR.
func editProfile(s *shell.Session) error {
	p, err := chooseProfile(s, "Select the certificate profile you wish to edit:", 0)
	if err != nil {
		return err
	}
	d, err := loadDraft(s, p)
	if err != nil {
		return err
	}
	hadInters := len(d.inters) > 0
	update, err := s.YesNo("Do you want to update the public certificate?", false)
	if err != nil {
		return err
	}
	if update {
		certs, err := pasteCertificates(s, qPasteCert)
		if err != nil {
			return err
		}
		nd, err := pairUp(s, p.Name, certs, d.key)
		if err != nil {
			return err
		}
		// The old intermediates stay until removed: a renewal by the same
		// CA keeps its chain, and the chain check names any that no
		// longer belong.
		for _, c := range nd.inters {
			if !containsCert(d.inters, c) {
				d.inters = append(d.inters, c)
			}
		}
		d.leaf, d.certPEM = nd.leaf, ""
	}
	interChanged, err := editIntermediates(s, d, hadInters)
	if err != nil {
		return err
	}
	changed := update || interChanged
	cfg := s.Draft.Config()
	if err := checkChain(s, cfg, d, changed); err != nil {
		return err
	}
	check, err := s.YesNo(qFQDN, false)
	if err != nil {
		return err
	}
	if check && !pki.IsFQDN(d.leaf.Subject.CommonName) {
		msg := fmt.Sprintf("The Common Name %q is not in Fully Qualified Domain Name (FQDN) format.", d.leaf.Subject.CommonName)
		if changed {
			return refuse(s, "%s", msg)
		}
		warnf(s, "%s", msg)
	}
	if changed {
		warnHostnames(s, cfg, d.leaf)
		if err := install(s, d); err != nil {
			return err
		}
		s.Printf("Certificate profile %s updated: commit to use it.\n", p.Name)
		return nil
	}
	if !isSelfSigned(d.leaf) {
		return nil // CA-signed: no request pending (certconfig csr NAME renews)
	}
	view, err := s.YesNo("Do you want to view the CSR?", true)
	if err != nil || !view {
		return err
	}
	return showCSR(s, p, false)
}

// loadDraft parses a stored profile for editing.
func loadDraft(s *shell.Session, p config.Certificate) (*profileDraft, error) {
	leaf, err := leafOf(p)
	if err != nil {
		return nil, refuse(s, "The certificate of profile %s cannot be read (%v): replace the profile with PASTE or IMPORT.", p.Name, err)
	}
	key, err := keyOf(p)
	if err != nil {
		return nil, refuse(s, "The private key of profile %s cannot be read (%v): replace the profile with PASTE or IMPORT.", p.Name, err)
	}
	inters, err := intermediatesOf(p)
	if err != nil {
		return nil, refuse(s, "An intermediate certificate of profile %s cannot be read (%v): replace the profile with PASTE or IMPORT.", p.Name, err)
	}
	return &profileDraft{name: p.Name, leaf: leaf, certPEM: p.CertPEM, key: key, keyPEM: p.KeyPEM,
		inters: inters, csrPEM: p.CSRPEM}, nil
}

// showCSR prints the certificate signing request of a committed profile
// and writes it to configuration/<name>.csr. A profile NEW made carries
// the CSR made with it; for any other the CSR is made from the stored key
// with the certificate's subject and names, which is how a certificate is
// renewed in place. For a profile that is only staged it says that a
// commit comes first; strict makes that a refusal (the batch form, whose
// caller wants the CSR or a failure).
func showCSR(s *shell.Session, p config.Certificate, strict bool) error {
	if !committed(s, p) {
		msg := fmt.Sprintf("The certificate profile %s is not committed yet: its private key exists only once you commit. Commit first, then view its CSR.", p.Name)
		if strict {
			return refuse(s, "%s", msg)
		}
		s.Println(msg)
		return nil
	}
	csr, err := csrOf(p)
	if err != nil {
		return refuse(s, "Cannot make the CSR of profile %s: %v.", p.Name, err)
	}
	s.Printf("%s\n", strings.TrimRight(string(csr), "\n"))
	fname := p.Name + ".csr"
	_, msg := s.ConfigFile(fname)
	if msg != "" {
		return refuse(s, "%s", msg)
	}
	if err := writeConfigFile(s, fname, csr); err != nil {
		return refuse(s, "Cannot write configuration/%s: %v.", fname, err)
	}
	s.Printf("The CSR was written to configuration/%s.\n", fname)
	return nil
}

// csrOf is the profile's stored CSR when it still belongs to its key,
// else a new one from the key and the certificate.
func csrOf(p config.Certificate) ([]byte, error) {
	key, err := keyOf(p)
	if err != nil {
		return nil, err
	}
	if p.CSRPEM != "" {
		if csr, err := pki.ParseCSR([]byte(p.CSRPEM)); err == nil && samePublicKey(csr, key.Public()) {
			return []byte(p.CSRPEM), nil
		}
	}
	leaf, err := leafOf(p)
	if err != nil {
		return nil, err
	}
	return pki.CSRFromCertificate(key, leaf)
}

func samePublicKey(csr *x509.CertificateRequest, pub crypto.PublicKey) bool {
	k, ok := csr.PublicKey.(interface{ Equal(x crypto.PublicKey) bool })
	if !ok {
		return false
	}
	return k.Equal(pub)
}
