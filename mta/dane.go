package mta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"esash/config"
	"esash/maillog"
	"esash/mta/queue"
	"esash/resolver"
)

// DANE for outbound SMTP (RFC 7672), destconfig's DANE setting.
//
// Before connecting to a mail exchanger, when its MX answer and its
// address answer were both authenticated by DNSSEC (target.tlsaBase), the
// TLSA records of _<port>._tcp.<host> are looked up (port 25 outside
// tests). An SMTP route's host, and the domain itself when it has no MX,
// are names the configuration (or the recipient) gives, so only their
// address answer must be authenticated (RFC 7672 §2.2.2, as Postfix does
// for its next-hop).
//
//   - An authenticated TLSA RRset with usable records (DANE-TA(2) or
//     DANE-EE(3), selector 0 or 1, matching type 0, 1 or 2) makes STARTTLS
//     mandatory and the certificate must match one of them: DANE-EE by the
//     certificate or its public key alone (no name, expiry or CA check,
//     §3.1.1); DANE-TA by a certificate of the presented chain that the
//     leaf chains to, the leaf naming the MX host (§3.1.2). The CA lists
//     are not consulted. No match defers the message (4.7.5) on that host
//     and the next MX is tried.
//   - An authenticated RRset whose records are all unusable: encrypted but
//     unauthenticated TLS is mandatory (§2.2).
//   - A TLSA look-up that fails (SERVFAIL: a bogus answer at a validating
//     resolver, or no answer) defers: the host is not used (§2.2.1).
//   - No authenticated TLSA RRset (an unsigned zone, an insecure MX or
//     address, an authenticated denial): DANE does not apply and the
//     destination's ordinary TLS setting does (§2.2).
//
// destconfig's two DANE settings, mapped as AsyncOS describes them
// (Opportunistic: "DANE when the receiving MTA supports it, else the
// configured TLS"; Mandatory: "if the receiving MTA does not support DANE
// the message is not delivered"):
//
//   - Opportunistic is RFC 7672 exactly: the rules above.
//   - Mandatory also defers when DANE does not apply (no authenticated
//     TLSA RRset with usable records), without connecting.
//
// mail_logs: "DCID n DANE SUCCESS for <domain> MX <host>" after a match
// and "DCID n DANE FAILED for <domain> MX <host>: <reason>" after a
// mismatch, from the wording of AsyncOS's daneverify ("DANE SUCCESS for
// ietf.org"; Cisco technote 214794); a host refused before connecting is a
// "Delayed: DCID 0 ..." line naming the DANE reason.

// dane is what DANE decided for one target.
type dane struct {
	host    string
	records []resolver.TLSA // usable records: DANE authenticates the peer
	encrypt bool            // all records unusable: TLS without authentication
	refuse  string          // do not connect: why
}

// active reports a target whose certificate DANE authenticates.
func (d dane) active() bool { return len(d.records) > 0 }

// tlsMode is the TLS setting a delivery to the target runs under.
func (d dane) tlsMode(setting config.TLSOut) config.TLSOut {
	switch {
	case d.active():
		return config.TLSOutRequiredVerify
	case d.encrypt && setting != config.TLSOutRequiredVerify:
		return config.TLSOutRequired
	}
	return setting
}

// daneLookupTimeout bounds the TLSA look-up of one host.
const daneLookupTimeout = 30 * time.Second

