package acme

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/acme/api"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/lego"
	"github.com/go-acme/lego/v5/registration"

	"esash/config"
	"esash/pki"
	"esash/store"
)

// user is the ACME account as lego asks for it.
type user struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (u *user) GetEmail() string                       { return u.email }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

// issued is what one successful order gives the profile.
type issued struct {
	certPEM       string
	intermediates []string
	keyPEM        string
	certURL       string
	accountURL    string
}

// obtainAndCommit orders a certificate for ct and commits it.
func (m *Manager) obtainAndCommit(ctx context.Context, ct config.Certificate) error {
	cfg := m.opts.Store.Head().Config
	res, err := m.obtain(ctx, cfg, ct)
	if err != nil {
		return err
	}
	return m.commit(ctx, ct, res)
}

// client builds the lego client for a profile: its account key, and an
// HTTPS client trusting the roots the profile chose.
func (m *Manager) client(cfg *config.Config, a config.ACMEProfile) (*lego.Client, *user, error) {
	key, err := pki.ParsePrivateKey([]byte(a.AccountKeyPEM), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("account key: %w", err)
	}
	u := &user{email: a.Email, key: key}
	if a.AccountURL != "" {
		u.reg = &acme.ExtendedAccount{Location: a.AccountURL}
	}
	roots, err := trustPool(cfg, a.Trust)
	if err != nil {
		return nil, nil, err
	}
	lc := lego.NewConfig(u)
	lc.CADirURL = a.DirectoryURL
	lc.UserAgent = "esash"
	lc.HTTPClient = &http.Client{Timeout: m.opts.Timeout, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 30 * time.Second,
	}}
	lc.Certificate.Timeout = m.opts.Timeout
	c, err := lego.NewClient(lc)
	if err != nil {
		return nil, nil, fmt.Errorf("directory %s: %w", a.DirectoryURL, err)
	}
	return c, u, nil
}

// trustPool is the system roots or certconfig's custom list.
func trustPool(cfg *config.Config, t config.ACMETrust) (*x509.CertPool, error) {
	if t != config.ACMETrustCustom {
		return pki.SystemRoots()
	}
	pool := x509.NewCertPool()
	for _, ca := range cfg.CAs.Custom {
		certs, err := pki.ParseCertificates([]byte(ca.PEM))
		if err != nil {
			return nil, fmt.Errorf("certauthority.custom[%s]: %w", ca.Name, err)
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, nil
}

// obtain registers the account when needed, answers the profile's
// challenge and orders the certificate with a fresh key.
func (m *Manager) obtain(ctx context.Context, cfg *config.Config, ct config.Certificate) (issued, error) {
	a := ct.ACME
	c, u, err := m.client(cfg, a)
	if err != nil {
		return issued{}, err
	}
	if u.reg == nil {
		if u.reg, err = c.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true}); err != nil {
			return issued{}, fmt.Errorf("account registration: %w", err)
		}
	}
	switch a.Challenge {
	case config.ACMETLSALPN01:
		err = c.Challenge.SetTLSALPN01Provider(alpnProvider{m.chal})
	default:
		err = c.Challenge.SetHTTP01Provider(httpProvider{m.chal, interfaceAddrs(cfg)})
	}
	if err != nil {
		return issued{}, err
	}
	key, err := certcrypto.GeneratePrivateKey(legoKeyType(a.KeyType))
	if err != nil {
		return issued{}, err
	}
	req := certificate.ObtainRequest{Domains: a.Names, PrivateKey: key, Bundle: true, EnableCommonName: true}
	if !a.Pending() {
		if leaf, err := leafOf(ct); err == nil {
			if id, err := api.MakeARICertID(leaf); err == nil && m.ariSupported(ctx, c, leaf) {
				req.ReplacesCertID = id
			}
		}
	}
	res, err := c.Certificate.Obtain(ctx, req)
	if err != nil {
		return issued{}, fmt.Errorf("order: %w", err)
	}
	return m.result(ctx, c, ct.Name, res, key, u.reg.Location)
}

