package mta

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"esash/config"
	"esash/pki"
)

// Certificate revocation (certconfig CRL). The lists the administrator
// imported, pasted or named by distribution point are consulted by every
// verification of a peer's chain against the trusted CA lists:
//
//   - inbound, the client certificate of a mail flow policy with client
//     certificate verification on (handshakeConfig): a revoked
//     certificate fails the handshake, and mail_logs says
//     "ICID n TLS failed: client certificate not verified: certificate
//     revoked: ...";
//   - outbound, the receiver of a Preferred - Verify or Required - Verify
//     destination (deliver.go): a revoked certificate is a verify error,
//     so Required - Verify defers the message ("DCID n TLS failed: verify
//     error: certificate revoked: ..." and "TLS was required but ...")
//     and Preferred - Verify delivers over TLS marked unverified, as for
//     any other verify error;
//   - tlsverify, which says so on its own line.
//
// DANE destinations are verified by their TLSA records (dane.go), not by
// the CA lists, so not against CRLs either.
//
// Decision on an expired CRL (not stated by the reference, which has no
// CRL dialog): when the newest list of an issuer is past its nextUpdate,
// the revocation status of that issuer's certificates is unknown and the
// verification fails (pki.ErrCRLExpired). A security appliance fails
// closed: Required - Verify defers with "verify error: CRL has expired:
// ..." in mail_logs, client certificates are refused, Preferred - Verify
// delivers marked unverified. An issuer the administrator gave no CRL for
// is not checked.
//
// A CRL signed by a rolled-over key of its CA (same name, new key) counts
// for the certificates of the old key too, provided the new key's
// certificate is trusted (custom list, system roots, profiles'
// intermediates): the lists are published with the trusted candidates as
// pki.NewCRLSet's signers; see pki's CRL comment.
//
// A list without nextUpdate (RFC 5280 requires one; some CAs omit it)
// would otherwise vouch for ever: it is due pki.CRLLifetimeWithoutNextUpdate
// (7 days) after its thisUpdate or, for a distribution point, after the
// last fetch that found it current (a fetch of the same list counts), and
// is then expired like any other. Such a distribution point is fetched
// every crlMaxInterval, and at once at start when the stored copy was not
// fetched in this run after its thisUpdate.
//
// Distribution points are fetched again before the list's nextUpdate: at
// three quarters of its lifetime, at least every crlMaxInterval, over
// HTTP or HTTPS (the server verified against the trusted CA lists), at
// most pki.MaxCRLBytes in crlFetchTimeout, from the interface the
// appliance's source rules pick for the server's address (deliveryconfig
// Auto: the interface whose network holds it, else the routing table's,
// else Management), names resolved through dnsconfig. A refreshed list
// must be signed by the CA that signed the one it replaces and must be
// newer; a failure is logged in mail_logs and retried, while the list in
// hand serves until it is due. "Signed by the CA that signed the one it
// replaces" is by name and trusted key: after a key rollover the refreshed
// list is signed by the new key of the same CA name, which is accepted when
// that certificate is trusted. Lists fetched live in memory only: a
// restart starts from the copy certconfig stored, and fetches at once
// when that is due.

// Fetch limits of distribution points, and the refresh bounds.
const (
	crlFetchTimeout  = 30 * time.Second
	crlMaxRedirects  = 3
	crlMaxInterval   = time.Hour
	crlRetryInterval = time.Minute
)

// crlStore is the CRLs verification consults, kept fresh.
type crlStore struct {
	set atomic.Pointer[pki.CRLSet]

	mu      sync.Mutex     // guards the rest
	cfg     *config.Config // the configuration applied last: fetches go by its interfaces, DNS and CAs
	entries map[string]*crlState
	// signers are the CA certificates trusted to sign lists
	// (crlIssuerCandidates of cfg), for pki.NewCRLSet.
	signers []*x509.Certificate
	wg      sync.WaitGroup
	closed  bool
	// retry is the wait after a failed fetch, and the shortest wait
	// between fetches; 0 is crlRetryInterval (tests shorten it).
	retry time.Duration
}

