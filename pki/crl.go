package pki

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate revocation lists (RFC 5280 §5): reading them, finding the
// certificate authority that signed one, and checking a verified chain
// against them. What is checked, and why:
//
//   - Only complete CRLs: a delta CRL, or a CRL scoped by a critical
//     issuing distribution point (only some reasons, only user or CA
//     certificates, indirect), would be taken for the whole list of its
//     issuer and let a revoked certificate through; ParseCRL refuses
//     them, and any other critical extension it does not know.
//   - A CRL counts for a certificate only when its issuer name is the
//     certificate's issuer and it is signed either by the certificate's
//     actual issuer on the verified path, or by a CA certificate of the
//     same name that the appliance trusts (NewCRLSet's signers: the
//     custom CA list, the system roots, the profiles' intermediates). The
//     second is a CA that rolled its key over: it signs its lists with
//     the new key, and those lists cover the certificates the old key
//     issued (RFC 5280 §5.1.1.2, §6.3.3 f; serial numbers are unique per
//     CA name). Among the certificates of the name, the one whose subject
//     key id is the list's authority key id is tried first, then each
//     other; the signature decides. A list signed by a key of the name
//     that the appliance does not trust is ignored, never trusted.
//   - An issuer without a CRL is not checked: the appliance checks
//     revocation for the authorities the administrator gave a CRL for.
//   - When the newest CRL of an issuer is past its due time, the
//     revocation status of that issuer's certificates is unknown and
//     Check fails (ErrCRLExpired): callers fail closed. The due time is
//     the list's nextUpdate; a list without one (RFC 5280 §5.1.2.5 makes
//     it mandatory, but some CAs omit it) would otherwise vouch for ever,
//     so it is due CRLLifetimeWithoutNextUpdate after its thisUpdate or,
//     for a list fetched from a distribution point, after the last fetch
//     that found it still current (CRLDue).

// CRLLifetimeWithoutNextUpdate is how long a CRL without nextUpdate
// vouches after its thisUpdate, or after the last fetch from its
// distribution point that found it current: a week, the renewal period of
// openssl's and Windows CAs' default CRLs. config.CRLLifetimeWithoutNextUpdate
// is the same (config imports no project package; a test holds them equal).
const CRLLifetimeWithoutNextUpdate = 7 * 24 * time.Hour

// CRLDue is when rl stops vouching: its nextUpdate, else
// CRLLifetimeWithoutNextUpdate after its thisUpdate or after confirmed
// (the last fetch that found it current; zero for an imported list),
// whichever is later.
func CRLDue(rl *x509.RevocationList, confirmed time.Time) time.Time {
	if !rl.NextUpdate.IsZero() {
		return rl.NextUpdate
	}
	base := rl.ThisUpdate
	if confirmed.After(base) {
		base = confirmed
	}
	return base.Add(CRLLifetimeWithoutNextUpdate)
}

// MaxCRLBytes bounds a CRL read from a file, a paste or a distribution
// point. Large public CAs publish CRLs of a few MB.
const MaxCRLBytes = 16 << 20

// Object identifiers of the CRL extensions ParseCRL knows.
var (
	oidCRLNumber      = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidDeltaIndicator = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidIssuingDP      = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// ParseCRL reads one CRL, PEM ("X509 CRL") or DER.
func ParseCRL(data []byte) (*x509.RevocationList, error) {
	if len(data) > MaxCRLBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrNoCRL, MaxCRLBytes)
	}
	der := data
	if bytes.Contains(data, []byte("-----BEGIN")) {
		der = nil
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "X509 CRL" {
				der = b.Bytes
				break
			}
		}
		if der == nil {
			return nil, fmt.Errorf("%w: no PEM block of type X509 CRL", ErrNoCRL)
		}
	}
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoCRL, err)
	}
	for _, e := range rl.Extensions {
		switch {
		case e.Id.Equal(oidDeltaIndicator):
			return nil, fmt.Errorf("%w: delta CRLs are not supported; use the issuer's complete CRL", ErrNoCRL)
		case e.Id.Equal(oidIssuingDP) && (e.Critical || scopedIDP(e.Value)):
			return nil, fmt.Errorf("%w: CRLs scoped by an issuing distribution point are not supported; use the issuer's complete CRL", ErrNoCRL)
		case e.Critical && !e.Id.Equal(oidCRLNumber) && !e.Id.Equal(oidAuthorityKeyID):
			return nil, fmt.Errorf("%w: unsupported critical extension %s", ErrNoCRL, e.Id)
		}
	}
	return rl, nil
}

// scopedIDP reports whether an issuing distribution point (RFC 5280
// 5.2.5) limits the list to some certificates or reasons, or is
// malformed: anything but the distribution point's name ([0]). Issuers
// must mark the extension critical; one that does not still scopes its
// list, which must not be taken for the complete one.
func scopedIDP(value []byte) bool {
	in := cryptobyte.String(value)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return true
	}
	for !seq.Empty() {
		var field cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&field, &tag) || tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
			return true
		}
	}
	return false
}

// EncodeCRLPEM is the PEM form of a CRL, as the configuration keeps it.
func EncodeCRLPEM(rl *x509.RevocationList) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rl.Raw})
}