// daneFor applies the destination's DANE setting to target t.
func (s *Server) daneFor(oc *outCache, dc config.DestControl, t target) dane {
	d := dane{host: t.host}
	if dc.DANE != config.DANEOpportunistic && dc.DANE != config.DANEMandatory || !dc.TLS.On() {
		return d
	}
	mandatory := dc.DANE == config.DANEMandatory
	if t.tlsaBase == "" {
		if mandatory {
			d.refuse = fmt.Sprintf("DANE is mandatory but the MX or address records of %s are not DNSSEC-authenticated", or(t.host, t.ip))
		}
		return d
	}
	ctx, cancel := context.WithTimeout(s.dlv.ctx, min(daneLookupTimeout, s.opts.Delivery.Timeout))
	defer cancel()
	recs, secure, err := resolverFor(oc.cfg).LookupTLSA(ctx, t.tlsaBase, t.port)
	switch {
	case err != nil:
		d.refuse = fmt.Sprintf("TLSA lookup for %s failed: %v", t.tlsaBase, err)
	case !secure || len(recs) == 0:
		if mandatory {
			d.refuse = fmt.Sprintf("DANE is mandatory but %s has no DNSSEC-authenticated TLSA records", t.tlsaBase)
		}
	default:
		for _, r := range recs {
			if usable(r) {
				d.records = append(d.records, r)
			}
		}
		if len(d.records) == 0 {
			d.encrypt = true
			if mandatory {
				d.refuse = fmt.Sprintf("DANE is mandatory but the TLSA records of %s are all unusable", t.tlsaBase)
			}
		}
	}
	return d
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// usable reports a TLSA record RFC 7672 §3.1 lets SMTP use.
func usable(r resolver.TLSA) bool {
	return (r.Usage == 2 || r.Usage == 3) && r.Selector <= 1 && r.MatchingType <= 2
}

// daneRefused defers the recipients of a target DANE refused before
// connecting; the next target may be tried.
func (s *Server) daneRefused(d dane, m queue.Meta, rids []int, results []outcome) (*outConn, bool) {
	s.log.Infof("%s", maillog.Delayed(0, m.MID, ridsOf(m, rids), "4.7.5", d.refuse))
	setAll(results, rids, outcome{rcptDeferred, "4.7.5", d.refuse})
	return nil, false
}

// verify authenticates the peer of an established TLS connection by the
// TLSA records and logs the outcome.
func (d dane) verify(s *Server, dcid int64, st *tls.ConnectionState, dom string) error {
	err := daneMatch(d.records, st.PeerCertificates, d.host, s.opts.Now())
	if err != nil {
		s.log.Infof("DCID %d DANE FAILED for %s MX %s: %v", dcid, dom, d.host, err)
		return fmt.Errorf("DANE: %w", err)
	}
	s.log.Infof("DCID %d DANE SUCCESS for %s MX %s", dcid, dom, d.host)
	return nil
}

// daneMatch reports whether the chain matches one of the records.
func daneMatch(records []resolver.TLSA, chain []*x509.Certificate, host string, now time.Time) error {
	if len(chain) == 0 {
		return errors.New("no certificate from peer")
	}
	var taErr error
	for _, r := range records {
		switch r.Usage {
		case 3:
			if matches(r, chain[0]) {
				return nil
			}
		case 2:
			for i, c := range chain {
				if !matches(r, c) {
					continue
				}
				if taErr = chainsTo(chain, i, host, now); taErr == nil {
					return nil
				}
			}
		}
	}
	if taErr != nil {
		return taErr
	}
	return errors.New("the certificate matches no TLSA record")
}

// matches reports whether cert matches the record's selector and
// matching type.
func matches(r resolver.TLSA, cert *x509.Certificate) bool {
	data := cert.Raw
	if r.Selector == 1 {
		data = cert.RawSubjectPublicKeyInfo
	}
	switch r.MatchingType {
	case 1:
		h := sha256.Sum256(data)
		data = h[:]
	case 2:
		h := sha512.Sum512(data)
		data = h[:]
	}
	return bytes.Equal(data, r.Data)
}

// chainsTo verifies that the leaf chains to chain[ta], the trust anchor
// a DANE-TA record matched, and names host (RFC 7672 §3.1.2).
func chainsTo(chain []*x509.Certificate, ta int, host string, now time.Time) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[ta])
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		DNSName: strings.TrimSuffix(host, "."), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if ta == 0 { // the leaf is its own trust anchor: only the name is checked
		return chain[0].VerifyHostname(opts.DNSName)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return fmt.Errorf("the certificate does not chain to the DANE-TA trust anchor for %s: %v", host, err)
	}
	return nil
}