// result turns lego's bundle into the profile's fields and asks the CA's
// renewal window for the new certificate.
func (m *Manager) result(ctx context.Context, c *lego.Client, name string, res *certificate.Resource, key crypto.Signer, account string) (issued, error) {
	certs, err := pki.ParseCertificates(res.Certificate)
	if err != nil || len(certs) == 0 {
		return issued{}, fmt.Errorf("the CA's certificate: %w", errors.Join(err, errNoCert))
	}
	keyPEM, err := pki.EncodePrivateKeyPEM(key)
	if err != nil {
		return issued{}, err
	}
	out := issued{certPEM: string(pki.EncodeCertificatePEM(certs[0])), keyPEM: string(keyPEM),
		certURL: res.CertURL, accountURL: account}
	for _, ic := range certs[1:] {
		out.intermediates = append(out.intermediates, string(pki.EncodeCertificatePEM(ic)))
	}
	m.askARI(ctx, c, name, certs[0], out.certPEM)
	return out, nil
}

// ariSupported asks the CA's renewal information once: a CA without it
// gets no "replaces" field.
func (m *Manager) ariSupported(ctx context.Context, c *lego.Client, leaf *x509.Certificate) bool {
	_, err := c.Certificate.GetRenewalInfo(ctx, leaf)
	return err == nil
}

// askARI records the CA's suggested renewal time for the certificate just
// issued; due() renews then when it is before two thirds of the lifetime.
func (m *Manager) askARI(ctx context.Context, c *lego.Client, name string, leaf *x509.Certificate, certPEM string) {
	info, err := c.Certificate.GetRenewalInfo(ctx, leaf)
	st := m.stateOf(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	st.ariFor, st.ariAt = certPEM, time.Time{}
	if err != nil {
		st.ariCheckAt = m.opts.Now().Add(ariDefaultPoll)
		return
	}
	w := info.SuggestedWindow
	st.ariAt = w.Start.Add(w.End.Sub(w.Start) / 2)
	st.ariCheckAt = m.opts.Now().Add(ariPoll(info.RetryAfter))
}

func legoKeyType(k config.ACMEKeyType) certcrypto.KeyType {
	switch k {
	case config.ACMEKeyRSA2048:
		return certcrypto.RSA2048
	case config.ACMEKeyRSA3072:
		return certcrypto.RSA3072
	}
	return certcrypto.EC256
}

// interfaceAddrs are the addresses HTTP-01 answers on.
func interfaceAddrs(cfg *config.Config) []string {
	var out []string
	for _, in := range cfg.Interfaces {
		for _, a := range []string{in.IPv4, in.IPv6} {
			if a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// commit installs the certificate as a revision by the system user. The
// draft starts from the head of now, so the commit merges over whatever
// administrators committed meanwhile; a profile deleted or turned into a
// manual one meanwhile is left alone.
func (m *Manager) commit(ctx context.Context, ct config.Certificate, res issued) error {
	target := m.opts.Store
	if m.opts.CommitTo != nil {
		b, err := m.opts.CommitTo()
		if err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if b != nil {
			target = b
		}
	}
	d := store.NewDraft(target, SystemUser, SystemUser)
	err := d.Update(func(c *config.Config) error {
		for i := range c.Certificates {
			p := &c.Certificates[i]
			if p.Name != ct.Name || p.ACME.DirectoryURL != ct.ACME.DirectoryURL {
				continue
			}
			p.CertPEM, p.KeyPEM, p.Intermediates, p.CSRPEM = res.certPEM, res.keyPEM, res.intermediates, ""
			p.ACME.CertURL, p.ACME.AccountURL = res.certURL, res.accountURL
			return nil
		}
		return errProfileGone
	})
	if err != nil {
		return err
	}
	verb := "renewed"
	if ct.ACME.Pending() {
		verb = "issued"
	}
	_, err = d.Commit(ctx, fmt.Sprintf("ACME: certificate %s for profile %s", verb, ct.Name), true, m.opts.Prepare)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
