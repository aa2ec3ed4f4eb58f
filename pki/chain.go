package pki

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ChainReport describes how a leaf and the intermediates uploaded with it
// fit together. Everything in it is informational: BuildChain returns an
// error only for conditions that make the chain unusable, and the caller
// decides whether warnings such as Duplicates refuse the upload.
type ChainReport struct {
	// Path is leaf first, then issuers in order. When Trusted it ends at
	// the trusted root; otherwise it goes as far as the supplied
	// intermediates reach.
	Path []*x509.Certificate
	// Trusted reports that the path ends at a certificate from roots.
	Trusted bool
	// SelfSigned reports that the leaf signs itself, which is reported
	// rather than treated as an error because appliances ship with one.
	SelfSigned bool
	// Duplicates are intermediates supplied more than once or equal to
	// the leaf; each extra copy is listed once.
	Duplicates []*x509.Certificate
	// Unrelated are intermediates that are not on Path, typically a
	// leftover from another certificate's bundle.
	Unrelated []*x509.Certificate
}

// Intermediates returns what a server should send after the leaf: Path
// without the leaf and without a self-signed root at its end, since
// clients must already have the root and sending it only costs bytes.
func (r ChainReport) Intermediates() []*x509.Certificate {
	if len(r.Path) <= 1 {
		return nil
	}
	out := r.Path[1:]
	if isSelfSigned(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return append([]*x509.Certificate(nil), out...)
}

// SystemRoots returns the operating system's trust store.
func SystemRoots() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("loading system roots: %w", err)
	}
	return pool, nil
}

// BuildChain orders intermediates into a path from leaf towards a root in
// roots (nil means the system roots) and checks validity at now. The
// report is filled in even when an error is returned, so the caller can
// show what was found next to the reason it is unusable.
func BuildChain(leaf *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, now time.Time) (ChainReport, error) {
	var r ChainReport
	if leaf == nil {
		return r, ErrNoCertificate
	}
	r.SelfSigned = isSelfSigned(leaf)

	seen := [][]byte{leaf.Raw}
	var unique []*x509.Certificate
	for _, c := range intermediates {
		if c == nil {
			continue
		}
		if containsRaw(seen, c.Raw) {
			r.Duplicates = append(r.Duplicates, c)
			continue
		}
		seen = append(seen, c.Raw)
		unique = append(unique, c)
	}

	r.Path = walkIssuers(leaf, unique)
	trustErr := r.verify(leaf, unique, roots, now)
	r.Unrelated = notOnPath(unique, r.Path)

	// Validity is checked on the path we report rather than trusting
	// Verify's error, so the message can name the offending certificate
	// even when the chain is untrusted as well.
	for _, c := range r.Path {
		switch {
		case now.After(c.NotAfter):
			return r, fmt.Errorf("%w: %q expired on %s", ErrExpired, displayName(c), c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			return r, fmt.Errorf("%w: %q is valid from %s", ErrNotYetValid, displayName(c), c.NotBefore.UTC().Format(time.DateTime))
		}
	}
	if r.SelfSigned && !r.Trusted && len(r.Path) == 1 {
		return r, nil
	}
	return r, trustErr
}

// verify asks crypto/x509 whether the leaf chains to roots, which takes
// care of signatures, basic constraints and name constraints. On success
// it replaces Path with the verified chain.
func (r *ChainReport) verify(leaf *x509.Certificate, unique []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	pool := x509.NewCertPool()
	for _, c := range unique {
		pool.AddCert(c)
	}
	opts := x509.VerifyOptions{
		Intermediates: pool,
		Roots:         roots,
		CurrentTime:   now,
		// The same certificate serves inbound STARTTLS and outbound
		// client authentication, so EKU is not this function's business.
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	chains, err := leaf.Verify(opts)
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) && invalid.Reason == x509.Expired {
		// Expiry is reported separately; still find out whether the
		// chain would be trusted at a time the leaf was valid.
		opts.CurrentTime = clampTime(now, leaf.NotBefore, leaf.NotAfter)
		chains, err = leaf.Verify(opts)
	}
	if err != nil {
		return r.trustError(err)
	}
	r.Trusted = true
	r.Path = bestChain(chains, unique)
	return nil
}

func (r *ChainReport) trustError(err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		top := r.Path[len(r.Path)-1]
		if len(r.Path) > 1 && isSelfSigned(top) {
			return fmt.Errorf("%w: chain ends at self-signed %q, which is not a trusted root", ErrUntrusted, displayName(top))
		}
		if isSelfSigned(top) {
			return fmt.Errorf("%w: %q is self-signed and not trusted", ErrUntrusted, displayName(top))
		}
		return fmt.Errorf("%w: issuer %q of %q not found", ErrUntrusted, top.Issuer.String(), displayName(top))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Errorf("%w: %w", ErrExpired, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidChain, err)
}

// walkIssuers follows issuer links through the supplied certificates only,
// giving the path the administrator actually uploaded even when it does
// not reach a trusted root.
func walkIssuers(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	path := []*x509.Certificate{leaf}
	for cur := leaf; !isSelfSigned(cur) && len(path) <= len(pool); {
		var next *x509.Certificate
		for _, c := range pool {
			if !bytes.Equal(c.RawSubject, cur.RawIssuer) || onPath(path, c) {
				continue
			}
			if cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		path = append(path, next)
		cur = next
	}
	return path
}

// bestChain prefers the verified chain that uses the most of the supplied
// intermediates, then the shortest, so cross-signed roots do not make the
// report claim the administrator's bundle is unrelated.
func bestChain(chains [][]*x509.Certificate, supplied []*x509.Certificate) []*x509.Certificate {
	best, bestScore := chains[0], -1
	for _, ch := range chains {
		score := 0
		for _, c := range ch[1:] {
			if onPath(supplied, c) {
				score++
			}
		}
		if score > bestScore || score == bestScore && len(ch) < len(best) {
			best, bestScore = ch, score
		}
	}
	return best
}

func notOnPath(certs, path []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if !onPath(path, c) {
			out = append(out, c)
		}
	}
	return out
}

func onPath(path []*x509.Certificate, c *x509.Certificate) bool {
	for _, p := range path {
		if p.Equal(c) {
			return true
		}
	}
	return false
}

func containsRaw(list [][]byte, raw []byte) bool {
	for _, r := range list {
		if bytes.Equal(r, raw) {
			return true
		}
	}
	return false
}

// isSelfSigned checks the signature, not just subject == issuer, because
// CAs have been known to reuse a root's name for an intermediate.
// CheckSignatureFrom cannot be used: it insists the issuer be a CA, and
// self-signed leaves usually are not.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

func clampTime(t, lo, hi time.Time) time.Time {
	if t.Before(lo) {
		return lo
	}
	if t.After(hi) {
		return hi
	}
	return t
}

// displayName is what error messages call a certificate: its CN, or the
// whole subject when the CN is empty.
func displayName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}