// CRLIssuer finds among cas the certificate authority that signed rl:
// ErrCRLIssuerUnknown when none has the CRL's issuer name, ErrCRLSignature
// when some do but none of their keys verifies the signature.
func CRLIssuer(rl *x509.RevocationList, cas []*x509.Certificate) (*x509.Certificate, error) {
	var named []*x509.Certificate
	for _, c := range cas {
		if bytes.Equal(c.RawSubject, rl.RawIssuer) {
			named = append(named, c)
		}
	}
	if len(named) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrCRLIssuerUnknown, CRLIssuerName(rl))
	}
	named = byKeyID(named, rl.AuthorityKeyId)
	var last error
	for _, c := range named {
		if last = rl.CheckSignatureFrom(c); last == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w %q: %v", ErrCRLSignature, displayName(named[0]), last)
}

// byKeyID orders same-name candidates: the one whose subject key id is
// the list's authority key id first (a CA that rolled its key over has
// several), the others after in their order: the signature decides, so
// a missing or wrong key id only costs a check.
func byKeyID(named []*x509.Certificate, aki []byte) []*x509.Certificate {
	if len(aki) == 0 || len(named) < 2 {
		return named
	}
	out := make([]*x509.Certificate, 0, len(named))
	for _, c := range named {
		if bytes.Equal(c.SubjectKeyId, aki) {
			out = append(out, c)
		}
	}
	for _, c := range named {
		if !bytes.Equal(c.SubjectKeyId, aki) {
			out = append(out, c)
		}
	}
	return out
}

// CRLIssuerName is the issuer's common name, else its whole name.
func CRLIssuerName(rl *x509.RevocationList) string {
	if rl.Issuer.CommonName != "" {
		return rl.Issuer.CommonName
	}
	return rl.Issuer.String()
}

// CRLInfo is what PRINT shows of a CRL.
type CRLInfo struct {
	Issuer            string
	ThisUpdate        time.Time
	NextUpdate        time.Time // zero: the CRL names no next update
	Due               time.Time // CRLDue of an imported copy: NextUpdate, else thisUpdate + CRLLifetimeWithoutNextUpdate
	Number            *big.Int  // nil without a CRL number
	Revoked           int
	FingerprintSHA256 string
}

// DescribeCRL summarizes rl.
func DescribeCRL(rl *x509.RevocationList) CRLInfo {
	sum := sha256.Sum256(rl.Raw)
	return CRLInfo{
		Issuer:            rl.Issuer.String(),
		ThisUpdate:        rl.ThisUpdate,
		NextUpdate:        rl.NextUpdate,
		Due:               CRLDue(rl, time.Time{}),
		Number:            rl.Number,
		Revoked:           len(rl.RevokedCertificateEntries),
		FingerprintSHA256: strings.ToUpper(hex.EncodeToString(sum[:])),
	}
}

// Status is StatusActive, StatusExpired (past its due time: nextUpdate,
// else CRLLifetimeWithoutNextUpdate after thisUpdate) or
// StatusNotYetValid at now, as for certificates.
func (i CRLInfo) Status(now time.Time) string {
	due := i.Due
	if due.IsZero() && !i.NextUpdate.IsZero() {
		due = i.NextUpdate
	}
	switch {
	case now.Before(i.ThisUpdate):
		return StatusNotYetValid
	case !due.IsZero() && now.After(due):
		return StatusExpired
	}
	return StatusActive
}

// CRLSet is the CRLs a verification consults; safe for concurrent use.
type CRLSet struct {
	lists []*crlEntry
}

type crlEntry struct {
	rl  *x509.RevocationList
	due time.Time // CRLDue
	// trustedSigners are the trusted CA certificates of the list's
	// issuer name whose key signed it (a rolled-over key's): the list
	// counts for every certificate issued under that name.
	trustedSigners []*x509.Certificate
	revoked        map[string]x509.RevocationListEntry // by serial number bytes
	// signedBy caches, by the raw issuer certificate, whether its key
	// signed the list: a handshake should not verify a CRL signature
	// each time.
	signedBy sync.Map
}

// CRLList is one list of a CRLSet.
type CRLList struct {
	List *x509.RevocationList
	// Confirmed is when a fetch from the list's distribution point last
	// found it current; zero for an imported list (CRLDue).
	Confirmed time.Time
}

// NewCRLSet indexes lists for Check. signers are the CA certificates the
// appliance trusts to sign lists for their name (see the package's CRL
// comment): a list signed by one counts for the certificates of every key
// of that name.
func NewCRLSet(lists []CRLList, signers []*x509.Certificate) *CRLSet {
	s := &CRLSet{}
	for _, l := range lists {
		rl := l.List
		if rl == nil {
			continue
		}
		e := &crlEntry{rl: rl, due: CRLDue(rl, l.Confirmed), revoked: make(map[string]x509.RevocationListEntry, len(rl.RevokedCertificateEntries))}
		e.trustedSigners = signersOf(rl, signers)
		for _, r := range rl.RevokedCertificateEntries {
			if r.SerialNumber != nil {
				e.revoked[string(r.SerialNumber.Bytes())+signOf(r.SerialNumber)] = r
			}
		}
		s.lists = append(s.lists, e)
	}
	return s
}

