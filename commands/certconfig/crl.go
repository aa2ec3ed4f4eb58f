package certconfig

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"esash/config"
	"esash/pki"
	"esash/shell"
)

// CRL: certificate revocation lists. The reference has the top menu line
// only (`- CRL - Manage Certificate Revocation Lists`, [V BLOG]) and no
// dialog: IAF has no CRL configurator. Decisions, in the style of the
// CERTAUTHORITY dialogs next to it:
//
//   - The menu shows the lists (name, issuer, source, status, next
//     update, revoked count), as CERTIFICATE shows the profiles before
//     its menu, then IMPORT (a file in the configuration
//     directory, PEM or DER, as CUSTOM > IMPORT reads its file), PASTE
//     (PEM ended by a lone '.', as PASTE of a certificate), URL (an http
//     or https distribution point, fetched once here and again by the
//     MTA before each list's nextUpdate), DELETE, PRINT (one list's
//     details and its revoked serial numbers). Batch forms for scripts:
//     `certconfig crl list`, `certconfig crl print NAME`, `certconfig
//     crl delete NAME`.
//   - The source comes first and is checked before the name is asked, so
//     that a script importing a bad list stops at its own line: the list
//     must parse, be a complete CRL, be signed by a certificate
//     authority the appliance knows (the custom list, a profile's
//     intermediates, or the system list; "Cannot import CRL: it is not
//     signed by the certificate authority ..."), and be valid now
//     (thisUpdate passed, nextUpdate not passed; a list without
//     nextUpdate issued more than 7 days ago is refused too: the MTA
//     holds it due then, and every verification would fail at once).
//   - The name defaults to the name of a list of the same issuer (the
//     new list replaces it, the usual case), else to the issuer's common
//     name made into a profile name. Reusing another list's name asks to
//     overwrite it, as PASTE does for a profile.
//   - Which verifications consult the lists, and what an expired list
//     means (fail closed), is the MTA's: written at the top of
//     mta/crl.go and summed up in README.

// CRLFetcher downloads a distribution point under the running
// configuration (the appliance wiring adapts the MTA's).
type CRLFetcher interface {
	FetchCRL(ctx context.Context, url string) ([]byte, error)
}

// WithCRLFetcher returns c fetching distribution points through f.
func (c Command) WithCRLFetcher(f CRLFetcher) Command {
	c.fetch = f
	return c
}

const (
	qCRLFile  = "Enter the name of the CRL file (PEM or DER) on machine to import:"
	qCRLPaste = "Paste the CRL in PEM format (end with '.'):"
	qCRLURL   = "Enter the URL of the CRL distribution point (http:// or https://):"
	qCRLName  = "Enter a name for this CRL:"
)

// crlMenu is CRL.
func (c Command) crlMenu(s *shell.Session) error {
	return s.Menu(printCRLList, []shell.MenuItem{
		{Name: "IMPORT", Help: "Import a CRL from a file (PEM or DER) on the appliance", Run: importCRL},
		{Name: "PASTE", Help: "Paste a CRL in PEM format into the CLI", Run: pasteCRL},
		{Name: "URL", Help: "Add a CRL distribution point (HTTP or HTTPS), fetched again before each update is due", Run: c.urlCRL},
		{Name: "DELETE", Help: "Remove a CRL", Run: deleteCRL},
		{Name: "PRINT", Help: "Display a CRL and the certificates it revokes", Run: printCRL},
	})
}

// importCRL is CRL > IMPORT.
func importCRL(s *shell.Session) error {
	fname, err := s.Ask(qCRLFile, "", fileExists(s))
	if err != nil {
		return err
	}
	data, err := readConfigFile(s, fname)
	if err != nil {
		return refuse(s, "Cannot import CRL: %v.", err)
	}
	return stageCRL(s, data, "", "from "+fname)
}

// pasteCRL is CRL > PASTE.
func pasteCRL(s *shell.Session) error {
	data, err := readPaste(s, qCRLPaste)
	if passthrough(err) {
		return err
	}
	if err != nil {
		return refuse(s, "Cannot import CRL: %v.", err)
	}
	return stageCRL(s, data, "", "pasted")
}