// crlState is one configured list and the newest copy known of it.
type crlState struct {
	conf   config.CRL
	rl     *x509.RevocationList
	issuer *x509.Certificate // the CA that signed it; nil when unknown
	// confirmed is when a fetch last found rl current (pki.CRLDue of a
	// list without nextUpdate); zero until then.
	confirmed time.Time
	stop      context.CancelFunc
	// fetchNow: fetch at once rather than when rl is due (a new
	// distribution point for a list kept from the one it replaces).
	fetchNow bool
}

// crlSet is the lists in force.
func (s *Server) crlSet() *pki.CRLSet { return s.crls.set.Load() }

// applyCRLs takes a committed configuration's CRLs: a list kept under the
// same name and URL keeps a newer copy fetched since; refreshers start
// and stop with their distribution points.
func (s *Server) applyCRLs(cfg *config.Config) {
	st := &s.crls
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return
	}
	st.cfg = cfg
	var cands []*x509.Certificate
	if len(cfg.CRLs) > 0 {
		cands = crlIssuerCandidates(cfg)
	}
	st.signers = cands
	next := make(map[string]*crlState, len(cfg.CRLs))
	for _, c := range cfg.CRLs {
		rl, err := pki.ParseCRL([]byte(c.PEM))
		if err != nil {
			s.errorf("CRL %s: %v", c.Name, err) // the commit check refuses this
			continue
		}
		issuer, _ := pki.CRLIssuer(rl, cands)
		if old := st.entries[c.Name]; old != nil && old.conf == c {
			// The same list: keep what was fetched since, and its
			// refresher, which holds this entry.
			if issuer != nil {
				old.issuer = issuer
			}
			next[c.Name] = old
			continue
		}
		e := &crlState{conf: c, rl: rl, issuer: issuer}
		if old := st.entries[c.Name]; old != nil && sameSigner(old, rl, cands) && !listNewer(rl, old.rl) {
			// An older copy of the list in force (rollbackconfig,
			// loadconfig of an older file), or the same: the
			// revocations published since stay in force; a new
			// distribution point is still fetched at once.
			e.rl, e.confirmed, e.fetchNow = old.rl, old.confirmed, old.conf.URL != c.URL
			if old.issuer != nil {
				e.issuer = old.issuer
			}
		}
		next[c.Name] = e
	}
	for name, old := range st.entries {
		if next[name] != old && old.stop != nil {
			old.stop()
		}
	}
	st.entries = next
	for _, e := range next {
		if e.conf.URL != "" && e.stop == nil {
			ctx, cancel := context.WithCancel(context.Background())
			e.stop = cancel
			st.wg.Add(1)
			go s.refreshCRL(ctx, e)
		}
	}
	st.publish()
}

// publish rebuilds the set from the entries; st.mu held.
func (st *crlStore) publish() {
	lists := make([]pki.CRLList, 0, len(st.entries))
	for _, e := range st.entries {
		lists = append(lists, pki.CRLList{List: e.rl, Confirmed: e.confirmed})
	}
	st.set.Store(pki.NewCRLSet(lists, st.signers))
}

// closeCRLs stops the refreshers (Close).
func (s *Server) closeCRLs() {
	st := &s.crls
	st.mu.Lock()
	st.closed = true
	for _, e := range st.entries {
		if e.stop != nil {
			e.stop()
		}
	}
	st.mu.Unlock()
	st.wg.Wait()
}

// crlIssuerCandidates is every CA certificate a CRL may come from: the
// custom list, the profiles' intermediates and the system roots.
func crlIssuerCandidates(cfg *config.Config) []*x509.Certificate {
	var out []*x509.Certificate
	for _, ca := range cfg.CAs.Custom {
		if cs, err := pki.ParseCertificates([]byte(ca.PEM)); err == nil {
			out = append(out, cs...)
		}
	}
	for _, p := range cfg.Certificates {
		for _, in := range p.Intermediates {
			if cs, err := pki.ParseCertificates([]byte(in)); err == nil {
				out = append(out, cs...)
			}
		}
	}
	if sys, err := pki.SystemRootCertificates(); err == nil {
		out = append(out, sys...)
	}
	return out
}