// signersOf is the certificates among cas of rl's issuer name whose key
// signed rl, the authority key id's first.
func signersOf(rl *x509.RevocationList, cas []*x509.Certificate) []*x509.Certificate {
	var named []*x509.Certificate
	for _, c := range cas {
		if bytes.Equal(c.RawSubject, rl.RawIssuer) {
			named = append(named, c)
		}
	}
	var out []*x509.Certificate
	for _, c := range byKeyID(named, rl.AuthorityKeyId) {
		if rl.CheckSignatureFrom(c) == nil {
			out = append(out, c)
		}
	}
	return out
}

func signOf(n *big.Int) string {
	if n.Sign() < 0 {
		return "-"
	}
	return ""
}

// Len is the number of CRLs in the set.
func (s *CRLSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.lists)
}

// Check looks up every certificate of a verified path (leaf first, each
// one's issuer next) in its issuer's newest CRL. It fails with ErrRevoked
// for a listed certificate, ErrCRLExpired or ErrCRLNotYetValid when the
// issuer's CRLs cannot say; an issuer without a CRL is not checked.
func (s *CRLSet) Check(path []*x509.Certificate, now time.Time) error {
	if s.Len() == 0 {
		return nil
	}
	for i := 0; i+1 < len(path); i++ {
		if err := s.checkOne(path[i], path[i+1], now); err != nil {
			return err
		}
	}
	return nil
}

func (s *CRLSet) checkOne(cert, issuer *x509.Certificate, now time.Time) error {
	var newest *crlEntry
	future := false
	for _, e := range s.lists {
		if !bytes.Equal(e.rl.RawIssuer, cert.RawIssuer) || !e.signed(issuer) {
			continue
		}
		if now.Before(e.rl.ThisUpdate) {
			future = true
			continue
		}
		if newest == nil || newer(e.rl, newest.rl) {
			newest = e
		}
	}
	switch {
	case newest == nil && future:
		return fmt.Errorf("%w: the CRL of %q is valid from %s", ErrCRLNotYetValid, displayName(issuer), stamp(nextThisUpdate(s, cert, issuer)))
	case newest == nil:
		return nil
	case now.After(newest.due):
		return fmt.Errorf("%w: the CRL of %q was due for renewal on %s%s; the revocation status of %q is unknown", ErrCRLExpired, displayName(issuer), stamp(newest.due), noNextUpdate(newest.rl), displayName(cert))
	}
	if r, ok := newest.revoked[string(cert.SerialNumber.Bytes())+signOf(cert.SerialNumber)]; ok {
		return fmt.Errorf("%w: %q (serial %s) was revoked on %s by %q", ErrRevoked, displayName(cert), serialHex(cert.SerialNumber), stamp(r.RevocationTime), displayName(issuer))
	}
	return nil
}

// noNextUpdate explains a due time that is not the list's nextUpdate.
func noNextUpdate(rl *x509.RevocationList) string {
	if rl.NextUpdate.IsZero() {
		return fmt.Sprintf(" (it has no nextUpdate: a list without one is due %d days after its thisUpdate or its last fetch)", int(CRLLifetimeWithoutNextUpdate/(24*time.Hour)))
	}
	return ""
}

// nextThisUpdate is the earliest future thisUpdate among the CRLs for
// cert, for the message of ErrCRLNotYetValid.
func nextThisUpdate(s *CRLSet, cert, issuer *x509.Certificate) time.Time {
	var t time.Time
	for _, e := range s.lists {
		if bytes.Equal(e.rl.RawIssuer, cert.RawIssuer) && e.signed(issuer) && (t.IsZero() || e.rl.ThisUpdate.Before(t)) {
			t = e.rl.ThisUpdate
		}
	}
	return t
}

// signed reports whether the list speaks for the certificates issuer
// issued: issuer's key signed it, or a trusted CA certificate of
// issuer's name did (a rolled-over key).
func (e *crlEntry) signed(issuer *x509.Certificate) bool {
	for _, c := range e.trustedSigners {
		if bytes.Equal(c.RawSubject, issuer.RawSubject) {
			return true
		}
	}
	if v, ok := e.signedBy.Load(string(issuer.Raw)); ok {
		return v.(bool)
	}
	ok := e.rl.CheckSignatureFrom(issuer) == nil
	e.signedBy.Store(string(issuer.Raw), ok)
	return ok
}

// newer orders CRLs of one issuer: the later thisUpdate, then the higher
// CRL number.
func newer(a, b *x509.RevocationList) bool {
	if !a.ThisUpdate.Equal(b.ThisUpdate) {
		return a.ThisUpdate.After(b.ThisUpdate)
	}
	return a.Number != nil && (b.Number == nil || a.Number.Cmp(b.Number) > 0)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// serialHex is a serial number as OpenSSL prints it in CRLs.
func serialHex(n *big.Int) string {
	return strings.ToUpper(fmt.Sprintf("%02x", n))
}