// urlCRL is CRL > URL: the distribution point is fetched now, so that a
// wrong address or a list of an unknown CA is refused here, not found by
// the first verification after the commit.
func (c Command) urlCRL(s *shell.Session) error {
	u, err := s.Ask(qCRLURL, "", config.CheckCRLURL)
	if err != nil {
		return err
	}
	if c.fetch == nil {
		return refuse(s, "Cannot add the CRL distribution point: this session cannot fetch it (no MTA runs here).")
	}
	s.Printf("Fetching %s ...\n", u)
	data, err := c.fetch.FetchCRL(s.ClientContext(), u)
	if err != nil {
		return refuse(s, "Cannot fetch the CRL from %s: %v.", u, err)
	}
	return stageCRL(s, data, u, "from "+u)
}

// stageCRL checks a list, asks its name and stages it; url is its
// distribution point ("" for a file or a paste).
func stageCRL(s *shell.Session, data []byte, url, origin string) error {
	cfg := s.Draft.Config()
	rl, signer, err := checkCRL(s, cfg, data, url != "")
	if err != nil {
		return err
	}
	n, err := askCRLName(s, cfg, rl)
	if err != nil {
		return err
	}
	if err := refuseOlder(s, cfg, n, rl); err != nil {
		return err
	}
	entry := config.CRL{Name: n, URL: url, PEM: string(pki.EncodeCRLPEM(rl))}
	if err := s.Draft.Update(func(c *config.Config) error {
		for i := range c.CRLs {
			if c.CRLs[i].Name == n {
				c.CRLs[i] = entry
				return nil
			}
		}
		c.CRLs = append(c.CRLs, entry)
		return nil
	}); err != nil {
		return err
	}
	s.Printf("CRL %s (%s, signed by %q) staged: %s, next update %s. Commit to use it.\n",
		n, origin, name(signer), plural(len(rl.RevokedCertificateEntries), "revoked certificate"), nextUpdate(rl))
	return nil
}

// refuseOlder refuses to replace the list named n with an older list of
// the same issuer: a stale copy (a file kept from last week, a replay)
// would bring back as valid the certificates revoked since.
func refuseOlder(s *shell.Session, cfg *config.Config, n string, rl *x509.RevocationList) error {
	e, ok := findCRL(cfg, n)
	if !ok {
		return nil
	}
	cur, err := config.ParseCRLPEM(e.PEM)
	if err != nil || string(cur.RawIssuer) != string(rl.RawIssuer) || !crlNewer(cur, rl) {
		return nil
	}
	return refuse(s, "Cannot import CRL: the list %s in force is newer (issued %s) than this one (issued %s): it would bring back certificates revoked since.",
		n, stampOf(cur.ThisUpdate), stampOf(rl.ThisUpdate))
}

// crlNewer orders lists of one issuer as the MTA does: the later
// thisUpdate, then the higher CRL number.
func crlNewer(a, b *x509.RevocationList) bool {
	if !a.ThisUpdate.Equal(b.ThisUpdate) {
		return a.ThisUpdate.After(b.ThisUpdate)
	}
	return a.Number != nil && (b.Number == nil || a.Number.Cmp(b.Number) > 0)
}