// refreshCRL fetches e's distribution point whenever its list is due.
func (s *Server) refreshCRL(ctx context.Context, e *crlState) {
	defer s.crls.wg.Done()
	first, fetchNow := true, e.fetchNow
	for {
		s.crls.mu.Lock()
		rl, confirmed, retry := e.rl, e.confirmed, s.crls.retryInterval()
		s.crls.mu.Unlock()
		wait := crlRefreshDelay(rl, confirmed, s.opts.Now())
		if fetchNow {
			wait, fetchNow = 0, false
		}
		if !first {
			wait = max(wait, retry)
		}
		first = false
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if err := s.fetchInto(ctx, e); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warningf("CRL %s: fetch from %s failed: %v; the list in force is due for renewal %s", e.conf.Name, e.conf.URL, err, dueText(rl, confirmed))
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			first = true // due again: retry now
		}
	}
}

func (st *crlStore) retryInterval() time.Duration {
	if st.retry > 0 {
		return st.retry
	}
	return crlRetryInterval
}

// crlRefreshDelay is the wait until rl should be fetched again: three
// quarters into its lifetime, at most crlMaxInterval. A list without
// nextUpdate is fetched crlMaxInterval after its thisUpdate or the last
// fetch that confirmed it, whichever is later (at once when both are
// older).
func crlRefreshDelay(rl *x509.RevocationList, confirmed, now time.Time) time.Duration {
	if rl.NextUpdate.IsZero() {
		base := rl.ThisUpdate
		if confirmed.After(base) {
			base = confirmed
		}
		return min(max(base.Add(crlMaxInterval).Sub(now), 0), crlMaxInterval)
	}
	if !rl.NextUpdate.After(rl.ThisUpdate) {
		return crlMaxInterval
	}
	at := rl.ThisUpdate.Add(rl.NextUpdate.Sub(rl.ThisUpdate) * 3 / 4)
	return min(max(at.Sub(now), 0), crlMaxInterval)
}

// fetchInto fetches e's distribution point and, when the list is newer and
// signed by e's issuer or a trusted certificate of its name (a rolled-over
// key), puts it in force. The same list again confirms it current
// (pki.CRLDue of a list without nextUpdate).
func (s *Server) fetchInto(ctx context.Context, e *crlState) error {
	s.crls.mu.Lock()
	cfg := s.crls.cfg
	s.crls.mu.Unlock()
	data, err := s.fetchCRL(ctx, cfg, e.conf.URL)
	if err != nil {
		return err
	}
	rl, err := pki.ParseCRL(data)
	if err != nil {
		return err
	}
	st := &s.crls
	st.mu.Lock()
	defer st.mu.Unlock()
	if e.issuer == nil {
		return fmt.Errorf("%w: the CA that signed the stored list is no longer known", pki.ErrCRLIssuerUnknown)
	}
	signer, err := refreshSigner(e, rl, st.signers)
	if err != nil {
		return err
	}
	if listNewer(e.rl, rl) {
		return nil // an older list than the one in force: a stale mirror
	}
	if !listNewer(rl, e.rl) {
		// The same list: still current at this fetch.
		e.confirmed = s.opts.Now()
		if e.rl.NextUpdate.IsZero() && st.entries[e.conf.Name] == e {
			st.publish()
		}
		return nil
	}
	e.rl, e.issuer, e.confirmed = rl, signer, s.opts.Now()
	if st.entries[e.conf.Name] == e {
		st.publish()
	}
	s.log.Infof("CRL %s: fetched from %s: %d revoked, issued %s, due for renewal %s", e.conf.Name, e.conf.URL,
		len(rl.RevokedCertificateEntries), rl.ThisUpdate.UTC().Format(time.DateTime), dueText(rl, e.confirmed))
	return nil
}

// refreshSigner is the CA certificate that signed a fetched list meant to
// replace e's: e's issuer, or a trusted certificate of the same name (the
// CA rolled its key over). Another name, or an untrusted key, is refused.
func refreshSigner(e *crlState, rl *x509.RevocationList, signers []*x509.Certificate) (*x509.Certificate, error) {
	if !bytes.Equal(rl.RawIssuer, e.issuer.RawSubject) {
		return nil, fmt.Errorf("%w: the list's issuer %q is not %q's", pki.ErrCRLSignature, pki.CRLIssuerName(rl), e.issuer.Subject.CommonName)
	}
	if rl.CheckSignatureFrom(e.issuer) == nil {
		return e.issuer, nil
	}
	signer, err := pki.CRLIssuer(rl, signers)
	if err != nil {
		return nil, fmt.Errorf("%w %q: no trusted certificate of that name verifies it", pki.ErrCRLSignature, e.issuer.Subject.CommonName)
	}
	return signer, nil
}

// dueText says when rl is due for renewal.
func dueText(rl *x509.RevocationList, confirmed time.Time) string {
	due := pki.CRLDue(rl, confirmed).UTC().Format(time.DateTime) + " UTC"
	if rl.NextUpdate.IsZero() {
		return fmt.Sprintf("on %s (no nextUpdate: %d days after its thisUpdate or the last fetch)", due, int(pki.CRLLifetimeWithoutNextUpdate/(24*time.Hour)))
	}
	return "on " + due
}

// sameSigner reports whether rl comes from the CA that signed e's list:
// its key, or a trusted key of its name (a rollover).
func sameSigner(e *crlState, rl *x509.RevocationList, signers []*x509.Certificate) bool {
	if e.issuer == nil || !bytes.Equal(e.rl.RawIssuer, rl.RawIssuer) {
		return false
	}
	_, err := refreshSigner(e, rl, signers)
	return err == nil
}

// listNewer orders lists of one issuer as pki does: the later thisUpdate,
// then the higher CRL number.
func listNewer(a, b *x509.RevocationList) bool {
	if !a.ThisUpdate.Equal(b.ThisUpdate) {
		return a.ThisUpdate.After(b.ThisUpdate)
	}
	return numberAfter(a, b)
}

func numberAfter(a, b *x509.RevocationList) bool {
	return a.Number != nil && (b.Number == nil || a.Number.Cmp(b.Number) > 0)
}

// verifyClientRevocation is verifyClient and the CRL check of the chain
// it verified: some verified chain must pass.
func (s *Server) verifyClientRevocation(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate presented")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	now := s.opts.Now()
	chains, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return fmt.Errorf("client certificate not verified: %w", err)
	}
	set := s.crlSet()
	var first error
	for _, ch := range chains {
		err := set.Check(ch, now)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return fmt.Errorf("client certificate not verified: %w", first)
}

// verifyPeerRevocation is verifyPeer and the CRL check of the path it
// verified (deliver.go).
func (s *Server) verifyPeerRevocation(st *tls.ConnectionState, roots *x509.CertPool, now time.Time, names ...string) (string, error) {
	matched, err := verifyPeer(st, roots, now, names...)
	if err != nil {
		return matched, err
	}
	if err := s.peerRevocation(st, roots, now); err != nil {
		return "", err
	}
	return matched, nil
}

// peerRevocation checks a verified peer's path against the CRLs.
func (s *Server) peerRevocation(st *tls.ConnectionState, roots *x509.CertPool, now time.Time) error {
	set := s.crlSet()
	if set.Len() == 0 || len(st.PeerCertificates) == 0 {
		return nil
	}
	if roots == nil {
		roots = x509.NewCertPool()
	}
	rep, err := pki.BuildChain(st.PeerCertificates[0], st.PeerCertificates[1:], roots, now)
	if err != nil || !rep.Trusted {
		return errors.New("certificate chain not verified") // verifyPeer said why
	}
	return set.Check(rep.Path, now)
}