// checkCRL parses a list and refuses it unless a known CA signed it and
// it is valid now: a list without nextUpdate is due 7 days after its
// thisUpdate, or after a fetch that found it current (fetched: the URL
// source, fetched now), as the MTA holds it (pki.CRLDue). It returns the
// list and its signer.
func checkCRL(s *shell.Session, cfg *config.Config, data []byte, fetched bool) (*x509.RevocationList, *x509.Certificate, error) {
	rl, err := pki.ParseCRL(data)
	if err != nil {
		return nil, nil, refuse(s, "Cannot import CRL: %v.", err)
	}
	signer, err := pki.CRLIssuer(rl, crlIssuerCandidates(cfg))
	switch {
	case errors.Is(err, pki.ErrCRLIssuerUnknown):
		return nil, nil, refuse(s, "Cannot import CRL: its issuer %q is not a certificate authority of this appliance. Import the CA first with CERTAUTHORITY > CUSTOM > IMPORT.", rl.Issuer.String())
	case errors.Is(err, pki.ErrCRLSignature):
		return nil, nil, refuse(s, "Cannot import CRL: it is not signed by the certificate authority %q: the signature does not verify with that CA's key.", rl.Issuer.String())
	case err != nil:
		return nil, nil, refuse(s, "Cannot import CRL: %v.", err)
	}
	now := s.Now()
	if now.Before(rl.ThisUpdate) {
		return nil, nil, refuse(s, "Cannot import CRL: it is not valid before %s (thisUpdate).", stampOf(rl.ThisUpdate))
	}
	if !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate) {
		return nil, nil, refuse(s, "Cannot import CRL: it was due for renewal on %s (nextUpdate); get the issuer's current CRL.", stampOf(rl.NextUpdate))
	}
	confirmed := time.Time{}
	if fetched {
		confirmed = now
	}
	if rl.NextUpdate.IsZero() && now.After(pki.CRLDue(rl, confirmed)) {
		return nil, nil, refuse(s, "Cannot import CRL: it has no nextUpdate and was issued on %s (thisUpdate), more than %d days ago: a list without nextUpdate is due %d days after its thisUpdate; get the issuer's current CRL.",
			stampOf(rl.ThisUpdate), crlDays, crlDays)
	}
	return rl, signer, nil
}

// crlDays is how long a list without nextUpdate is valid, in days.
const crlDays = int(pki.CRLLifetimeWithoutNextUpdate / (24 * time.Hour))

// crlIssuerCandidates is every CA a list may come from: the custom list
// (enabled or not: the list may come first), the profiles'
// intermediates and the system roots.
func crlIssuerCandidates(cfg *config.Config) []*x509.Certificate {
	var out []*x509.Certificate
	for _, ca := range cfg.CAs.Custom {
		if cs, err := pki.ParseCertificates([]byte(ca.PEM)); err == nil {
			out = append(out, cs...)
		}
	}
	for _, p := range cfg.Certificates {
		if cs, err := intermediatesOf(p); err == nil {
			out = append(out, cs...)
		}
	}
	if sys, err := pki.SystemRootCertificates(); err == nil {
		out = append(out, sys...)
	}
	return out
}

// askCRLName asks the name, proposing the name of a list of the same
// issuer, else one made of the issuer's common name.
func askCRLName(s *shell.Session, cfg *config.Config, rl *x509.RevocationList) (string, error) {
	def := ""
	for _, e := range cfg.CRLs {
		if old, err := config.ParseCRLPEM(e.PEM); err == nil && string(old.RawIssuer) == string(rl.RawIssuer) {
			def = e.Name
			break
		}
	}
	if def == "" {
		def = crlNameFor(cfg, pki.CRLIssuerName(rl))
	}
	n, err := s.Ask(qCRLName, def, config.CheckName)
	if err != nil {
		return "", err
	}
	if e, ok := findCRL(cfg, n); ok && n != def {
		s.Printf("CRL %s already exists.\n", e.Name)
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

// crlNameFor makes a free name of an issuer's name: letters, digits and
// '-', '_', '.' kept, the rest '_', a letter first.
func crlNameFor(cfg *config.Config, issuer string) string {
	var b strings.Builder
	for _, r := range issuer {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if n == "" || !(n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		n = "CRL_" + n
	}
	n = strings.TrimRight(n[:min(len(n), 56)], "_")
	base := n
	for i := 2; ; i++ {
		if _, taken := findCRL(cfg, n); !taken {
			return n
		}
		n = fmt.Sprintf("%s_%d", base, i)
	}
}

func findCRL(cfg *config.Config, name string) (config.CRL, bool) {
	for _, e := range cfg.CRLs {
		if e.Name == name {
			return e, true
		}
	}
	return config.CRL{}, false
}

func stampOf(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// nextUpdate is rl's nextUpdate; a list without one says when it is
// treated as due (pki.CRLDue), which is what verification enforces.
func nextUpdate(rl *x509.RevocationList) string {
	if rl.NextUpdate.IsZero() {
		return fmt.Sprintf("none (treated as due %d days after its thisUpdate, on %s, or after the last fetch from its URL)",
			int(pki.CRLLifetimeWithoutNextUpdate/(24*time.Hour)), stampOf(pki.CRLDue(rl, time.Time{})))
	}
	return stampOf(rl.NextUpdate)
}
